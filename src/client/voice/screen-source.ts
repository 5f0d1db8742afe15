import { clock } from '../../clock.js';
import type { UserLedger } from '../ledger.js';
import { loadWrtc, type WrtcTrack, type WrtcVideoSource } from './wrtc.js';
import { SourceTracks } from './source-tracks.js';

const WIDTH = 320;
const HEIGHT = 180;
const FPS = 15;

/**
 * One user's screen share: a small RTCVideoSource (320x180 I420 at 15 fps) with one frame
 * timer, a track per peer. The timer runs only while some track exists.
 */
export class ScreenSource {
  private readonly tracks: SourceTracks<WrtcVideoSource>;
  private timer: NodeJS.Timeout | undefined;
  /** made on the first frame: a session nobody shares a screen in never holds the 86,400 bytes */
  private frame: Uint8Array | null = null;
  private n = 0;
  framesSent = 0;

  constructor(private readonly ledger: UserLedger) {
    this.tracks = new SourceTracks(ledger, () => new (loadWrtc().nonstandard.RTCVideoSource)({ isScreencast: true }));
  }

  createTrack(): WrtcTrack {
    const t = this.tracks.create();
    if (!this.timer) {
      this.timer = clock.setInterval(() => this.tick(), Math.round(1000 / FPS));
      this.ledger.acquire('timer');
    }
    return t;
  }

  releaseTrack(t: WrtcTrack): void {
    if (this.tracks.release(t) && this.tracks.size === 0) this.close();
  }

  private tick(): void {
    // a moving bar: the encoder has something to send on every frame
    const luma = WIDTH * HEIGHT;
    const frame = (this.frame ??= new Uint8Array((luma * 3) / 2));
    frame.fill(16, 0, luma);
    const x = (this.n++ * 8) % WIDTH;
    for (let y = 0; y < HEIGHT; y++) frame.fill(235, y * WIDTH + x, y * WIDTH + Math.min(WIDTH, x + 16));
    frame.fill(128, luma);
    this.tracks.source?.onFrame({ width: WIDTH, height: HEIGHT, data: frame });
    this.framesSent++;
  }

  /** Stops the frame timer, every track and the source. */
  close(): void {
    if (this.timer) {
      clock.clearInterval(this.timer);
      this.timer = undefined;
      this.ledger.release('timer');
    }
    this.frame = null;
    this.tracks.close();
  }
}
