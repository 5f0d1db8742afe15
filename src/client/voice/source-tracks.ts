import type { UserLedger } from '../ledger.js';
import type { WrtcTrack } from './wrtc.js';

/**
 * A wrtc source made on first use and the tracks made from it (one per peer connection),
 * each counted in the user's ledger. wrtc sources have no stop(): a source goes with its tracks.
 */
export class SourceTracks<S extends { createTrack(): WrtcTrack }> {
  private src: S | null = null;
  private readonly tracks = new Set<WrtcTrack>();

  constructor(
    private readonly ledger: UserLedger,
    private readonly make: () => S,
  ) {}

  /** the source, or null before the first track and after `close` */
  get source(): S | null {
    return this.src;
  }

  get size(): number {
    return this.tracks.size;
  }

  create(): WrtcTrack {
    if (!this.src) {
      this.src = this.make();
      this.ledger.acquire('source');
    }
    const t = this.src.createTrack();
    this.tracks.add(t);
    this.ledger.acquire('track');
    return t;
  }

  /** Stops one of our tracks; false when it is not ours (or was released already). */
  release(t: WrtcTrack): boolean {
    if (!this.tracks.delete(t)) return false;
    t.stop();
    this.ledger.release('track');
    return true;
  }

  /** Stops every track and drops the source. */
  close(): void {
    for (const t of [...this.tracks]) this.release(t);
    if (this.src) {
      this.src = null;
      this.ledger.release('source');
    }
  }
}
