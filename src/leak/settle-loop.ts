import { clock, delay } from '../clock.js';

/**
 * Polls a source until its answer is consistent with what the client expects (twice in a
 * row), or until `settleMs` runs out. A healthy server settles within two polls; a leaking
 * one costs the whole period, which is the price of never mistaking a lag for a leak (a
 * fixed short wait was Miscord's own bug).
 */
export interface SettleOptions<R> {
  poll: () => Promise<R>;
  /** true when the reading agrees with the client view (nothing left to wait for) */
  consistent: (r: R) => boolean;
  /** a fingerprint of the reading: equal fingerprints mean the counts did not move */
  fingerprint: (r: R) => string;
  settleMs: number;
  pollMs: number;
  /** same fingerprint this many polls in a row counts as stable (default 3) */
  stablePolls?: number;
  signal?: AbortSignal;
}

export interface Settled<R> {
  reading: R;
  /** time spent polling */
  settledMs: number;
  /** consistent, or unchanged for `stablePolls` polls at the end */
  stable: boolean;
  consistent: boolean;
  polls: number;
}

export async function settle<R>(o: SettleOptions<R>): Promise<Settled<R>> {
  const t0 = clock.now();
  const need = o.stablePolls ?? 3;
  let polls = 0;
  let agree = 0;
  let same = 0;
  let lastFp: string | null = null;
  for (;;) {
    o.signal?.throwIfAborted();
    const reading = await o.poll();
    polls++;
    const fp = o.fingerprint(reading);
    same = fp === lastFp ? same + 1 : 1;
    lastFp = fp;
    const ok = o.consistent(reading);
    agree = ok ? agree + 1 : 0;
    const elapsed = clock.now() - t0;
    if (agree >= 2 || elapsed >= o.settleMs) {
      return { reading, settledMs: Math.round(elapsed), stable: ok || same >= need, consistent: ok, polls };
    }
    await delay(Math.min(o.pollMs, Math.max(0, o.settleMs - elapsed)), o.signal);
  }
}
