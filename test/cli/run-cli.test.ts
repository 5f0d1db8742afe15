import { describe, it, expect, afterEach } from 'vitest';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportSchema } from '../../src/report/schema.js';
import { spawnCli } from '../helpers/cli.js';

/** These run the built CLI (`npx tsc -p .` first), as a user would. */
const dir = mkdtempSync(join(tmpdir(), 'mb-cli-'));
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { onStderr?: (all: string) => void } = {}): Promise<Result> {
  const p = spawnCli(args, { cwd: dir });
  if (opts.onStderr) p.child.stderr!.on('data', () => opts.onStderr!(p.stderr()));
  return p.exited.then((code) => ({ code, stdout: p.stdout(), stderr: p.stderr() }));
}

const tiny = join(dir, 'tiny.json');
writeFileSync(
  tiny,
  JSON.stringify({
    name: 'tiny',
    description: 'three users chat for a second',
    users: 3,
    setup: { servers: 1, textChannels: 2, voiceChannels: 0 },
    settle: '500ms',
    thresholds: ['rates.deliveryRatio>=1'],
    phases: [{ type: 'connect' }, { type: 'chat', duration: '1s', messagesPerUserPerSec: 3 }, { type: 'disconnect' }],
  }),
);

describe('miscord-bench run (end to end through bin/)', () => {
  it('runs against the bundled server: exit 0, report file written, --json alone on stdout', async () => {
    const out = join(dir, 'tiny-report.json');
    const r = await cli(['run', tiny, '--json', '--out', out]);
    expect(r.stderr).toContain('passed (exit 0');
    expect(r.code).toBe(0);
    const fromStdout = JSON.parse(r.stdout);
    expect(ReportSchema.parse(fromStdout).rates.deliveryRatio).toBe(1);
    const fromFile = JSON.parse(readFileSync(out, 'utf8'));
    expect(fromFile.scenario.name).toBe('tiny');
    expect(fromFile.target.bundled).toBe(true);
    expect(r.stdout.trim().startsWith('{')).toBe(true);
  });

  it('writes reports/<scenario>-<UTC time>.json by default, nothing on stdout without --json', async () => {
    const r = await cli(['run', tiny, '--no-leak-check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const m = /report: (.*reports\/tiny-\d{8}T\d{6}Z\.json)/.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(existsSync(m![1]!)).toBe(true);
  });

  it.each([
    [['run', 'no-such-scenario'], /unknown scenario "no-such-scenario"/],
    [['run', tiny, '--users', 'many'], /--users/],
    [['run', tiny, '--bogus'], /unknown option '--bogus'/],
    [['run', tiny, '--target', 'http://127.0.0.1:1', '--fault', 'zombie-socket'], /--fault only applies to the bundled server/],
    [['run', tiny, '--users-file', 'x.json'], /--users-file .* --target/],
    [['run', tiny, '--shard', '3/2'], /--shard must be i\/n/],
    [['run', tiny, '--workers', '0'], /--workers must be a positive integer/],
    [['run', tiny, '--threshold', 'chat.deliver.p99<'], /bad threshold 'chat.deliver.p99<'/],
    [['run', tiny, '--ice-servers', '{bad'], /--ice-servers must be a JSON array/],
    [['run', tiny, '--fault', 'no-such-fault'], /--fault: unknown fault 'no-such-fault' \(known: zombie-socket/],
    [['run', tiny, '--duration', 'soon'], /--duration/],
  ])('refuses %j with exit 2 and one clear line', async (args, re) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stdout).toBe('');
  });

  it.skipIf(!existsSync('/dev/full'))('says on stderr when the trace file lost events (a full disk), and the run still passes', async () => {
    const r = await cli(['run', tiny, '--trace', '/dev/full', '--no-leak-check', '--out', join(dir, 'full.json')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN +\[Trace\] the trace file \/dev\/full is incomplete: ENOSPC.*\(\d+ events lost\)/);
  });

  it('--trace-addresses shows ICE/SDP addresses in the trace, redacted by default', async () => {
    const first = (f: string) => JSON.parse(readFileSync(f, 'utf8').split('\n')[0]!) as { ev: string; addresses: string; bodies: boolean };
    const [shown, redacted] = [join(dir, 'addr-shown.ndjson'), join(dir, 'addr-redacted.ndjson')];
    const runs = await Promise.all([
      cli(['run', tiny, '--no-leak-check', '--quiet', '--trace', shown, '--trace-addresses', '--out', join(dir, 'a1.json')]),
      cli(['run', tiny, '--no-leak-check', '--quiet', '--trace', redacted, '--out', join(dir, 'a2.json')]),
    ]);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(first(shown)).toMatchObject({ ev: 'trace.start', addresses: 'shown', bodies: false });
    expect(first(redacted)).toMatchObject({ ev: 'trace.start', addresses: 'redacted', bodies: false });
  });

  it('names the line and column of a scenario that is not JSON (exit 2)', async () => {
    const bad = join(dir, 'syntax.json');
    writeFileSync(bad, '{\n  "name": "x",\n  "users": 3,,\n}\n');
    const r = await cli(['run', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/syntax\.json: not valid JSON: line 3, column 14/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the file and the field of an invalid scenario (exit 2)', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'bad', description: 'x', phases: [{ type: 'connect' }, { type: 'idle', duration: '1s' }, { type: 'switch', switches: 0 }] }));
    const r = await cli(['validate', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.json: phases[2].switches: expected a positive integer');
    const r2 = await cli(['run', bad]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('phases[2].switches');
  });

  it('an unreachable target: exit 3 and a partial report', async () => {
    // a port that was free a moment ago: nothing listens there
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const out = join(dir, 'unreachable.json');
    const r = await cli(['run', tiny, '--target', `http://127.0.0.1:${port}`, '--out', out]);
    expect(r.code).toBe(3);
    const report = ReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    expect(report.status).toBe('incomplete');
    expect(report.abortReason).toMatch(/127\.0\.0\.1/);
    // --quiet: exactly one line on stderr saying what and where
    const q = await cli(['run', tiny, '--target', `http://127.0.0.1:${port}`, '--out', out, '--quiet']);
    expect(q.code).toBe(3);
    const lines = q.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^miscord-bench: run incomplete: .*127\\.0\\.0\\.1:${port}.*partial report`));
  });

  it('a target that is not Miscord (404 everywhere): exit 3, one clear reason, a partial report', async () => {
    const web = createHttpServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    cleanups.push(() => new Promise<void>((r) => web.close(() => r())));
    const url = `http://127.0.0.1:${(web.address() as { port: number }).port}`;
    const out = join(dir, 'not-miscord.json');
    const r = await cli(['run', tiny, '--target', url, '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`run incomplete: ${url} does not look like a Miscord backend: POST /api/auth/register answered HTTP 404`);
    expect(r.stderr).not.toMatch(/^gate failed/m);
    const report = ReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    expect(report.status).toBe('incomplete');
  });

  it('the bundled server killed mid-run: exit 3, partial report, the CLI exits by itself', async () => {
    const long = join(dir, 'long.json');
    writeFileSync(long, JSON.stringify({ name: 'long', description: 'chats for a minute', users: 3, setup: { voiceChannels: 0 }, phases: [{ type: 'connect' }, { type: 'chat', duration: '60s', messagesPerUserPerSec: 2 }] }));
    const out = join(dir, 'died.json');
    let killed = false;
    const r = await cli(['run', long, '--out', out, '--log-level', 'info'], {
      onStderr: (all) => {
        const pid = /bundled reference server pid (\d+)/.exec(all)?.[1];
        if (!killed && pid && all.includes('phase chat#1')) {
          killed = true;
          process.kill(Number(pid), 'SIGKILL');
        }
      },
    });
    expect(killed).toBe(true);
    expect(r.code).toBe(3);
    const report = ReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    expect(report.status).toBe('incomplete');
    expect(report.abortReason).toMatch(/died/);
    expect(report.ledger.openSocketsAtEnd).toBe(0);
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
