import { describe, it, expect } from 'vitest';
import { parseThreshold, evaluateGates, verdictOf, failedGateLines } from '../../src/report/gates.js';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';
import { SCHEMA_VERSION, type Report, type Finding } from '../../src/report/schema.js';
import { MbError } from '../../src/errors.js';

function hist(values: number[]) {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return h.encode();
}

function finding(cls: Finding['class'], id = 'F1'): Finding {
  return { id, class: cls, message: 'm', subject: {}, expected: 0, observed: 1, checkpoint: 'final', firstSeen: new Date(0).toISOString(), ageMs: null, evidence: {} };
}

/** a checkpoint that read the server's counts: the leak checks ran */
const READ: Report['checkpoints'][number] = { name: 'final', at: '', settledMs: 0, stable: true, mode: 'ext', server: { total: 0 }, client: { total: 0 }, findings: [] };

function report(over: Partial<Report> = {}): Report {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'miscord-bench', version: '0.0.0' },
    scenario: { name: 't', description: 't', path: null, seed: 1, config: {} },
    target: { url: 'http://127.0.0.1:1', bundled: true, extStats: true, config: null },
    shards: [],
    startedAt: '',
    endedAt: '',
    durationMs: 0,
    status: 'completed',
    abortReason: null,
    generator: { reliable: true, unreliableReason: null, eventLoopDelayP99Ms: 0, eventLoopDelayMaxMs: 0, cpuUserMs: 0, cpuSystemMs: 0, peakRssBytes: 0, processes: 1 },
    histograms: { 'chat.deliver': hist([10, 20, 312]), 'http.login': hist([900, 1200]), 'empty.one': hist([]) },
    counters: { 'refusals.4008': 2, 'chat.sent': 10 },
    rates: { deliveryRatio: 1, errorRate: 0.02 },
    timeline: [],
    ledger: { users: 0, connectionsCreated: 0, connectionsDestroyed: 0, reconnectAttempts: 0, refusals: 0, peersCreated: 0, peersClosed: 0, openSocketsAtEnd: 0, openPeersAtEnd: 0, byKind: {}, lastErrors: [] },
    voice: null,
    checkpoints: [READ],
    findings: [],
    gates: [],
    errors: [],
    verdict: { exitCode: 0, passed: true, leaks: 0, failedGates: 0 },
    ...over,
  };
}

const g = (r: Report, ...exprs: string[]) => evaluateGates(r, exprs.map((expr) => ({ expr, source: 'cli' as const })));

describe('parseThreshold', () => {
  it('parses histograms, rates, counters and findings with units', () => {
    expect(parseThreshold('chat.deliver.p99<250ms')).toMatchObject({ kind: 'histogram', metric: 'chat.deliver', stat: 'p99', op: '<', value: 250 });
    expect(parseThreshold('http.login.p95<=1s')).toMatchObject({ metric: 'http.login', stat: 'p95', op: '<=', value: 1000, unit: 's' });
    expect(parseThreshold('ws.connect.chat.max < 2')).toMatchObject({ metric: 'ws.connect.chat', stat: 'max', value: 2, unit: 'ms' });
    expect(parseThreshold('rates.deliveryRatio>=1')).toMatchObject({ kind: 'rate', metric: 'deliveryRatio', op: '>=', value: 1 });
    expect(parseThreshold('rates.errorRate<1%')).toMatchObject({ kind: 'rate', value: 0.01, unit: '%' });
    expect(parseThreshold('counters.refusals.4008==0')).toMatchObject({ kind: 'counter', metric: 'refusals.4008', op: '==', value: 0 });
    expect(parseThreshold('findings.total==0')).toMatchObject({ kind: 'findings', metric: 'total' });
    expect(parseThreshold('findings.zombie-socket!=1')).toMatchObject({ kind: 'findings', metric: 'zombie-socket', op: '!=' });
    expect(parseThreshold('chat.deliver.count>0')).toMatchObject({ stat: 'count', value: 0 });
  });

  it.each([
    ['', 'empty'],
    ['chat.deliver.p99', 'expected <metric><op>'],
    ['chat.deliver.p98<1ms', "unknown metric 'chat.deliver.p98'"],
    ['p99<1', "unknown metric 'p99'"],
    ['chat.deliver.p99<1%', 'is a time'],
    ['rates.errorRate<5ms', 'not a time'],
    ['counters.x<5%', 'is a count'],
    ['findings.nope==0', "unknown finding class 'nope'"],
    ['findings.total==0ms', 'takes no unit'],
    ['chat..p99<1', 'empty segment'],
    ['chat.deliver.p99=<1', 'expected <metric><op>'],
    ['chat.deliver.count>1ms', 'is a count'],
  ])('refuses %j', (expr, why) => {
    let err: unknown;
    try {
      parseThreshold(expr);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MbError);
    expect((err as MbError).code).toBe('MB_ERR_USAGE');
    expect((err as MbError).message).toContain(`bad threshold '${expr}'`);
    expect((err as MbError).message).toContain(why);
  });
});

