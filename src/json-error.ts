/**
 * JSON.parse's message with the line and column a person needs (V8 gives only "at position N",
 * or "(line L column C)" in newer versions): `line 3, column 13: Expected double-quoted …`.
 * Shared by the scenario loader and the report reader.
 */
export function jsonErrorText(text: string, err: Error): string {
  const msg = err.message.replace(/\s*\(line \d+ column \d+\)/, '');
  const pos = /at position (\d+)/.exec(msg);
  const at = pos ? Number(pos[1]) : /Unexpected end of JSON input/.test(msg) ? text.length : null;
  if (at === null) return msg;
  const before = text.slice(0, at).split('\n');
  const where = `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
  return `${where}: ${msg.replace(/ at position \d+/, '').replace(/ in JSON$/, '').replace(/^(.*) \(".*$/s, '$1')}`;
}

/** `phases[2].switches` from zod's issue path; `(root)` for an empty one. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}
