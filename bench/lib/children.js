// The child processes of bench/client-bench.js and bench/server-bench.js: each one is
// SIGKILLed on the way out (exit, SIGINT, SIGTERM), whatever happens; and their IPC.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const children = new Set();

/** Kills `child` with the bench, if it is still running by then. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function killAll() {
  for (const c of children) c.kill('SIGKILL');
}
process.once('SIGINT', () => (killAll(), process.exit(130)));
process.once('SIGTERM', () => (killAll(), process.exit(143)));
process.once('exit', killAll);

/** Forks bench/lib/`script` with a JSON job as argv[2], IPC, stdout and stderr inherited; tracked. */
export function forkChild(script, job, execArgv = []) {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return track(fork(path, [JSON.stringify(job)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
}

/** The child's next IPC message of `type` (others are skipped); throws if it exits first. */
export async function nextMessage(child, type) {
  for (;;) {
    const [m] = await Promise.race([once(child, 'message'), once(child, 'exit').then(() => [{ type: 'exit' }])]);
    if (m.type === type) return m;
    if (m.type === 'exit') throw new Error(`child exited while waiting for ${type}`);
  }
}
