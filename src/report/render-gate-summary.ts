import type { Report } from './schema.js';
import { plain, type Palette } from './paint.js';
import { gateJudged } from './gates.js';
import { verdictLine, verdictWord } from './verdict-text.js';

/** `gate` for people: one line per gate, failed ones saying why, then the verdict. */
export function renderGateSummary(r: Report, opts: { palette?: Palette } = {}): string {
  const c = opts.palette ?? plain;
  const lines: string[] = [];
  for (const g of r.gates)
    lines.push(
      g.passed
        ? `${c.green('✓')} ${g.name} ${c.dim(`(${g.source}) ${g.reason}`)}`
        : gateJudged(g)
          ? `${c.red('✗')} ${g.name} (${g.source}): ${c.red(g.reason)}`
          : `${c.yellow('?')} ${g.name} (${g.source}) not judged: ${c.yellow(g.reason)}`,
    );
  if (!r.gates.length) lines.push(c.dim('no gates: the scenario has no thresholds and none were given'));
  const byClass = new Map<string, number>();
  for (const f of r.findings) byClass.set(f.class, (byClass.get(f.class) ?? 0) + 1);
  for (const [k, n] of byClass) lines.push(`${c.red('!')} ${n} ${k} finding${n === 1 ? '' : 's'}`);
  const v = verdictWord(r);
  const paint = v.tone === 'pass' ? c.green.bold : v.tone === 'incomplete' ? c.yellow.bold : c.red.bold;
  lines.push(paint(verdictLine(r)));
  return lines.join('\n') + '\n';
}
