import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { liveMeasures } from '../../src/runner/live-measures.js';

describe('liveMeasures', () => {
  it('summarises every histogram with samples, passes the counters, and counts findings by class', () => {
    const m = new Metrics();
    for (let ms = 1; ms <= 100; ms++) m.record('chat.deliver', ms);
    m.histogram('voice.join');
    m.inc('chat.sent', 3);
    const r = liveMeasures(m, [{ class: 'zombie-socket' }, { class: 'zombie-socket' }, { class: 'slow-deregister' }]);
    expect(Object.keys(r.latency!)).toEqual(['chat.deliver']);
    const d = r.latency!['chat.deliver']!;
    expect(d.count).toBe(100);
    expect(d.sum).toBeCloseTo(5050, -1);
    expect(d.p50).toBeGreaterThanOrEqual(49);
    expect(d.p50).toBeLessThanOrEqual(51);
    expect(d.p50).toBeLessThanOrEqual(d.p90);
    expect(d.p90).toBeLessThanOrEqual(d.p95);
    expect(d.p95).toBeLessThanOrEqual(d.p99);
    expect(d.p99).toBeLessThanOrEqual(d.max);
    expect(d.max).toBeCloseTo(100, -1);
    expect(r.counters).toEqual({ 'chat.sent': 3 });
    expect(r.findings).toEqual({ 'zombie-socket': 2, 'slow-deregister': 1 });
  });
});
