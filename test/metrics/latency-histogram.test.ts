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
