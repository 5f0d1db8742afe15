import { describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportSchema, type Report } from '../../src/report/schema.js';
import { gone, spawnCli } from '../helpers/cli.js';

/**
 * Every way a run can end, through bin/ as a user runs it: the target killed in each phase,
 * frozen, restarted; SIGINT or SIGTERM in each phase and before the run begins. Each asserts
 * exit 3, a partial report that says why, and no process left behind.
 */
const dir = mkdtempSync(join(tmpdir(), 'mb-ends-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const scenario = join(dir, 'phases.json');
writeFileSync(
  scenario,
  JSON.stringify({
    name: 'phases',
    description: 'one of each kind of phase, short',
    users: 3,
    settle: '300ms',
    setup: { servers: 1, textChannels: 2, voiceChannels: 1 },
    phases: [
      { type: 'connect', name: 'connect', rampUp: '200ms' },
      { type: 'chat', name: 'chat', duration: '1500ms', messagesPerUserPerSec: 2 },
      { type: 'switch', name: 'switch', strategy: 'in-band', switches: 3, interval: '300ms' },
      { type: 'voice', name: 'voice', rooms: 1, usersPerRoom: 2, hold: '1500ms' },
      { type: 'disconnect', name: 'disconnect', rampDown: '1500ms' },
    ],
  }),
);
const PHASES = ['connect', 'chat', 'switch', 'voice', 'disconnect'];


interface Proc {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
  /** resolves once the output matches */
  seen(re: RegExp): Promise<RegExpExecArray>;
}

function start(args: string[]): Proc {
  const p = spawnCli(args, { cwd: dir });
  return { child: p.child, out: p.output, exit: p.exited, seen: (re) => p.seen(re) };
}

/** A reference server of its own (`serve --port`), so the test can kill, freeze or restart it. */
async function serve(port = 0): Promise<{ proc: Proc; url: string; port: number }> {
  // spawnCli's teardown wakes (SIGCONT) and kills it, frozen or not
  const proc = start(['serve', '--port', String(port)]);
  const m = await proc.seen(/listening (http:\/\/127\.0\.0\.1:(\d+))/);
  return { proc, url: m[1]!, port: Number(m[2]) };
}


function report(path: string): Report {
  expect(existsSync(path), `no report at ${path}`).toBe(true);
  return ReportSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

let n = 0;
const outPath = () => join(dir, `r${n++}.json`);

describe('a target lost mid-run ends the run with exit 3 and a partial report', () => {
  for (const phase of PHASES) {
    it(`killed during ${phase}`, async () => {
      const target = await serve();
      const out = outPath();
      const run = start(['run', scenario, '--target', target.url, '--out', out, '--log-level', 'info']);
      await run.seen(new RegExp(`phase ${phase}\\n`));
      target.proc.child.kill('SIGKILL');
      expect(await run.exit, run.out()).toBe(3);
      const r = report(out);
      expect(r.status).toBe('incomplete');
      expect(r.abortReason).toMatch(/target|ECONNREFUSED|ECONNRESET|unreachable|failed/i);
      expect(r.verdict.exitCode).toBe(3);
      expect(r.verdict.passed).toBe(false);
      expect(r.ledger.openSocketsAtEnd).toBe(0);
    });
  }

  it('frozen (SIGSTOP): no answer for --target-stall ends it', async () => {
    const target = await serve();
    const out = outPath();
    const run = start(['run', scenario, '--target', target.url, '--out', out, '--log-level', 'info', '--target-stall', '3s']);
    await run.seen(/phase chat\n/);
    target.proc.child.kill('SIGSTOP');
    expect(await run.exit, run.out()).toBe(3);
    expect(report(out).abortReason).toMatch(/stopped answering/);
  });

  it('restarted on the same port: the run says so and ends', async () => {
    const first = await serve();
    const out = outPath();
    const run = start(['run', scenario, '--target', first.url, '--out', out, '--log-level', 'info']);
    await run.seen(/phase chat\n/);
    first.proc.child.kill('SIGKILL');
    await first.proc.exit;
    await serve(first.port);
    expect(await run.exit, run.out()).toBe(3);
    // found down twice before it came back, or down once and then back: either names the loss
    expect(report(out).abortReason).toMatch(/restarted|went away/);
  });
});

describe('SIGINT and SIGTERM at any moment give exit 3 and a partial report', () => {
  const moments = [...PHASES.map((p, i) => ({ name: `during ${p}`, signal: (i % 2 ? 'SIGTERM' : 'SIGINT') as NodeJS.Signals, at: new RegExp(`phase ${p}\\n`) })), { name: 'while the world is set up', signal: 'SIGTERM' as NodeJS.Signals, at: /bundled reference server pid \d+/ }];
  for (const m of moments) {
    it(`${m.signal} ${m.name}`, async () => {
      const out = outPath();
      const run = start(['run', scenario, '--out', out, '--log-level', 'info']);
      await run.seen(m.at);
      run.child.kill(m.signal);
      expect(await run.exit, run.out()).toBe(3);
      const r = report(out);
      expect(r.status).toBe('incomplete');
      expect(r.abortReason).toMatch(/interrupted/);
      expect(r.ledger.openSocketsAtEnd).toBe(0);
      const pid = Number(/bundled reference server pid (\d+)/.exec(run.out())?.[1] ?? 0);
      if (pid) await gone(pid);
      expect(run.out()).not.toMatch(/does not support in-band/);
    });
  }
});
