import { MbError } from '../errors.js';

/**
 * SIGINT and SIGTERM during a run, from argument parsing to the final write: the first one
 * aborts `interruptSignal` (the run stops and still writes its partial report, exit 3); a
 * second one quits at once (exit 3). main installs it before it loads the run command, so an
 * interrupt while the engine's modules load is caught as well.
 */
const controller = new AbortController();
const listeners = new Set<(signal: NodeJS.Signals) => void>();
let count = 0;
let installed = false;

export const interruptSignal: AbortSignal = controller.signal;

function onSignal(sig: NodeJS.Signals): void {
  if (++count > 1) process.exit(3);
  for (const l of listeners) l(sig);
  controller.abort(new MbError('MB_ERR_ABORTED', `the run was interrupted (${sig})`));
}

export function installInterrupts(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Called on the first interrupt (before the signal aborts); returns its remover. */
export function onInterrupt(fn: (signal: NodeJS.Signals) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
