import { clock } from '../clock.js';

/** Gives a pooled connection back; idempotent. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release | null) => void;
  timer: NodeJS.Timeout;
}

/**
 * The pooled-resource fault's connection pool (think of a database pool of fixed size with no
 * overflow, as SQLAlchemy's QueuePool): `acquire` takes a connection, or waits up to `stallMs`
 * for one to be released (first come, first served) and gives up with null. Each open
 * notifications socket holds one for its lifetime, so enough idle sockets starve the routes.
 * `close()` fails every waiter at once, so a shutdown never waits out a stall.
 */
export class FaultPool {
  private inUse = 0;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(
    readonly size: number,
    readonly stallMs: number,
  ) {}

  acquire(): Promise<Release | null> {
    if (this.closed) return Promise.resolve(null);
    if (this.inUse < this.size) {
      this.inUse++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const w: Waiter = {
        grant: resolve,
        timer: clock.setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          resolve(null);
        }, this.stallMs),
      };
      this.waiters.push(w);
    });
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next && !this.closed) {
        // the connection goes straight to the first waiter
        clock.clearTimeout(next.timer);
        next.grant(this.releaser());
        return;
      }
      this.inUse--;
    };
  }

  /** Connections held, and requests waiting for one. */
  get state(): { size: number; in_use: number; waiting: number } {
    return { size: this.size, in_use: this.inUse, waiting: this.waiters.length };
  }

  /** Fails every waiter now and every later acquire (shutdown). Idempotent. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clock.clearTimeout(w.timer);
      w.grant(null);
    }
  }
}