describe('evaluateGates', () => {
  it('fails with one line saying why, in the unit written', () => {
    const [a, b, c] = g(report(), 'chat.deliver.p99<250ms', 'http.login.p95<=1s', 'chat.deliver.p50<250ms');
    expect(a).toMatchObject({ passed: false, threshold: 250, source: 'cli' });
    expect(a!.observed).toBeCloseTo(312, -1);
    expect(a!.reason).toBe('chat.deliver.p99 = 312 ms, over 250 ms');
    expect(b!.passed).toBe(false);
    expect(b!.reason).toBe('http.login.p95 = 1.2 s, over 1 s');
    expect(c!.passed).toBe(true);
  });

  it('judges each operator at the boundary', () => {
    const r = report({ rates: { x: 1 } });
    const res = g(r, 'rates.x<1', 'rates.x<=1', 'rates.x>1', 'rates.x>=1', 'rates.x==1', 'rates.x!=1');
    expect(res.map((x) => x.passed)).toEqual([false, true, false, true, true, false]);
    expect(res[0]!.reason).toContain('not under 1');
    expect(res[2]!.reason).toContain('not over 1');
    expect(res[5]!.reason).toContain('must not be 1');
  });

  it('prints rates in percent when written so', () => {
    const [a] = g(report(), 'rates.errorRate<1%');
    expect(a!.passed).toBe(false);
    expect(a!.reason).toBe('rates.errorRate = 2%, over 1%');
  });

  it('fails a gate whose metric is absent, but counts absent findings and counters as zero', () => {
    const [h, e, r, f, c] = g(report(), 'voice.join.p99<1s', 'empty.one.p99<1s', 'rates.nope>=1', 'findings.zombie-socket==0', 'counters.refusals.1013==0');
    expect(h).toMatchObject({ passed: false, observed: null });
    expect(h!.reason).toContain('voice.join is absent from the report');
    expect(e!.reason).toContain('no samples');
    expect(r!.reason).toContain('rates.nope is absent');
    expect(f).toMatchObject({ passed: true, observed: 0 });
    expect(c).toMatchObject({ passed: true, observed: 0 });
    expect(c!.reason).toContain('never counted');
  });

  it('counts findings per class and in total', () => {
    const r = report({ findings: [finding('zombie-socket', 'F1'), finding('zombie-socket', 'F2'), finding('slow-deregister', 'F3')] });
    const res = g(r, 'findings.total==0', 'findings.zombie-socket<=1', 'findings.slow-deregister==1', 'findings.bench-leak==0');
    expect(res.map((x) => x.observed)).toEqual([3, 2, 1, 0]);
    expect(res.map((x) => x.passed)).toEqual([false, false, true, true]);
    expect(failedGateLines(res)).toEqual(['gate failed: findings.total==0 (cli): findings.total = 3, expected 0', 'gate failed: findings.zombie-socket<=1 (cli): findings.zombie-socket = 2, over 1']);
  });

  it('does not judge findings gates when no leak check looked: never passed, not failed either', () => {
    const exprs = ['findings.total==0', 'findings.zombie-socket==0', 'findings.bench-leak==0'];
    // the target never answered its stats: every checkpoint without a server view
    const blind = report({ checkpoints: [{ ...READ, mode: 'none', server: null }] });
    const [total, zombie, bench] = g(blind, ...exprs);
    expect(total).toMatchObject({ passed: false, observed: null });
    expect(total!.reason).toBe("findings.total: no checkpoint read the server's counts (its stats never answered): 0 findings proves nothing");
    expect(zombie).toMatchObject({ passed: false, observed: null });
    // the bench's own leaks are found from the client side: judged
    expect(bench).toMatchObject({ passed: true, observed: 0 });
    // no checkpoint at all (leak check off): nothing judged
    const off = g(report({ checkpoints: [] }), ...exprs);
    expect(off.map((x) => x.observed)).toEqual([null, null, null]);
    expect(off[0]!.reason).toContain('no leak check ran');
    // a finding found is found: the gate fails on it, judged
    const found = g(report({ checkpoints: [{ ...READ, mode: 'none', server: null }], findings: [finding('unclosed-peer')] }), 'findings.total==0');
    expect(found[0]).toMatchObject({ passed: false, observed: 1 });
    // with the server read, 0 is a real 0
    expect(g(report(), 'findings.total==0')[0]).toMatchObject({ passed: true, observed: 0 });
  });

  it('writes a ratio the way every renderer does', () => {
    const [a, b] = g(report({ rates: { deliveryRatio: 0.959_14, errorRate: 0.000_04 } }), 'rates.deliveryRatio>=1', 'rates.errorRate==0');
    expect(a!.reason).toBe('rates.deliveryRatio = 0.9591, under 1');
    expect(b!.reason).toBe('rates.errorRate = 0.00004, expected 0');
    // cut, not rounded: just under a threshold never reads as the threshold
    expect(g(report({ rates: { deliveryRatio: 0.989_99 } }), 'rates.deliveryRatio>=0.99')[0]!.reason).toBe('rates.deliveryRatio = 0.9899, under 0.99');
  });

  it('refuses a bad expression before judging any', () => {
    expect(() => g(report(), 'chat.deliver.p99<250ms', 'bogus')).toThrow(/bad threshold 'bogus'/);
  });
});

