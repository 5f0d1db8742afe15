import { describe, expect, it } from 'vitest';
import { combineSamples, mergeTimelines } from '../../src/report/merge-timeline.js';
import type { TimelineSample } from '../../src/report/schema.js';

function s(t: number, clientTotal: number, serverTotal: number | null, extra: Partial<TimelineSample> = {}): TimelineSample {
  return {
    t,
    phase: 'chat',
    users: 2,
    client: { total: clientTotal, chat: clientTotal, voice: 0, notifications: 0 },
    server: serverTotal === null ? null : { total: serverTotal, chat: serverTotal, voice: 0, notifications: 0 },
    peers: 1,
    messagesPerSec: 10,
    deliveriesPerSec: 20,
    errorsPerSec: 0,
    eventLoopDelayMs: 3,
    ...extra,
  };
}

describe('combineSamples', () => {
  it('adds the client figures; the server takes the max of one shared server, or the sum of separate ones', () => {
    const xs = [s(0, 4, 10, { phase: 'chat', eventLoopDelayMs: 2, serverRssBytes: 100 }), s(0, 6, 12, { phase: 'voice', eventLoopDelayMs: 9, serverRssBytes: 300 })];
    const max = combineSamples(5000, xs, 'max');
    expect(max).toMatchObject({ t: 5000, phase: 'chat/voice', users: 4, client: { total: 10, chat: 10 }, server: { total: 12 }, peers: 2, messagesPerSec: 20, deliveriesPerSec: 40, eventLoopDelayMs: 9, serverRssBytes: 300 });
    const sum = combineSamples(5000, xs, 'sum');
    expect(sum.server).toMatchObject({ total: 22, chat: 22 });
    expect(sum.serverRssBytes).toBe(400);
  });

  it('has no server figures when no part read its server, and leaves out optional figures no part has', () => {
    const c = combineSamples(0, [s(0, 1, null), s(0, 2, null)], 'max');
    expect(c.server).toBeNull();
    expect('serverRssBytes' in c).toBe(false);
  });
});

describe('mergeTimelines', () => {
  it('returns a lone part that starts with the run as it is', () => {
    const samples = [s(0, 1, 1), s(1000, 2, 2)];
    expect(mergeTimelines([{ startMs: 10_000, samples }], 10_000, 'max')).toBe(samples);
  });

  it('aligns parts on wall time in 1 s buckets from the earliest start', () => {
    const a = { startMs: 10_000, samples: [s(0, 1, 5), s(1000, 1, 5), s(2000, 1, 5)] };
    // started 1 s later: its t=0 is the run's 1000
    const b = { startMs: 11_000, samples: [s(0, 2, 7), s(1000, 2, 7)] };
    const m = mergeTimelines([a, b], 10_000, 'max');
    expect(m.map((x) => [x.t, x.client.total, x.server?.total])).toEqual([
      [0, 1, 5],
      [1000, 3, 7],
      [2000, 3, 7],
    ]);
  });

  it('repeats a part’s last sample for a bucket it missed within its span, never beyond it', () => {
    const a = { startMs: 0, samples: [s(0, 1, 1), s(2000, 1, 1), s(3000, 1, 1)] };
    const b = { startMs: 0, samples: [s(0, 10, 1), s(1000, 10, 1)] };
    const m = mergeTimelines([a, b], 0, 'sum');
    // a missed bucket 1: its 0 s sample stands in; b ended at 1 s and adds nothing after
    expect(m.map((x) => x.client.total)).toEqual([11, 11, 1, 1]);
    expect(mergeTimelines([{ startMs: 0, samples: [] }, { startMs: 5, samples: [] }], 0, 'max')).toEqual([]);
  });
});
