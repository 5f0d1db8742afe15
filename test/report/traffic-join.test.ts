import { describe, expect, it } from 'vitest';
import { ShardTraffic } from '../../src/client/shard-traffic.js';
import { clockCorrection, joinTraffic } from '../../src/report/traffic-join.js';

describe('joinTraffic: deliveries that cross shards, counted at the merge', () => {
  it('expects a message on every subscribed socket of the other shard, and tells delivered, excused, lost and unexpected apart', () => {
    const s0 = new ShardTraffic({ index: 0, count: 2 }, 'mb-r-', 10_000);
    const s1 = new ShardTraffic({ index: 1, count: 2 }, 'mb-r-', 10_000);
    s0.messageSent(2, 1, 10, 1000);
    s0.messageSent(4, 1, 10, 1200);
    s0.messageUnsent(4); // never went out: expected nowhere
    s1.subscribed(7, 1, null, 900); // every channel of server 1: delivered
    s1.foreignReceipt(7, 2, 30);
    s1.subscribed(8, 1, 11, 900); // another channel: not expected, its receipt is unexpected
    s1.foreignReceipt(8, 2, 30);
    s1.subscribed(9, 1, 10, 900); // closed by the client after the send: excused
    s1.unsubscribed(9, 1500);
    s1.excused(9, 1500);
    s1.subscribed(10, 1, 10, 900); // dropped by the server, never received it: lost
    s1.unsubscribed(10, 1500);
    s1.subscribed(11, 1, 10, 900); // switched away long after the timeout: still lost
    s1.excused(11, 1000 + 10_000 + 1);
    s1.subscribed(12, 2, null, 900); // another server
    s1.subscribed(13, 1, 10, 1001); // subscribed after the send
    const j = joinTraffic([s0.record(), s1.record()]);
    expect({ expected: j.expected, delivered: j.delivered, excused: j.excused, lost: j.lost, unexpected: j.unexpected }).toEqual({ expected: 4, delivered: 1, excused: 1, lost: 2, unexpected: 1 });
    expect(j.latency.count).toBe(1);
    expect(j.latency.percentile(50)).toBeCloseTo(30, 1);
    expect(j.maxCorrectionMs).toBe(0);
  });

  it('moves send times and latencies by the smallest clock correction the round-trip bounds allow', () => {
    // overlapping bounds: the clocks agree within what was measured
    expect(clockCorrection({ lowMs: -1, highMs: 1, samples: 5 }, { lowMs: 0, highMs: 2, samples: 5 })).toBe(0);
    expect(clockCorrection({ lowMs: null, highMs: null, samples: 0 }, { lowMs: 50, highMs: 51, samples: 5 })).toBe(0);
    // s0's clock is 99 to 101 ms behind s1's: its times read 99 ms later on s1's clock
    const s0 = new ShardTraffic({ index: 0, count: 2 }, 'mb-r-', 10_000);
    const s1 = new ShardTraffic({ index: 1, count: 2 }, 'mb-r-', 10_000);
    s0.clockSample(0, 100.5, 1); // target − s0 in [99.5, 101.5]
    s1.clockSample(0, 0, 1); // target − s1 in [-1, 1]
    expect(clockCorrection(s0.record().clock, s1.record().clock)).toBeCloseTo(98.5, 6);
    s0.messageSent(2, 1, 10, 1000);
    s1.subscribed(7, 1, null, 1050); // after the send on s0's clock, before it on s1's
    s1.foreignReceipt(7, 2, 150); // s1's receipt clock − s0's send clock
    const j = joinTraffic([s0.record(), s1.record()]);
    expect(j.expected).toBe(1);
    expect(j.delivered).toBe(1);
    expect(j.latency.percentile(50)).toBeCloseTo(51.5, 0);
    expect(j.maxCorrectionMs).toBeCloseTo(98.5, 6);
  });
});
