import type { Report, VoiceRoom } from '../../report/schema.js';
import type { PairSummary } from './voice-peer.js';

/** Anything that can list the pairs it held: a VoiceSession, or recorded data in tests. */
export interface PairSource {
  pairs(): PairSummary[];
}

type Totals = Omit<VoiceRoom, 'roomId'>;

/** The running sums of one room's pairs (or all rooms'): bounded by the users, not the pairs. */
class PairTally {
  readonly members = new Set<number>();
  readonly unordered = new Set<string>();
  readonly toned = new Set<string>();
  expected = 0;
  received = 0;
  video = 0;
  lost = 0;
  sent = 0;
  recv = 0;
  concealed = 0;
  samples = 0;
  jitterSum = 0;
  jitterN = 0;
  rttSum = 0;
  rttN = 0;

  add(p: PairSummary): void {
    this.members.add(p.localUserId);
    this.members.add(p.remoteUserId);
    this.unordered.add(`${p.roomId}:${Math.min(p.localUserId, p.remoteUserId)}-${Math.max(p.localUserId, p.remoteUserId)}`);
    if (p.toneDetected) this.toned.add(`${p.roomId}:${p.remoteUserId}->${p.localUserId}`);
    this.expected += p.audioFramesExpected;
    this.received += p.audioFramesReceived;
    this.video += p.videoFramesReceived;
    const s = p.stats;
    if (!s) return;
    this.lost += s.audioPacketsLost;
    this.sent += s.bytesSent;
    this.recv += s.bytesReceived;
    this.concealed += s.concealedSamples;
    this.samples += s.totalSamplesReceived;
    if (s.jitter !== null) (this.jitterSum += s.jitter * 1000), this.jitterN++;
    if (s.rtt !== null) (this.rttSum += s.rtt * 1000), this.rttN++;
  }

  clone(): PairTally {
    return Object.assign(new PairTally(), this, { members: new Set(this.members), unordered: new Set(this.unordered), toned: new Set(this.toned) });
  }

  totals(): Totals {
    const mean = (sum: number, n: number) => (n ? Math.round((sum / n) * 1000) / 1000 : null);
    return {
      members: this.members.size,
      pairs: this.unordered.size,
      audioFramesExpected: this.expected,
      audioFramesReceived: this.received,
      tonesDetected: this.toned.size,
      videoFramesReceived: this.video,
      packetsLost: this.lost,
      jitterMs: mean(this.jitterSum, this.jitterN),
      rttMs: mean(this.rttSum, this.rttN),
      bytesSent: this.sent,
      bytesReceived: this.recv,
      concealedRatio: this.samples > 0 ? Math.round((this.concealed / this.samples) * 1e6) / 1e6 : null,
    };
  }
}

/**
 * The voice section folded as pairs end (issue 18: a voice soak keeps sums, not every pair of
 * every cycle): per room and in all, members, pairs, tones, frames, bytes, and the sums behind
 * the mean jitter and RTT.
 */
export class VoiceTally {
  private readonly rooms = new Map<number, PairTally>();
  private all = new PairTally();
  /** pairs folded in */
  count = 0;

  add(p: PairSummary): void {
    let room = this.rooms.get(p.roomId);
    if (!room) this.rooms.set(p.roomId, (room = new PairTally()));
    room.add(p);
    this.all.add(p);
    this.count++;
  }

  /** The report's `voice` section: what was folded, with the pairs of `sessions` on top (not kept). null when there were none. */
  summary(sessions: Iterable<PairSource> = []): Report['voice'] {
    let view: VoiceTally = this;
    for (const s of sessions) {
      for (const p of s.pairs()) {
        if (view === this) view = this.clone();
        view.add(p);
      }
    }
    if (view.count === 0) return null;
    const rooms = [...view.rooms].sort(([a], [b]) => a - b).map(([roomId, t]) => ({ roomId, ...t.totals() }));
    return { rooms, totals: view.all.totals() };
  }

  private clone(): VoiceTally {
    const c = new VoiceTally();
    for (const [id, t] of this.rooms) c.rooms.set(id, t.clone());
    c.all = this.all.clone();
    c.count = this.count;
    return c;
  }
}

/**
 * The report's `voice` section from every voice session of the run (left ones included:
 * their closed pairs are kept). null when the run had no voice.
 */
export function summariseVoice(sessions: Iterable<PairSource>): Report['voice'] {
  return new VoiceTally().summary(sessions);
}
