import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Runs the built CLI through bin/ (as a user would) and resolves with its exit code and output. */
export const BIN = fileURLToPath(new URL('../../bin/miscord-bench.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(BUILT)) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test does) before the CLI tests');
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** Is there a process with this pid (signal 0 probes without signalling)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the process is gone; rejects after `ms` (its pipe-close or signal path failed). */
export async function gone(pid: number, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > until) throw new Error(`process ${pid} still alive after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
