import { clock } from '../../clock.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { UserLedger } from '../ledger.js';
import { ToneDetector } from './tone-detector.js';
import { toneHzFor } from './tone-source.js';
import { loadWrtc, type WrtcAudioSink, type WrtcTrack, type WrtcTransceiver, type WrtcVideoSink } from './wrtc.js';

/** Counting starts this long after ICE connects / the sender becomes audible (pipeline fill). */
const CONNECT_GRACE_MS = 500;
const AUDIBLE_GRACE_MS = 300;

/** What the sinks of one peer connection read from the peer that owns them. */
export interface SinkOwner {
  readonly remoteUserId: number;
  /** when the peer connection was created (first_audio counts from here) */
  readonly createdAt: number;
  readonly ledger: UserLedger;
  readonly metrics: Metrics;
  /** the peer has begun closing: frames and tracks arriving now are ignored */
  isClosed(): boolean;
  /** when ICE first connected (null: not yet) */
  connectedAt(): number | null;
  deafened(): boolean;
  /** since when the remote user has been sending audio we should hear (null: not now) */
  audibleSince(): number | null;
  trace(ev: string, fields: Record<string, unknown>): void;
}

interface SinkEntry {
  kind: 'audio' | 'video';
  sink: WrtcAudioSink | WrtcVideoSink;
  transceiver: WrtcTransceiver;
}

/**
 * The receiving side of one peer connection: an RTCAudioSink or RTCVideoSink per remote track,
 * and the counting of what they hand out. Audio frames are counted expected while the remote
 * should be audible (after the grace periods), received when they carry energy, and with tone
 * when the tone detector finds the remote's tone in their window. Video frames are counted.
 */
export class MediaSinks {
  firstToneAt: number | null = null;
  firstVideoAt: number | null = null;
  readonly audio = { expected: 0, received: 0, withTone: 0, sinkFrames: 0 };
  videoFrames = 0;
  /** set when the remote announced a screen share: screen.first_frame counts from here */
  screenAnnouncedAt: number | null = null;
  /** frames counted received since the tone detector's last window ended */
  private receivedInWindow = 0;
  private readonly sinks = new Map<WrtcTrack, SinkEntry>();

  constructor(private readonly owner: SinkOwner) {}

  /** A remote track arrived: one sink for it (a track seen before is ignored). */
  attach(track: WrtcTrack, transceiver: WrtcTransceiver): void {
    if (this.owner.isClosed() || this.sinks.has(track)) return;
    const { nonstandard } = loadWrtc();
    if (track.kind === 'audio') {
      const sink = new nonstandard.RTCAudioSink(track);
      this.owner.ledger.acquire('sink');
      this.sinks.set(track, { kind: 'audio', sink, transceiver });
      const detector = new ToneDetector(toneHzFor(this.owner.remoteUserId));
      sink.ondata = (d) => this.audioFrame(detector, d.samples, d.sampleRate, d.channelCount ?? 1);
    } else {
      const sink = new nonstandard.RTCVideoSink(track);
      this.owner.ledger.acquire('sink');
      this.sinks.set(track, { kind: 'video', sink, transceiver });
      const from = this.screenAnnouncedAt ?? clock.now();
      sink.onframe = () => {
        this.videoFrames++;
        if (this.firstVideoAt === null) {
          this.firstVideoAt = clock.now();
          this.owner.metrics.record('screen.first_frame', this.firstVideoAt - from);
          this.owner.trace('media.first_video', { ms: Math.round(this.firstVideoAt - from) });
        }
      };
    }
  }

  /** Counts one decoded audio frame of the remote (what an audio sink's ondata hands out). */
  audioFrame(detector: ToneDetector, samples: Int16Array, rate: number, channels: number): void {
    const o = this.owner;
    if (o.isClosed()) return;
    this.audio.sinkFrames++;
    const now = clock.now();
    const { energy, toneFrames, windowDone } = detector.push(samples, rate, channels);
    // a window's tone is credited to the frames of it that were counted received, never more
    const credit = windowDone && toneFrames > 0 ? this.receivedInWindow : 0;
    if (windowDone) this.receivedInWindow = 0;
    if (toneFrames > 0 && this.firstToneAt === null) {
      this.firstToneAt = now;
      o.metrics.record('webrtc.first_audio', now - o.createdAt);
      o.trace('media.first_audio', { ms: Math.round(now - o.createdAt) });
    }
    this.audio.withTone += credit;
    const connectedAt = o.connectedAt();
    if (o.deafened() || connectedAt === null || now - connectedAt < CONNECT_GRACE_MS) return;
    const since = o.audibleSince();
    if (since === null || now - since < AUDIBLE_GRACE_MS) return;
    this.audio.expected++;
    if (!energy) return;
    this.audio.received++;
    // counted now; its window's verdict comes with a later frame (or this one)
    if (!windowDone) this.receivedInWindow++;
    else if (toneFrames > 0) this.audio.withTone++;
  }

  /** After a negotiation: a receiver the remote stopped sending on loses its sink. */
  checkVideo(): void {
    for (const [track, e] of this.sinks) {
      if (e.kind !== 'video') continue;
      const dir = e.transceiver.currentDirection;
      if (dir === 'inactive' || dir === 'sendonly' || dir === 'stopped' || track.readyState === 'ended') this.stop(track, e);
    }
  }

  open(kind?: 'audio' | 'video'): number {
    let n = 0;
    for (const e of this.sinks.values()) if (!kind || e.kind === kind) n++;
    return n;
  }

  /** Stops every sink (the peer is closing). */
  stopAll(): void {
    for (const [track, e] of [...this.sinks]) this.stop(track, e);
  }

  private stop(track: WrtcTrack, e: SinkEntry): void {
    if (!this.sinks.delete(track)) return;
    if (e.kind === 'audio') (e.sink as WrtcAudioSink).ondata = null;
    else (e.sink as WrtcVideoSink).onframe = null;
    e.sink.stop();
    this.owner.ledger.release('sink');
  }
}
