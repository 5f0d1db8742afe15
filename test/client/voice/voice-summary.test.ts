import { describe, expect, it } from 'vitest';
import { VoiceTally, summariseVoice } from '../../../src/client/voice/voice-summary.js';
import type { PairSummary } from '../../../src/client/voice/voice-peer.js';

/** A recorded pair: room, local -> remote, frames, and stats when `n` is odd. */
function pair(roomId: number, local: number, remote: number, n: number): PairSummary {
  return {
    roomId,
    localUserId: local,
    remoteUserId: remote,
    audioFramesExpected: 100 + n,
    audioFramesReceived: 90 + n,
    audioFramesWithTone: 80 + n,
    toneDetected: n % 3 !== 0,
    videoFramesReceived: n,
    stats: n % 2
      ? { at: n, audioPacketsLost: n, audioPacketsReceived: 50, jitter: 0.001 * n, rtt: n % 4 === 1 ? 0.002 * n : null, bytesSent: 1000 * n, bytesReceived: 900 * n, concealedSamples: n, totalSamplesReceived: 4800, videoFramesReceived: 0, videoPacketsReceived: 0 }
      : null,
  };
}

/** The section as summarised before folding (every pair kept, then summed): the oracle. */
function reference(pairs: PairSummary[]) {
  const sum = (ps: PairSummary[]) => {
    const mean = (a: number[]) => (a.length ? Math.round((a.reduce((x, y) => x + y, 0) / a.length) * 1000) / 1000 : null);
    const st = ps.flatMap((p) => (p.stats ? [p.stats] : []));
    const total = (f: (s: NonNullable<PairSummary['stats']>) => number) => st.reduce((n, s) => n + f(s), 0);
    const samples = total((s) => s.totalSamplesReceived);
    return {
      members: new Set(ps.flatMap((p) => [p.localUserId, p.remoteUserId])).size,
      pairs: new Set(ps.map((p) => `${p.roomId}:${Math.min(p.localUserId, p.remoteUserId)}-${Math.max(p.localUserId, p.remoteUserId)}`)).size,
      audioFramesExpected: ps.reduce((n, p) => n + p.audioFramesExpected, 0),
      audioFramesReceived: ps.reduce((n, p) => n + p.audioFramesReceived, 0),
      tonesDetected: new Set(ps.filter((p) => p.toneDetected).map((p) => `${p.roomId}:${p.remoteUserId}->${p.localUserId}`)).size,
      videoFramesReceived: ps.reduce((n, p) => n + p.videoFramesReceived, 0),
      packetsLost: total((s) => s.audioPacketsLost),
      jitterMs: mean(st.filter((s) => s.jitter !== null).map((s) => s.jitter! * 1000)),
      rttMs: mean(st.filter((s) => s.rtt !== null).map((s) => s.rtt! * 1000)),
      bytesSent: total((s) => s.bytesSent),
      bytesReceived: total((s) => s.bytesReceived),
      concealedRatio: samples > 0 ? Math.round((total((s) => s.concealedSamples) / samples) * 1e6) / 1e6 : null,
    };
  };
  const ids = [...new Set(pairs.map((p) => p.roomId))].sort((a, b) => a - b);
  return { rooms: ids.map((roomId) => ({ roomId, ...sum(pairs.filter((p) => p.roomId === roomId)) })), totals: sum(pairs) };
}

// cycles of a soak: the same rooms and users over and over, as a voice soak does
const cycles = (k: number) => Array.from({ length: k }, (_, c) => [pair(1, 10, 11, c), pair(1, 11, 10, c + 1), pair(2, 12, 13, c + 2), pair(2, 13, 12, c + 3)]);

describe('VoiceTally', () => {
  it('folds ended pairs into the same section as summarising every pair', () => {
    const all = cycles(30).flat();
    const t = new VoiceTally();
    for (const p of all) t.add(p);
    expect(t.summary()).toEqual(reference(all));
    expect(summariseVoice([{ pairs: () => all }])).toEqual(reference(all));
    expect(t.summary()!.totals).toMatchObject({ members: 4, pairs: 2, audioFramesExpected: all.reduce((n, p) => n + p.audioFramesExpected, 0) });
  });

  it('adds live sessions on top without folding them in', () => {
    const [ended, live] = [cycles(5).flat(), cycles(1).flat().map((p) => ({ ...p, roomId: 3 }))];
    const t = new VoiceTally();
    for (const p of ended) t.add(p);
    const before = t.summary();
    const withLive = t.summary([{ pairs: () => live }]);
    expect(withLive).toEqual(reference([...ended, ...live]));
    expect(withLive!.rooms.map((r) => r.roomId)).toEqual([1, 2, 3]);
    expect(t.summary()).toEqual(before);
    expect(t.count).toBe(ended.length);
  });

  it('is null with no pairs at all', () => {
    expect(new VoiceTally().summary([{ pairs: () => [] }])).toBeNull();
    expect(summariseVoice([])).toBeNull();
  });
});
