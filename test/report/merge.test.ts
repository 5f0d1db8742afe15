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
    const other = makeReport({ scenario: 'churn' });
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
