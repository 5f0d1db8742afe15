import { describe, expect, it } from 'vitest';
import { clock } from '../../../src/clock.js';
import { UserLedger } from '../../../src/client/ledger.js';
import { MediaSinks, type SinkOwner } from '../../../src/client/voice/media-sinks.js';
import { ToneDetector } from '../../../src/client/voice/tone-detector.js';
import { FRAME_SAMPLES, SAMPLE_RATE, toneHzFor } from '../../../src/client/voice/tone-source.js';
import { Metrics } from '../../../src/metrics/metrics.js';

// Tone counting without wrtc: the frames an audio sink would hand out (10 ms at 48 kHz, the
// detector's window is 40 ms = 4 frames), fed straight to MediaSinks.audioFrame.
const REMOTE = 5;

function frame(hz: number, n: number, amp = 8000): Int16Array {
  const s = new Int16Array(FRAME_SAMPLES);
  for (let i = 0; i < FRAME_SAMPLES; i++) s[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * (n * FRAME_SAMPLES + i)) / SAMPLE_RATE));
  return s;
}

/** A peer connected and audible for a long time (grace periods over), unless told otherwise. */
function setup(over: Partial<{ connectedAt: number | null; audibleSince: number | null; deafened: boolean; closed: boolean }> = {}) {
  const state = { connectedAt: clock.now() - 10_000, audibleSince: clock.now() - 10_000, deafened: false, closed: false, ...over };
  const metrics = new Metrics();
  const traces: string[] = [];
  const owner: SinkOwner = {
    remoteUserId: REMOTE,
    createdAt: clock.now() - 20_000,
    ledger: new UserLedger(0, 'u0'),
    metrics,
    isClosed: () => state.closed,
    connectedAt: () => state.connectedAt,
    deafened: () => state.deafened,
    audibleSince: () => state.audibleSince,
    trace: (ev) => traces.push(ev),
  };
  const media = new MediaSinks(owner);
  const detector = new ToneDetector(toneHzFor(REMOTE));
  let n = 0;
  const feed = (frames: number, hz = toneHzFor(REMOTE), amp = 8000) => {
    for (let i = 0; i < frames; i++, n++) media.audioFrame(detector, frame(hz, n, amp), SAMPLE_RATE, 1);
  };
  return { state, metrics, traces, media, feed };
}

describe('MediaSinks tone counting', () => {
  it("counts the remote's tone expected, received and with tone, frame for frame", () => {
    const { media, feed, metrics, traces } = setup();
    feed(40);
    expect(media.audio).toEqual({ expected: 40, received: 40, withTone: 40, sinkFrames: 40 });
    expect(media.firstToneAt).not.toBeNull();
    expect(metrics.histogram('webrtc.first_audio').count).toBe(1);
    expect(traces.filter((t) => t === 'media.first_audio')).toHaveLength(1);
  });

  it("receives a neighbour's tone but never credits it as the remote's", () => {
    const { media, feed } = setup();
    feed(40, toneHzFor(REMOTE + 1));
    expect(media.audio).toEqual({ expected: 40, received: 40, withTone: 0, sinkFrames: 40 });
    expect(media.firstToneAt).toBeNull();
  });

  it('counts silence as expected, not received', () => {
    const { media, feed } = setup();
    feed(20, toneHzFor(REMOTE), 0);
    expect(media.audio).toEqual({ expected: 20, received: 0, withTone: 0, sinkFrames: 20 });
  });

  it('expects nothing before ICE connects, while deafened, or while the remote is not audible', () => {
    for (const over of [{ connectedAt: null }, { connectedAt: clock.now() + 60_000 }, { deafened: true }, { audibleSince: null }, { audibleSince: clock.now() + 60_000 }]) {
      const { media, feed } = setup(over);
      feed(20);
      expect(media.audio, JSON.stringify(over)).toEqual({ expected: 0, received: 0, withTone: 0, sinkFrames: 20 });
      // the tone was there all the same: first_audio is about arrival, not counting
      expect(media.firstToneAt).not.toBeNull();
    }
  });

  it("credits a window's tone only to its frames that were counted received", () => {
    const { media, feed, state } = setup({ deafened: true });
    feed(2); // half a window while deafened: not counted
    state.deafened = false;
    feed(2); // the window ends with 4 tone frames, 2 of them counted
    expect(media.audio).toEqual({ expected: 2, received: 2, withTone: 2, sinkFrames: 4 });
    feed(4);
    expect(media.audio).toEqual({ expected: 6, received: 6, withTone: 6, sinkFrames: 8 });
    expect(media.audio.withTone).toBeLessThanOrEqual(media.audio.received);
  });

  it('counts a window only when it completes', () => {
    const { media, feed } = setup();
    feed(3);
    expect(media.audio).toEqual({ expected: 3, received: 3, withTone: 0, sinkFrames: 3 });
    feed(1);
    expect(media.audio.withTone).toBe(4);
  });

  it('counts nothing once the peer is closing, and has no sinks without tracks', () => {
    const { media, feed, state } = setup();
    feed(4);
    state.closed = true;
    feed(8);
    expect(media.audio).toEqual({ expected: 4, received: 4, withTone: 4, sinkFrames: 4 });
    expect(media.open()).toBe(0);
    media.stopAll(); // nothing to stop: no throw, no ledger change
  });
});
