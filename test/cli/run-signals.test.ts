import { describe, it, expect, afterEach } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportSchema } from '../../src/report/schema.js';
import { alive, gone, spawnCli } from '../helpers/cli.js';

/** Signals during a CLI run (the built CLI, as a user runs it): SIGUSR2, Ctrl-C, SIGKILL. */
const dir = mkdtempSync(join(tmpdir(), 'mb-sig-'));
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const long = join(dir, 'long.json');
writeFileSync(
  long,
  JSON.stringify({ name: 'long', description: 'chats for a minute', users: 3, settle: '300ms', setup: { voiceChannels: 0 }, phases: [{ type: 'connect' }, { type: 'chat', duration: '60s', messagesPerUserPerSec: 2 }, { type: 'disconnect' }] }),
);



/** Starts `run long.json --log-level info` and resolves with the child and the server's pid once the chat phase runs. */
async function startLongRun(out: string): Promise<{ child: ChildProcess; serverPid: number; stderr: () => string; exit: Promise<number | null> }> {
  const p = spawnCli(['run', long, '--out', out, '--log-level', 'info'], { cwd: dir });
  let serverPid = 0;
  cleanups.push(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
    if (serverPid && alive(serverPid)) process.kill(serverPid, 'SIGKILL');
  });
  const started = await p.seen(/bundled reference server pid (\d+)/, 'stderr').catch(async (e: Error) => {
    throw new Error(`the run ended (exit ${await p.exited}) before its chat phase:\n${e.message}`);
  });
  serverPid = Number(started[1]);
  await p.seen(/phase chat#1/, 'stderr').catch(async (e: Error) => {
    throw new Error(`the run ended (exit ${await p.exited}) before its chat phase:\n${e.message}`);
  });
  return { child: p.child, serverPid, stderr: p.stderr, exit: p.exited };
}

describe('miscord-bench run under signals (end to end through bin/)', () => {
  it('SIGUSR2 prints the live state on stderr; Ctrl-C then stops with exit 3, a partial report and no server left', async () => {
    const out = join(dir, 'sig.json');
    const run = await startLongRun(out);
    const before = run.stderr().length;
    const printed = new Promise<string>((resolve) => {
      const on = () => {
        const text = run.stderr().slice(before);
        // the whole view: header, totals beside the server's, one block per user
        if (/miscord-bench live state[^\n]*phase chat#1/.test(text) && /u2 #\d+/.test(text)) {
          run.child.stderr!.off('data', on);
          resolve(text);
        }
      };
      run.child.stderr!.on('data', on);
    });
    run.child.kill('SIGUSR2');
    const text = await printed;
    expect(text).toMatch(/^\s+chat\s+3\s+3$/m);
    expect(text).toMatch(/^\s+notifications\s+3\s+3$/m);
    expect(text).toMatch(/u0 #\d+ mb-\S+  sockets 2 \(server 2\)/);
    expect(run.child.exitCode).toBeNull(); // the signal did not end the run

    run.child.kill('SIGINT');
    expect(await run.exit).toBe(3);
    expect(run.stderr()).toContain('interrupted');
    const report = ReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    expect(report.status).toBe('incomplete');
    expect(report.abortReason).toMatch(/interrupted/);
    expect(report.ledger.openSocketsAtEnd).toBe(0);
    await gone(run.serverPid);
  });

  it('the bundled server does not outlive a SIGKILLed CLI', async () => {
    const run = await startLongRun(join(dir, 'killed.json'));
    expect(alive(run.serverPid)).toBe(true);
    run.child.kill('SIGKILL');
    await run.exit;
    // no handler of ours ran: the server saw its stdin pipe close
    await gone(run.serverPid);
  });
});
