import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';
import { mergeReports } from '../../src/report/merge.js';
import { regate } from '../../src/report/regate.js';
import { ReportSchema } from '../../src/report/schema.js';
import { latencies, makeReport } from './fixture.js';

describe('mergeReports', () => {
  const a = latencies(500, 2, 40, 1);
  const b = latencies(300, 10, 400, 2);
  const ra = makeReport({
    shard: { index: 0, count: 2 },
    samples: { 'chat.deliver': a, 'http.login': [50, 60] },
    counters: { 'chat.sent': 100, 'chat.expected': 300, 'chat.delivered': 300, 'errors.total': 1 },
    findings: [{ class: 'zombie-socket' }],
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 10_000,
    clientSockets: 20,
    serverSockets: 40,
    voiceRooms: 1,
  });
  const rb = makeReport({
    shard: { index: 1, count: 2 },
    samples: { 'chat.deliver': b },
    counters: { 'chat.sent': 50, 'chat.expected': 150, 'chat.delivered': 147, 'refusals.4008': 2 },
    findings: [{ class: 'zombie-socket' }, { class: 'stale-voice-member' }],
    startedAt: '2026-01-01T00:00:02.000Z',
    durationMs: 10_000,
    clientSockets: 20,
    serverSockets: 40,
    voiceRooms: 2,
  });

  it('merges histograms exactly: the same as one histogram of every sample', () => {
    const m = mergeReports([ra, rb]);
    const all = new LatencyHistogram();
    for (const v of [...a, ...b]) all.record(v);
    const { encoded: _e, ...summary } = m.histograms['chat.deliver']!;
    // compared as stored: a live histogram's min is the raw value, a decoded one's is its bucket's
    const stored = LatencyHistogram.decode(all.encode());
    expect(summary).toEqual({ unit: 'ms', ...stored.summary() });
    expect(summary.count).toBe(a.length + b.length);
    expect(summary.p99).toBe(all.percentile(99));
    const decoded = LatencyHistogram.decode(m.histograms['chat.deliver']!);
    for (const p of [1, 25, 50, 75, 90, 99, 99.9, 100]) expect(decoded.percentile(p)).toBe(all.percentile(p));
    // a histogram only one part has survives unchanged
    expect(m.histograms['http.login']!.count).toBe(2);
    expect(m.histograms['http.login']!.p50).toBe(ra.histograms['http.login']!.p50);
  });

  it('sums counters and recomputes rates from them over the union of time', () => {
    const m = mergeReports([ra, rb]);
    expect(m.counters).toMatchObject({ 'chat.sent': 150, 'chat.expected': 450, 'chat.delivered': 447, 'errors.total': 1, 'refusals.4008': 2 });
    expect(m.rates.deliveryRatio).toBeCloseTo(447 / 450, 12);
    // 00:00:00 → 00:00:12 is 12 s of union
    expect(m.durationMs).toBe(12_000);
    expect(m.rates.messagesPerSec).toBeCloseTo(150 / 12, 12);
    expect(m.rates.deliveriesPerSec).toBeCloseTo(447 / 12, 12);
    expect(m.ledger.users).toBe(20);
    expect(m.ledger.byKind.chat).toEqual({ opened: 20, closed: 20 });
    expect(m.generator.processes).toBe(2);
    expect(ReportSchema.safeParse(m).success).toBe(true);
  });

  it('qualifies findings and checkpoints by shard and lists every shard', () => {
    const m = mergeReports([ra, rb]);
    expect(m.findings.map((f) => f.id)).toEqual(['s0/F1', 's1/F1', 's1/F2']);
    expect(m.findings[2]!.checkpoint).toBe('[s1] final');
    expect(m.checkpoints.map((c) => [c.name, c.findings])).toEqual([
      ['[s0] final', ['s0/F1']],
      ['[s1] final', ['s1/F1', 's1/F2']],
    ]);
    expect(m.shards.map((s) => s.index)).toEqual([0, 1]);
  });

  it('sums client counts on the timeline but takes the max of the one shared server', () => {
    const m = mergeReports([ra, rb]);
    // shard b started 2 s later: at t=2 s both are present
    const at2 = m.timeline.find((s) => s.t === 2000)!;
    const ta = ra.timeline.find((s) => s.t === 2000)!;
    const tb = rb.timeline.find((s) => s.t === 0)!;
    expect(at2.client.total).toBe(ta.client.total + tb.client.total);
    expect(at2.server!.total).toBe(Math.max(ta.server!.total, tb.server!.total));
    expect(m.timeline.at(-1)!.t).toBe(6000);
    expect(m.notes?.join(' ')).toMatch(/server counts are the max/);
    // different targets (each shard its own bundled server): summed
    const other = mergeReports([ra, { ...rb, target: { ...rb.target, url: 'http://127.0.0.1:10' } }]);
    expect(other.timeline.find((s) => s.t === 2000)!.server!.total).toBe(ta.server!.total + tb.server!.total);
  });

  it('concatenates voice rooms and recomputes totals', () => {
    const m = mergeReports([ra, rb]);
    expect(m.voice!.rooms).toHaveLength(3);
    expect(m.voice!.totals.audioFramesReceived).toBe(ra.voice!.totals.audioFramesReceived + rb.voice!.totals.audioFramesReceived);
    expect(m.voice!.totals.pairs).toBe(9);
  });

  it('is incomplete if any part was, and says why', () => {
    const m = mergeReports([ra, { ...rb, status: 'incomplete', abortReason: 'server died' }]);
    expect(m.status).toBe('incomplete');
    expect(m.abortReason).toBe('s1: server died');
    expect(regate(m).verdict.exitCode).toBe(3);
  });

  it('refuses different scenarios unless forced, and another schemaVersion always', () => {
    const other = makeReport({ scenario: 'churn', shard: { index: 1, count: 2 } });
    expect(() => mergeReports([ra, other], { names: ['a.json', 'b.json'] })).toThrow(/b.json is a run of scenario "churn", a.json of "smoke": refusing to merge/);
    expect(mergeReports([ra, other], { force: true }).findings).toHaveLength(1);
    expect(() => mergeReports([ra, { ...rb, schemaVersion: 2 as 1 }], { names: ['a.json', 'b.json'] })).toThrow(/b.json has schemaVersion 2/);
  });

  it('gates on the merged result: thresholds of the scenario plus CLI ones', () => {
    const gated = regate(mergeReports([makeReport({ thresholds: ['rates.deliveryRatio>=1'] }), makeReport({ counters: { 'chat.expected': 10, 'chat.delivered': 9 }, thresholds: ['rates.deliveryRatio>=1'] })]), ['chat.deliver.p99<1ms']);
    expect(gated.gates.map((g) => [g.name, g.source, g.passed])).toEqual([
      ['rates.deliveryRatio>=1', 'scenario', false],
      ['chat.deliver.p99<1ms', 'cli', false],
    ]);
    expect(gated.verdict).toMatchObject({ exitCode: 4, failedGates: 2, leaks: 0 });
  });
});

