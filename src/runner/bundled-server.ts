import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { MbError } from '../errors.js';
import { clock } from '../clock.js';
import { PACKAGE_ROOT } from '../version.js';

export interface BundledServerOptions {
  heartbeatMs?: number;
  missedPongs?: number;
  maxPerUser?: number;
  maxTotal?: number;
  faults?: string[];
  faultDelayMs?: number;
  faultEvent?: string;
  faultPoolSize?: number;
  faultPoolStallMs?: number;
  logLevel?: string;
  /** called once if the server exits before close() was asked */
  onDied?(err: MbError): void;
  startTimeoutMs?: number;
}

export interface BundledServer {
  url: string;
  pid: number;
  close(): Promise<void>;
}

const BIN = fileURLToPath(new URL('bin/miscord-bench.js', PACKAGE_ROOT));

/**
 * The reference server as a child process on a free loopback port, so its CPU and memory
 * are its own. Killed when the run ends, when this process exits for any reason, or by close().
 */
export function startBundledServer(o: BundledServerOptions = {}): Promise<BundledServer> {
  // --expose-gc: the stats route's ?gc=1 measures the heap after a full collection (soak trends)
  const args = ['--expose-gc', BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--exit-with-stdin'];
  if (o.heartbeatMs !== undefined) args.push('--heartbeat-ms', String(o.heartbeatMs));
  if (o.missedPongs !== undefined) args.push('--missed-pongs', String(o.missedPongs));
  if (o.maxPerUser !== undefined) args.push('--max-per-user', String(o.maxPerUser));
  if (o.maxTotal !== undefined) args.push('--max-total', String(o.maxTotal));
  for (const f of o.faults ?? []) args.push('--fault', f);
  if (o.faultDelayMs !== undefined) args.push('--fault-delay-ms', String(o.faultDelayMs));
  if (o.faultEvent !== undefined) args.push('--fault-event', o.faultEvent);
  if (o.faultPoolSize !== undefined) args.push('--fault-pool-size', String(o.faultPoolSize));
  if (o.faultPoolStallMs !== undefined) args.push('--fault-pool-stall-ms', String(o.faultPoolStallMs));
  if (o.logLevel) args.push('--log-level', o.logLevel);
  // Its own process group, so a Ctrl-C at the terminal reaches only us and we stop it in order
  // (after the final checkpoint). Its stdin is a pipe from us that nobody writes: when this
  // process is gone for any reason, SIGKILL included, the pipe closes and the server exits.
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  child.stdin!.on('error', () => {});
  // a crash of ours must not leave the server running
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderrTail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    stderrTail = (stderrTail + c).slice(-2000);
    if (o.logLevel && o.logLevel !== 'silent') process.stderr.write(c);
  });
  let closing = false;
  let exited = false;
  const exitP = new Promise<void>((r) => child.once('exit', () => ((exited = true), process.off('exit', killOnExit), child.stdin!.destroy(), r())));

  return new Promise<BundledServer>((resolve, reject) => {
    let ready = false;
    const timer = clock.setTimeout(() => {
      child.kill('SIGKILL');
      reject(new MbError('MB_ERR_SERVER_START', `the bundled server did not say "listening" within ${o.startTimeoutMs ?? 15000} ms`));
    }, o.startTimeoutMs ?? 15_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /^listening (https?:\/\/\S+)$/.exec(line.trim());
      if (!m || ready) return;
      ready = true;
      clock.clearTimeout(timer);
      resolve({
        url: m[1]!,
        pid: child.pid!,
        async close() {
          if (closing) return exitP;
          closing = true;
          if (!exited) {
            child.kill('SIGTERM');
            const t = clock.setTimeout(() => child.kill('SIGKILL'), 5000);
            await exitP;
            clock.clearTimeout(t);
          }
        },
      });
    });
    child.once('error', (err) => {
      clock.clearTimeout(timer);
      if (!ready) reject(new MbError('MB_ERR_SERVER_START', `cannot start the bundled server: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clock.clearTimeout(timer);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!ready) {
        reject(new MbError('MB_ERR_SERVER_START', `the bundled server exited (${how}) before listening${stderrTail ? `: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
      } else if (!closing) {
        o.onDied?.(new MbError('MB_ERR_SERVER_DIED', `the bundled server died mid-run (${how})`));
      }
    });
  });
}
