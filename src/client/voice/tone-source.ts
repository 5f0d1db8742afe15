import { clock } from '../../clock.js';
import type { UserLedger } from '../ledger.js';
import { loadWrtc, type WrtcAudioSource, type WrtcTrack } from './wrtc.js';
import { SourceTracks } from './source-tracks.js';

export const SAMPLE_RATE = 48_000;
export const FRAME_SAMPLES = 480; // 10 ms at 48 kHz
const FRAME_MS = 10;
const AMPLITUDE = 8000;
/** catch-up cap: a stalled event loop must not flood the encoder with a burst */
const MAX_FRAMES_PER_TICK = 10;

/** The tone of simulated user `index`: distinct for up to 40 users, all multiples of 20 Hz. */
export function toneHzFor(index: number): number {
  return 300 + 40 * (index % 40);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Precomputes the frames of one whole number of periods: every tone here is a multiple of
 * 20 Hz, so its period divides 2400 samples and at most 5 distinct frames ever go out.
 */
function buildFrames(hz: number): Int16Array[] {
  const period = SAMPLE_RATE / gcd(SAMPLE_RATE, Math.round(hz));
  const total = (period * FRAME_SAMPLES) / gcd(period, FRAME_SAMPLES);
  const frames: Int16Array[] = [];
  for (let f = 0; f < total / FRAME_SAMPLES; f++) {
    const s = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) s[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * hz * (f * FRAME_SAMPLES + i)) / SAMPLE_RATE));
    frames.push(s);
  }
  return frames;
}

/**
 * One user's microphone: a single RTCAudioSource and a single feeder timer shared by every
 * peer's track. While not sending (muted, or silent in talk-spurt mode) the timer stops and
 * nothing is fed, which is what costs least; a real muted client sends next to nothing too.
 */
export class ToneSource {
  readonly hz: number;
  private readonly tracks: SourceTracks<WrtcAudioSource>;
  private readonly frames: Int16Array[];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private fed = 0;
  private next = 0;
  private closed = false;
  /** frames handed to the source since creation (all tracks share them) */
  framesSent = 0;

  constructor(
    private readonly ledger: UserLedger,
    hz: number,
  ) {
    this.hz = hz;
    this.frames = buildFrames(hz);
    this.tracks = new SourceTracks(ledger, () => new (loadWrtc().nonstandard.RTCAudioSource)());
  }

  get sending(): boolean {
    return this.timer !== undefined;
  }

  /** A new track for one peer connection; the caller gives it back with `releaseTrack`. */
  createTrack(): WrtcTrack {
    if (this.closed) throw new Error('tone source closed');
    return this.tracks.create();
  }

  releaseTrack(t: WrtcTrack): void {
    this.tracks.release(t);
  }

  /** Starts or stops feeding the tone; idempotent. */
  setSending(on: boolean): void {
    if (this.closed) return;
    if (on && !this.timer) {
      this.startedAt = clock.now();
      this.fed = 0;
      this.timer = clock.setInterval(() => this.feed(), FRAME_MS);
      this.ledger.acquire('timer');
    } else if (!on && this.timer) {
      clock.clearInterval(this.timer);
      this.timer = undefined;
      this.ledger.release('timer');
    }
  }

  private feed(): void {
    const source = this.tracks.source;
    if (!source) return;
    // feed what wall time says is due, so a late timer does not slow the audio clock down
    const due = Math.floor((clock.now() - this.startedAt) / FRAME_MS) - this.fed;
    const n = Math.min(due, MAX_FRAMES_PER_TICK);
    for (let i = 0; i < n; i++) {
      const samples = this.frames[this.next]!;
      this.next = (this.next + 1) % this.frames.length;
      source.onData({ samples, sampleRate: SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME_SAMPLES });
    }
    this.framesSent += n;
    this.fed += due; // frames beyond the cap are dropped, not owed
  }

  /** Stops the timer, every track and the source. */
  close(): void {
    if (this.closed) return;
    this.setSending(false);
    this.tracks.close();
    this.closed = true;
  }
}
