import { describe, it, expect, afterEach } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { planRun } from '../../src/runner/run-plan.js';
import { GateWatch, abortGates, abortModeOf } from '../../src/runner/abort-on-fail.js';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { parseThreshold } from '../../src/report/gates.js';
import { ReportSchema } from '../../src/report/schema.js';
import { mergeReports } from '../../src/report/merge.js';
import { regate } from '../../src/report/regate.js';
import { EXIT } from '../../src/errors.js';
import { runWithWorkers } from '../../src/runner/workers.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { built } from '../helpers/cli.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const watchOf = (exprs: string[], o = { windowMs: 10_000, minSamples: 5 }) => new GateWatch(abortGates(exprs.map((expr) => ({ expr, source: 'cli' as const })), 'all').gates, o);

function hist(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return h;
}

describe('GateWatch', () => {
  it('judges a latency on everything so far while the run is younger than the window', () => {
    const w = watchOf(['chat.deliver.p99<100ms']);
    const h = hist(Array(10).fill(500));
    expect(w.check({ elapsedMs: 2000, histograms: new Map([['chat.deliver', h]]), counters: {}, findings: [] })).toMatchObject({ gate: 'chat.deliver.p99<100ms', atMs: 2000 });
  });

  it('judges a latency on the last window: slow values that fell out of it do not abort, a slow spell later does', () => {
    const w = watchOf(['chat.deliver.p99<100ms']);
    const h = new LatencyHistogram();
    const at = (elapsedMs: number) => w.check({ elapsedMs, histograms: new Map([['chat.deliver', h]]), counters: {}, findings: [] });
    for (let i = 0; i < 3; i++) h.record(500);
    expect(at(1000)).toBeNull(); // 3 values < minSamples; the snapshot at 1 s holds the slow ones
    for (let i = 0; i < 300; i++) h.record(5);
    // 11 s: the window (1 s .. 11 s) holds only the 300 fast ones (the whole run's p99 is 5 ms too, but its max is not)
    expect(at(11_000)).toBeNull();
    for (let i = 0; i < 50; i++) h.record(400);
    const hit = at(12_000);
    expect(hit).toMatchObject({ gate: 'chat.deliver.p99<100ms', source: 'cli', atMs: 12_000, threshold: 100 });
    expect(hit!.observed).toBeGreaterThan(100);
    expect(hit!.reason).toMatch(/^chat\.deliver\.p99 = \d+ ms, over 100 ms in the last 10 s \(\d+ values\)$/);
    // fires once
    expect(at(13_000)).toBeNull();
  });

  it('a max judged on the window forgets an early outlier', () => {
    const w = watchOf(['chat.deliver.max<100ms']);
    const h = hist([900]);
    const at = (elapsedMs: number) => w.check({ elapsedMs, histograms: new Map([['chat.deliver', h]]), counters: {}, findings: [] });
    expect(at(500)).toBeNull(); // 1 value
    for (let i = 0; i < 20; i++) h.record(3);
    expect(at(10_600)).toBeNull(); // window 0.5 s .. 10.6 s: the 20 fast ones only
  });

  it('counts that only grow abort once past the limit; == waits until over; > never aborts', () => {
    expect(abortModeOf(parseThreshold('counters.errors.ws>5'))).toMatchObject({ mode: null });
    expect(abortModeOf(parseThreshold('rates.messagesPerSec>10'))).toMatchObject({ mode: null });
    const w = watchOf(['counters.refusals.4008==2', 'findings.zombie-socket==0']);
    const check = (counters: Record<string, number>, findings: Array<{ class: string }> = []) => w.check({ elapsedMs: 5000, histograms: new Map(), counters, findings });
    expect(check({ 'refusals.4008': 1 })).toBeNull(); // under 2: may still reach it
    expect(check({ 'refusals.4008': 2 })).toBeNull();
    const hit = check({ 'refusals.4008': 2 }, [{ class: 'zombie-socket' }]);
    expect(hit).toMatchObject({ gate: 'findings.zombie-socket==0', observed: 1 });
  });

  it('ratios wait for minSamples deliveries due', () => {
    const w = watchOf(['rates.deliveryRatio>=1']);
    const check = (due: number, delivered: number) => w.check({ elapsedMs: 3000, histograms: new Map(), counters: { 'chat.expected': due, 'chat.delivered': delivered }, findings: [] });
    expect(check(4, 3)).toBeNull();
    expect(check(10, 9)).toMatchObject({ gate: 'rates.deliveryRatio>=1', observed: 0.9 });
  });
});