describe('mergeReports: what kind of merge, and its time', () => {
  const counters = { 'chat.sent': 100, 'chat.expected': 300, 'chat.delivered': 290 };
  const shard = (index: number, startedAt: string, durationMs: number, runId?: string | null) =>
    makeReport({ shard: { index, count: 3 }, counters, startedAt, durationMs, runId, findings: index === 1 ? [{ class: 'zombie-socket' }] : [] });
  const s0 = shard(0, '2026-01-01T00:00:00.000Z', 10_000, 'run-s0');
  const s1 = shard(1, '2026-01-01T00:00:01.000Z', 12_000, 'run-s1');
  const s2 = shard(2, '2026-01-01T00:00:02.000Z', 9_000, 'run-s2');
  const run = (startedAt: string, durationMs: number, runId?: string | null) => makeReport({ counters, startedAt, durationMs, runId, timelineSeconds: 3 });

  it('shards of one run: wall time from first start to last end, rates over it, and it says so', () => {
    const m = mergeReports([s0, s1, s2]);
    // 00:00:00 → 00:00:13 (s1 ends last)
    expect(m.durationMs).toBe(13_000);
    expect(m.rates.messagesPerSec).toBeCloseTo(300 / 13, 12);
    expect(m.rates.deliveriesPerSec).toBeCloseTo(870 / 13, 12);
    expect(m.rates.deliveryRatio).toBeCloseTo(870 / 900, 12);
    expect(m.merge).toEqual({
      kind: 'shards',
      runIds: ['run-s0', 'run-s1', 'run-s2'],
      parts: [
        { tag: 's0', runId: 'run-s0', runIds: ['run-s0'], startedAt: s0.startedAt, durationMs: 10_000 },
        { tag: 's1', runId: 'run-s1', runIds: ['run-s1'], startedAt: s1.startedAt, durationMs: 12_000 },
        { tag: 's2', runId: 'run-s2', runIds: ['run-s2'], startedAt: s2.startedAt, durationMs: 9_000 },
      ],
    });
    expect(m.notes![0]).toBe('merged from 3 reports (shards of one run): s0, s1, s2');
    // its own id, the same whichever order the parts come in
    expect(m.runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(mergeReports([s2, s0, s1]).runId).toBe(m.runId);
    expect(ReportSchema.safeParse(m).success).toBe(true);
  });

  it('shards without readable start times: the longest shard is the wall time', () => {
    const blind = [s0, s1].map((r) => ({ ...r, startedAt: 'unknown', endedAt: 'unknown' }));
    const m = mergeReports(blind);
    expect(m.durationMs).toBe(12_000);
    expect(m.rates.messagesPerSec).toBeCloseTo(200 / 12, 12);
    expect(m.notes!.join(' ')).toMatch(/longest shard/);
  });

  it('repeated runs: the sum of their own durations, timelines end to end', () => {
    const a = run('2026-01-01T00:00:00.000Z', 10_000);
    const b = run('2026-01-02T00:00:00.000Z', 5_000);
    const m = mergeReports([b, a]);
    // a day apart: wall time would be 24 h; the runs lasted 15 s between them
    expect(m.durationMs).toBe(15_000);
    expect(m.rates.messagesPerSec).toBeCloseTo(200 / 15, 12);
    expect(m.merge!.kind).toBe('repeats');
    expect(m.merge!.parts.map((p) => p.tag)).toEqual(['r1', 'r2']);
    expect(m.timeline.map((s) => s.t)).toEqual([0, 1000, 2000, 10_000, 11_000, 12_000]);
    // a merge of one run's shards is a whole run: it repeats with another run
    const both = mergeReports([mergeReports([s0, s1, s2]), run('2026-01-01T01:00:00.000Z', 7_000)]);
    expect(both.merge!.kind).toBe('repeats');
    expect(both.durationMs).toBe(13_000 + 7_000);
    expect(both.merge!.runIds).toEqual(expect.arrayContaining(['run-s0', 'run-s1', 'run-s2']));
    expect(both.findings.map((f) => f.id)).toEqual(['r1/s1/F1']);
  });

  it('refuses the same run twice, directly or inside a merge', () => {
    const again = { ...s1 };
    expect(() => mergeReports([s0, s1, again, s2], { names: ['a.json', 'b.json', 'c.json', 'd.json'] })).toThrow(/^b.json and c.json both hold run run-s1: merging a run twice would count it twice$/);
    const m = mergeReports([s0, s1, s2]);
    expect(() => mergeReports([m, run('2026-01-01T00:00:00.000Z', 1000), m], { names: ['m.json', 'x.json', 'm2.json'] })).toThrow(/m.json and m2.json both hold run/);
    const r = run('2026-01-01T00:00:00.000Z', 1000, 'run-x');
    expect(() => mergeReports([mergeReports([r, run('2026-01-01T00:00:05.000Z', 1000)]), r], { names: ['m.json', 'r.json'] })).toThrow(/m.json and r.json both hold run run-x/);
    try {
      mergeReports([r, r]);
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('MB_ERR_USAGE');
    }
  });

  it('reports without a runId (written before it) are each their own run', () => {
    const old = (startedAt: string) => run(startedAt, 4000, null);
    const m = mergeReports([old('2026-01-01T00:00:00.000Z'), old('2026-01-01T00:00:00.000Z')]);
    expect(m.merge).toMatchObject({ kind: 'repeats', runIds: [], parts: [{ runId: null, runIds: [] }, { runId: null, runIds: [] }] });
    expect(m.durationMs).toBe(8000);
    expect(m.counters['chat.sent']).toBe(200);
  });

  it('refuses shards beside whole runs, a shard index twice, and shards of different splits', () => {
    const names = { names: ['a.json', 'b.json'] };
    expect(() => mergeReports([s0, run('2026-01-01T00:00:00.000Z', 1000)], names)).toThrow(
      /^a.json is shard 0\/3 of a run, b.json is a whole run: shards of one run and repeated runs do not merge together .* Merge each run's shards first, then merge the runs$/,
    );
    const other0 = shard(0, '2026-01-01T00:10:00.000Z', 10_000);
    expect(() => mergeReports([s0, other0], names)).toThrow(/^a.json and b.json are both shard 0\/3: each shard of a run appears once/);
    const half = makeReport({ shard: { index: 1, count: 2 } });
    expect(() => mergeReports([s0, half], names)).toThrow(/a.json is shard 0\/3 of a run, b.json is shard 1\/2 of a run: not shards of the same run/);
    // a partial merge of shards goes on merging with the missing ones
    expect(mergeReports([mergeReports([s0, s2]), s1]).merge!.kind).toBe('shards');
  });
});
