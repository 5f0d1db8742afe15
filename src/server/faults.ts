/**
 * The fault catalogue: named bugs the reference server can reproduce on purpose, so the
 * leak detector can be proven on them. One table, read by the server and by `serve --help`.
 * Each fault is off by default and lives in one small code path (grep its name).
 */
export const FAULTS = [
  {
    name: 'zombie-socket',
    description: 'a closed socket stays registered (never removed from the connection registry)',
  },
  {
    name: 'voice-ghost',
    description: 'a voice member whose socket dies without a close frame (1006, reaped) stays in its room',
  },
  {
    name: 'slow-deregister',
    description: 'removal from the registry lags by --fault-delay-ms (default 1500) after a socket closes',
  },
  {
    name: 'slot-overwrite',
    description: "Miscord's bug: registry keyed by (user, kind, channel); a second socket replaces the first, closing either removes the entry",
  },
  {
    name: 'heap-leak',
    description: 'every socket opened retains about 4 KB of heap that is never freed (a few hundred KB per soak cycle)',
  },
  {
    name: 'slow-consumer-unbounded',
    description: 'no send-queue bound (a socket that never reads grows the heap without limit), and any pong, unsolicited ones included, keeps a socket alive',
  },
] as const;

export type FaultName = (typeof FAULTS)[number]['name'];
export const FAULT_NAMES: readonly FaultName[] = FAULTS.map((f) => f.name);

export function isFaultName(s: string): s is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(s);
}

/** One line per fault, for --help. */
export function faultsHelp(indent = '  '): string {
  const w = Math.max(...FAULTS.map((f) => f.name.length));
  return FAULTS.map((f) => `${indent}${f.name.padEnd(w)}  ${f.description}`).join('\n');
}
