import type { Report, VoiceRoom } from '../../report/schema.js';
import type { PairSummary } from './voice-peer.js';

/** Anything that can list the pairs it held: a VoiceSession, or recorded data in tests. */
export interface PairSource {
  pairs(): PairSummary[];
}

type Totals = Omit<VoiceRoom, 'roomId'>;

function summarise(pairs: PairSummary[]): Totals {
  const members = new Set<number>();
  const unordered = new Set<string>();
  const toned = new Set<string>();
  let expected = 0;
  let received = 0;
  let video = 0;
  let lost = 0;
  let sent = 0;
  let recv = 0;
  let concealed = 0;
  let samples = 0;
  const jitters: number[] = [];
  const rtts: number[] = [];
  for (const p of pairs) {
    members.add(p.localUserId);
    members.add(p.remoteUserId);
    unordered.add(`${p.roomId}:${Math.min(p.localUserId, p.remoteUserId)}-${Math.max(p.localUserId, p.remoteUserId)}`);
    if (p.toneDetected) toned.add(`${p.roomId}:${p.remoteUserId}->${p.localUserId}`);
    expected += p.audioFramesExpected;
    received += p.audioFramesReceived;
    video += p.videoFramesReceived;
    const s = p.stats;
    if (!s) continue;
    lost += s.audioPacketsLost;
    sent += s.bytesSent;
    recv += s.bytesReceived;
    concealed += s.concealedSamples;
    samples += s.totalSamplesReceived;
    if (s.jitter !== null) jitters.push(s.jitter * 1000);
    if (s.rtt !== null) rtts.push(s.rtt * 1000);
  }
  const mean = (a: number[]) => (a.length ? Math.round((a.reduce((x, y) => x + y, 0) / a.length) * 1000) / 1000 : null);
  return {
    members: members.size,
    pairs: unordered.size,
    audioFramesExpected: expected,
    audioFramesReceived: received,
    tonesDetected: toned.size,
    videoFramesReceived: video,
    packetsLost: lost,
    jitterMs: mean(jitters),
    rttMs: mean(rtts),
    bytesSent: sent,
    bytesReceived: recv,
    concealedRatio: samples > 0 ? Math.round((concealed / samples) * 1e6) / 1e6 : null,
  };
}

/**
 * The report's `voice` section from every voice session of the run (left ones included:
 * their closed pairs are kept). null when the run had no voice.
 */
export function summariseVoice(sessions: Iterable<PairSource>): Report['voice'] {
  const all: PairSummary[] = [];
  for (const s of sessions) all.push(...s.pairs());
  if (all.length === 0) return null;
  const byRoom = new Map<number, PairSummary[]>();
  for (const p of all) {
    let list = byRoom.get(p.roomId);
    if (!list) byRoom.set(p.roomId, (list = []));
    list.push(p);
  }
  const rooms = [...byRoom].sort(([a], [b]) => a - b).map(([roomId, pairs]) => ({ roomId, ...summarise(pairs) }));
  return { rooms, totals: summarise(all) };
}
