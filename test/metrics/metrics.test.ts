import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';
import { Metrics } from '../../src/metrics/metrics.js';

describe('Metrics', () => {
  it('counts: inc by one or by n, get 0 for a counter never touched, counterObject sorted by name', () => {
    const m = new Metrics();
    m.inc('chat.sent');
    m.inc('chat.sent', 4);
    m.inc('a.first', 2);
    expect(m.get('chat.sent')).toBe(5);
    expect(m.get('never')).toBe(0);
    expect(Object.keys(m.counterObject())).toEqual(['a.first', 'chat.sent']);
    expect(m.counterObject()).toEqual({ 'a.first': 2, 'chat.sent': 5 });
  });

  it('records into one histogram per name, created on first use, and encodes them sorted so they decode to the same counts', () => {
    const m = new Metrics();
    for (const ms of [1, 2, 3, 100]) m.record('ws.connect.chat', ms);
    m.record('http.login', 7);
    expect(m.histogram('ws.connect.chat')).toBe(m.histograms.get('ws.connect.chat'));
    const enc = m.encodeHistograms();
    expect(Object.keys(enc)).toEqual(['http.login', 'ws.connect.chat']);
    expect(LatencyHistogram.decode(enc['ws.connect.chat']!).count).toBe(4);
    expect(LatencyHistogram.decode(enc['http.login']!).count).toBe(1);
  });
});
