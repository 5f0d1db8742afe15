import { clock } from '../../clock.js';
import type { UserLedger } from '../ledger.js';
import { loadWrtc, type WrtcTrack, type WrtcVideoSource } from './wrtc.js';

const WIDTH = 320;
const HEIGHT = 180;
const FPS = 15;

/**
 * One user's screen share: a small RTCVideoSource (320x180 I420 at 15 fps) with one frame
 * timer, a track per peer. The timer runs only while some track exists.
 */
export class ScreenSource {
  private source: WrtcVideoSource | null = null;
  private readonly tracks = new Set<WrtcTrack>();
  private timer: NodeJS.Timeout | undefined;
  private readonly frame = new Uint8Array((WIDTH * HEIGHT * 3) / 2);
  private n = 0;
  framesSent = 0;

  constructor(private readonly ledger: UserLedger) {}

  createTrack(): WrtcTrack {
    if (!this.source) {
      this.source = new (loadWrtc().nonstandard.RTCVideoSource)({ isScreencast: true });
      this.ledger.acquire('source');
    }
    const t = this.source.createTrack();
    this.tracks.add(t);
    this.ledger.acquire('track');
    if (!this.timer) {
      this.timer = clock.setInterval(() => this.tick(), Math.round(1000 / FPS));
      this.ledger.acquire('timer');
    }
    return t;
  }

  releaseTrack(t: WrtcTrack): void {
    if (!this.tracks.delete(t)) return;
    t.stop();
    this.ledger.release('track');
    if (this.tracks.size === 0) this.stop();
  }

  private tick(): void {
    // a moving bar: the encoder has something to send on every frame
    const luma = WIDTH * HEIGHT;
    this.frame.fill(16, 0, luma);
    const x = (this.n++ * 8) % WIDTH;
    for (let y = 0; y < HEIGHT; y++) this.frame.fill(235, y * WIDTH + x, y * WIDTH + Math.min(WIDTH, x + 16));
    this.frame.fill(128, luma);
    this.source?.onFrame({ width: WIDTH, height: HEIGHT, data: this.frame });
    this.framesSent++;
  }

  private stop(): void {
    if (this.timer) {
      clock.clearInterval(this.timer);
      this.timer = undefined;
      this.ledger.release('timer');
    }
    if (this.source) {
      this.source = null;
      this.ledger.release('source');
    }
  }

  close(): void {
    for (const t of [...this.tracks]) this.releaseTrack(t);
    this.stop();
  }
}
