import { isMbError } from '../errors.js';
import { createLogger } from '../log.js';
import { runScenario } from '../runner/run-scenario.js';
import type { FromWorker, ToWorker } from '../runner/worker-protocol.js';
import { installLiveStateTrigger } from './live-state-trigger.js';

/**
 * The child side of `run --workers N` (started by src/runner/workers.ts with fork): runs one
 * shard and reports over IPC. A process entry like main.ts, so it lives in src/cli: it owns the
 * process's signals, its live-state printer and its exit code. If the parent goes away (its IPC channel closes), the run is
 * aborted and the child exits, so no orphan keeps loading the target.
 */
if (!process.send) {
  process.stderr.write('worker-entry is started by `miscord-bench run --workers N`, not by hand\n');
  process.exit(2);
}

const abort = new AbortController();
let started = false;

function send(m: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, {}, () => resolve());
  });
}

// wrtc crashes some processes on a normal exit: always leave explicitly, with our code
function leave(code: number): void {
  process.exit(code);
}

process.on('disconnect', () => {
  abort.abort();
  // the parent is gone: give the run a moment to close its sockets, then go
  setTimeout(() => leave(3), started ? 5000 : 0).unref();
});
// Ctrl-C reaches the whole process group: the parent decides, the child waits for its word
process.on('SIGINT', () => {});
// the parent forwards SIGUSR2 for the live state: one arriving before the run installs its printer must not end us
process.on('SIGUSR2', () => {});

process.on('message', (m: ToWorker) => {
  if (m.type === 'abort') abort.abort();
  if (m.type !== 'start' || started) return;
  started = true;
  const o = m.options;
  const log = createLogger(o.logLevel ?? 'warn', (line) => process.stderr.write(`[worker ${o.shard.index}] ${line}`));
  const { liveState, ...run } = o;
  // the server is shared: its totals hold every worker's users, so they exceed this slice's
  const note = o.shard.count > 1 ? `  (server totals include the ${o.shard.count - 1} other worker${o.shard.count > 2 ? 's' : ''}' users)\n` : '';
  const prefixed = (text: string) => process.stderr.write((text + note).replace(/^(?=.)/gm, `[worker ${o.shard.index}] `));
  runScenario({ ...run, log, signal: abort.signal, liveState: liveState ? (getView) => installLiveStateTrigger({ getView, write: prefixed, stdin: null }) : undefined, onSample: (sample, live) => void send({ type: 'sample', sample, live }) })
    .then(async (report) => {
      await send({ type: 'report', report });
      leave(0);
    })
    .catch(async (err) => {
      await send({ type: 'error', code: isMbError(err) ? err.code : null, message: isMbError(err) ? err.message : String((err as Error)?.stack ?? err) });
      leave(isMbError(err) ? err.exitCode : 1);
    });
});

void send({ type: 'ready' });
