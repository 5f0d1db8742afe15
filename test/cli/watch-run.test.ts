import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli } from '../helpers/cli.js';

/** `run --metrics-port --stream --abort-on-fail` through bin/ (built dist/ needed), as a user would. */
const dir = mkdtempSync(join(tmpdir(), 'mb-watch-'));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const scenario = join(dir, 'watch.json');
writeFileSync(
  scenario,
  JSON.stringify({
    name: 'watch',
    description: 'four users chat for a few seconds',
    users: 4,
    setup: { servers: 1, textChannels: 1, voiceChannels: 0 },
    settle: '300ms',
    thresholds: ['rates.deliveryRatio>=1'],
    phases: [{ type: 'connect' }, { type: 'chat', duration: '4s', messagesPerUserPerSec: 5 }, { type: 'disconnect' }],
  }),
);

function start(args: string[]) {
  const p = spawnCli(args, { cwd: dir });
  const metricsUrl = p.seen(/metrics: (http:\/\/\S+)/, 'stderr').then((m) => m[1]!);
  // a run refused up front never serves metrics: only the tests that await the URL care
  metricsUrl.catch(() => {});
  const exit = p.exited.then((code) => ({ code, stderr: p.stderr() }));
  return { metricsUrl, exit };
}

/** Resolves once the file contains `text`, woken by fs.watch (no polling). */
function fileHas(file: string, text: string): Promise<void> {
  return new Promise((resolve) => {
    const w = watch(file, () => check());
    cleanups.push(() => w.close());
    const check = () => {
      if (readFileSync(file, 'utf8').includes(text)) {
        w.close();
        resolve();
      }
    };
    check();
  });
}

describe('run --metrics-port / --stream', () => {
  it('serves the live figures while the run goes, streams JSON lines, and exits by itself', async () => {
    const stream = join(dir, 'run.jsonl');
    const run = start(['run', scenario, '--metrics-port', '0', '--stream', stream, '--out', join(dir, 'r.json')]);
    const url = await run.metricsUrl;
    // the endpoint and the stream take each sample in the same call: once the stream has one, so has the endpoint
    await fileHas(stream, '"type":"sample"');
    const body = await fetch(url).then((r) => r.text());
    expect(body).toContain('miscord_bench_up 1');
    expect(body).toMatch(/miscord_bench_sockets\{side="client",kind="chat"\} \d+/);
    expect(body).toMatch(/miscord_bench_phase_info\{phase="[^"]+",index="\d",of="3"\} 1/);
    const { code } = await run.exit;
    expect(code).toBe(0);
    // the endpoint went with the run
    await expect(fetch(url)).rejects.toThrow();
    const lines = readFileSync(stream, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    expect(lines[0]).toMatchObject({ type: 'start', scenario });
    expect(lines[1]).toMatchObject({ type: 'plan' });
    expect(lines.filter((l) => l.type === 'sample').length).toBeGreaterThanOrEqual(3);
    expect(lines.at(-1)).toMatchObject({ type: 'end', status: 'completed', exitCode: 0, report: join(dir, 'r.json') });
  });

  it('--abort-on-fail ends a run whose gate failed: exit 4, the summary and the stream say which gate', async () => {
    const stream = join(dir, 'abort.jsonl');
    const run = start(['run', scenario, '--threshold', 'chat.deliver.p99<0.001ms', '--abort-on-fail', '--stream', stream, '--out', join(dir, 'abort.json')]);
    const { code, stderr } = await run.exit;
    expect(code).toBe(4);
    expect(stderr).toMatch(/threshold 'chat.deliver.p99<0.001ms' failed during the run/);
    const report = JSON.parse(readFileSync(join(dir, 'abort.json'), 'utf8'));
    expect(report.abortedBy.gate).toBe('chat.deliver.p99<0.001ms');
    expect(report.verdict.exitCode).toBe(4);
    const end = JSON.parse(readFileSync(stream, 'utf8').trim().split('\n').at(-1)!);
    expect(end).toMatchObject({ type: 'end', status: 'incomplete', exitCode: 4, abortedBy: { gate: 'chat.deliver.p99<0.001ms', source: 'cli' } });
  });

  it('refuses --metrics-host without --metrics-port', async () => {
    const { code, stderr } = await start(['run', scenario, '--metrics-host', '0.0.0.0']).exit;
    expect(code).toBe(2);
    expect(stderr).toMatch(/--metrics-host needs --metrics-port/);
  });
});
