import { describe, it, expect } from 'vitest';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';

describe('LatencyHistogram', () => {
  it('keeps what was recorded through encode and decode', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 .. 100 ms
    const e = h.encode();
    expect(e.count).toBe(1000);
    expect(e.p50).toBeCloseTo(50, 0);
    expect(e.max).toBeCloseTo(100, 0);
    const back = LatencyHistogram.decode(e);
    expect(back.summary()).toEqual(h.summary());
  });

  it('merges encoded parts exactly', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 500; i++) {
      a.record(i);
      all.record(i);
      b.record(1000 + i);
      all.record(1000 + i);
    }
    const merged = LatencyHistogram.merge([a.encode(), b.encode()]);
    expect(merged.summary()).toEqual(all.summary());
  });
});

describe('LatencyHistogram min and max', () => {
  it('report the same values live and after a round trip', () => {
    const h = new LatencyHistogram();
    h.record(2.139);
    h.record(5);
    const back = LatencyHistogram.decode(h.encode());
    expect(back.summary().min).toBe(h.summary().min);
    expect(back.summary().max).toBe(h.summary().max);
  });
});

describe('LatencyHistogram live reads (sum, stat, clone, subtract)', () => {
  it('keeps the exact sum as it records, counts it from the buckets once decoded, and reads one statistic like summary()', () => {
    const h = new LatencyHistogram();
    for (const v of [1, 2, 3, 4, 100]) h.record(v);
    expect(h.sum()).toBeCloseTo(110, 6);
    expect(h.stat('count')).toBe(5);
    expect(h.stat('mean')).toBeCloseTo(22, 6);
    const s = h.summary();
    for (const k of ['min', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) expect(h.stat(k)).toBe(s[k]);
    // decoded: the sum comes from bucket-equivalent values, within HDR's 3 digits
    const d = LatencyHistogram.decode(h.encode());
    expect(d.sum()).toBeCloseTo(110, 0);
    expect(Math.abs(d.sum() - 110) / 110).toBeLessThan(1e-3);
    expect(new LatencyHistogram().stat('p99')).toBe(0);
  });

  it('a clone is a snapshot; subtracting it leaves what was recorded since', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 10; i++) h.record(500);
    const snap = h.clone();
    for (let i = 0; i < 20; i++) h.record(5);
    expect(snap.count).toBe(10);
    const since = h.clone().subtract(snap);
    expect(since.count).toBe(20);
    expect(since.stat('max')).toBeLessThan(6);
    expect(since.sum()).toBeCloseTo(100, 6);
    expect(h.count).toBe(30);
  });
});