describe('verdictOf', () => {
  const failed = { name: 'x', source: 'cli' as const, passed: false, observed: 1, threshold: 0, reason: 'r' };
  const ok = { ...failed, passed: true };
  it('passes with no findings and passing gates', () => {
    expect(verdictOf(report({ gates: [ok] }))).toEqual({ exitCode: 0, passed: true, leaks: 0, failedGates: 0, unjudgedGates: 0 });
  });
  it('exits 4 when a gate failed', () => {
    expect(verdictOf(report({ gates: [ok, failed] }))).toEqual({ exitCode: 4, passed: false, leaks: 0, failedGates: 1, unjudgedGates: 0 });
  });
  it('exits 5 on a leak, over a failed gate', () => {
    expect(verdictOf(report({ gates: [failed], findings: [finding('zombie-socket')] }))).toEqual({ exitCode: 5, passed: false, leaks: 1, failedGates: 1, unjudgedGates: 0 });
  });
  it('exits 3 when the run is incomplete, whatever else', () => {
    expect(verdictOf(report({ status: 'incomplete', gates: [failed], findings: [finding('zombie-socket')] })).exitCode).toBe(3);
  });
  it('counts a gate that could not be judged once, as not judged, never also as failed', () => {
    const unjudged = { ...failed, observed: null, reason: 'x is absent' };
    expect(verdictOf(report({ gates: [ok, unjudged, unjudged] }))).toEqual({ exitCode: 4, passed: false, leaks: 0, failedGates: 0, unjudgedGates: 2 });
    expect(verdictOf(report({ gates: [failed, unjudged] }))).toMatchObject({ exitCode: 4, failedGates: 1, unjudgedGates: 1 });
    expect(verdictOf(report({ status: 'incomplete', gates: [unjudged, unjudged, unjudged, unjudged] }))).toMatchObject({ exitCode: 3, failedGates: 0, unjudgedGates: 4 });
    expect(failedGateLines([failed, unjudged])).toEqual(['gate failed: x (cli): r', 'gate not judged: x (cli): x is absent']);
  });
  it('does not count findings the scenario expects', () => {
    const r = report({ findings: [finding('socket-growth')], scenario: { name: 't', description: 't', path: null, seed: 1, config: { expectFindings: ['socket-growth'] } } });
    expect(verdictOf(r)).toMatchObject({ exitCode: 0, leaks: 0 });
  });
});
