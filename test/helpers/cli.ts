import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, onTestFinished } from 'vitest';
import { until } from './until.js';

/** The CLI as a user runs it: bin/, which imports the build. */
export const BIN = fileURLToPath(new URL('../../bin/miscord-bench.js', import.meta.url));

/**
 * The path of a built file under dist/ (`built('runner/worker-entry.js')`); throws, never skips,
 * when the build is missing, so a suite that needs dist/ fails with a message that says why.
 */
export function built(rel = 'cli/main.js'): string {
  const path = fileURLToPath(new URL(`../../dist/${rel}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`dist/${rel} is missing: build first (\`npx tsc -p tsconfig.json\`; npm test does)`);
  return path;
}

export interface CliOptions {
  cwd?: string;
  /** merged over process.env and NO_COLOR=1 */
  env?: NodeJS.ProcessEnv;
  /** stdout 'ignore' for a child whose stdout nobody reads */
  stdout?: 'pipe' | 'ignore';
}

export interface CliChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr as they arrived, interleaved */
  output(): string;
  /** the exit code (null when a signal ended it), at 'exit': output may still be arriving */
  exited: Promise<number | null>;
  /** the exit code once stdout and stderr are closed too (all output read) */
  closed: Promise<number | null>;
  /** resolves once the output (interleaved, or one stream) matches `re`; rejects if the child exits first */
  seen(re: RegExp, stream?: 'stdout' | 'stderr'): Promise<RegExpExecArray>;
  /** the first line on stdout; rejects if the child exits without one */
  firstLine(): Promise<string>;
}

/** Every child not yet reaped: a safety net for the file, after its last test. */
const running = new Set<() => Promise<void>>();
afterAll(() => Promise.all([...running].map((r) => r())));

/**
 * Spawns `bin/miscord-bench.js ...args` and returns at once; the child is killed (SIGCONT first,
 * in case a test froze it) and awaited when the test ends. Call it inside a test, and not in a
 * `describe.concurrent` (vitest cannot tell which concurrent test is current): there use runCli.
 */
export function spawnCli(args: string[], opts: CliOptions = {}): CliChild {
  const p = start(args, opts);
  onTestFinished(p.reap);
  return p;
}

function start(args: string[], opts: CliOptions): CliChild & { reap(): Promise<void> } {
  built();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const closed = once(child, 'close').then(([code]) => code as number | null);
  const reap = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await exited;
  };
  running.add(reap);
  void exited.then(() => running.delete(reap));
  let out = '';
  let err = '';
  let both = '';
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  child.stdout?.setEncoding('utf8').on('data', (c: string) => ((out += c), (both += c), wake()));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => ((err += c), (both += c), wake()));
  const seen = (re: RegExp, stream?: 'stdout' | 'stderr') =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(stream === 'stdout' ? out : stream === 'stderr' ? err : both);
        if (m) {
          waiters.delete(check);
          resolve(m);
        }
      };
      waiters.add(check);
      check();
      void closed.then((code) => waiters.has(check) && (waiters.delete(check), reject(new Error(`exited (${code}) before ${re}:\n${both}`))));
    });
  const firstLine = () => seen(/^(.*)\n/, 'stdout').then((m) => m[1]!);
  return { child, stdout: () => out, stderr: () => err, output: () => both, exited, closed, seen, firstLine, reap };
}

/**
 * Runs the built CLI through bin/ to its end and resolves with its exit code and output. A child
 * still running after `timeoutMs` is killed and the call fails (a hang is a failure, not exit 1).
 * It owns its child to the end, so it needs no test context (safe in `describe.concurrent`).
 */
export async function runCli(args: string[], opts: CliOptions & { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const p = start(args, opts);
  let hung = false;
  const timer = setTimeout(() => ((hung = true), p.child.kill('SIGKILL')), timeoutMs);
  const code = await p.closed;
  clearTimeout(timer);
  if (hung) throw new Error(`miscord-bench ${args.join(' ')} hung past ${timeoutMs} ms\n${p.stderr()}`);
  return { code: code ?? 1, stdout: p.stdout(), stderr: p.stderr() };
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
  await until(() => !alive(pid), { what: `process ${pid} to be gone`, timeoutMs: ms, intervalMs: 25 });
}