describe('planning abortOnFail', () => {
  const base = { name: 'a', description: 'a', thresholds: ['counters.errors.ws==0', 'rates.messagesPerSec>1'], phases: [{ type: 'chat', duration: 100 }] };
  it('takes every judgeable threshold with --abort-on-fail and names the others; refuses a scenario marking one it cannot judge or does not have', () => {
    const p = planRun({ scenario: parseScenario(base), abortOnFail: true });
    expect(p.abort.gates.map((g) => g.source.expr)).toEqual(['counters.errors.ws==0']);
    expect(p.abort.skipped[0]).toMatch(/rates.messagesPerSec>1.*judged at the end/);
    expect(planRun({ scenario: parseScenario({ ...base, abortOnFail: ['counters.errors.ws==0'] }) }).abort.gates).toHaveLength(1);
    expect(planRun({ scenario: parseScenario(base) }).abort.gates).toHaveLength(0);
    expect(planRun({ scenario: parseScenario({ ...base, thresholds: [] }), abortOnFail: true }).abort.skipped).toEqual(['the run has no thresholds: nothing can end it early (add --threshold)']);
    expect(() => planRun({ scenario: parseScenario({ ...base, abortOnFail: ['rates.messagesPerSec>1'] }) })).toThrow(/abortOnFail: 'rates.messagesPerSec>1': .*judged at the end/);
    expect(() => planRun({ scenario: parseScenario({ ...base, abortOnFail: ['chat.deliver.p99<1ms'] }) })).toThrow(/abortOnFail\[0\]: 'chat.deliver.p99<1ms' is not one of the thresholds/);
  });
});

describe('a run a gate aborts', () => {
  it('stops early with a partial report that names the gate and when; verdict 4, and still 4 after a merge', async () => {
    const server = await createReferenceServer({ port: 0 });
    cleanups.push(() => server.close());
    const scenario = parseScenario({
      name: 'abort',
      description: 'a gate that cannot hold: deliveries in under a microsecond',
      seed: 3,
      users: 4,
      setup: { servers: 1, textChannels: 1, voiceChannels: 0 },
      settle: 300,
      thresholds: ['chat.deliver.p99<0.001ms', 'rates.deliveryRatio>=0'],
      abortOnFail: ['chat.deliver.p99<0.001ms'],
      phases: [{ type: 'connect' }, { type: 'chat', duration: '60s', messagesPerUserPerSec: 10 }, { type: 'disconnect' }],
    });
    const report = await runScenario({ scenario, target: server.url, abortWindow: { windowMs: 5000, minSamples: 20 } });
    expect(report.status).toBe('incomplete');
    expect(report.durationMs).toBeLessThan(30_000);
    expect(report.abortedBy).toMatchObject({ gate: 'chat.deliver.p99<0.001ms', source: 'scenario', threshold: 0.001 });
    expect(report.abortedBy!.atMs).toBeGreaterThan(0);
    expect(report.abortReason).toMatch(/^threshold 'chat.deliver.p99<0.001ms' failed during the run: chat.deliver.p99 = .* in the (last \d+ s|run's first [\d.]+ s) \(\d+ values\)$/);
    const g = report.gates.find((x) => x.name === 'chat.deliver.p99<0.001ms')!;
    expect(g.passed).toBe(false);
    expect(g.reason).toMatch(/^aborted the run at \d+(\.\d)? s: /);
    expect(report.gates.find((x) => x.name === 'rates.deliveryRatio>=0')!.passed).toBe(true);
    expect(report.verdict.exitCode).toBe(EXIT.thresholds);
    expect(report.findings).toEqual([]);
    expect(() => ReportSchema.parse(report)).not.toThrow();
    const merged = regate(mergeReports([report]));
    expect(merged.abortedBy).toEqual(report.abortedBy);
    expect(merged.verdict.exitCode).toBe(EXIT.thresholds);
    expect(merged.gates.find((x) => x.name === 'chat.deliver.p99<0.001ms')!.reason).toMatch(/^aborted the run/);
  });

  it('with --workers, the shard whose gate fails stops the others; the merged report is gate-aborted (4)', async () => {
    const server = await createReferenceServer({ port: 0 });
    cleanups.push(() => server.close());
    // only the shard that holds user 0 breaks the gate; the other would sleep for a minute unless stopped
    const file = join(mkdtempSync(join(tmpdir(), 'mb-abort-')), 'w.mjs');
    writeFileSync(
      file,
      `export default { name: 'abort-workers', description: 'one shard breaks the gate', users: 4, setup: { servers: 1, textChannels: 1, voiceChannels: 0 }, settle: 300,
        thresholds: ['counters.custom.bad<1'],
        phases: [{ type: 'connect' }, { type: 'custom', run: async (ctx) => { if (ctx.users().some((u) => u.index === 0)) ctx.metrics.inc('custom.bad'); await ctx.sleep(60000); } }] };`,
    );
    const report = await runWithWorkers({ scenario: file, target: server.url, abortOnFail: true }, 2, { entry: built('cli/worker-entry.js') });
    expect(report.durationMs).toBeLessThan(30_000);
    expect(report.status).toBe('incomplete');
    expect(report.abortedBy?.gate).toBe('counters.custom.bad<1');
    // one shard aborted by the gate, the other interrupted by the parent
    expect(report.abortReason).toMatch(/the run was interrupted/);
    expect(report.verdict.exitCode).toBe(EXIT.thresholds);
    expect(report.shards).toHaveLength(2);
  });
});
