import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Bounds negotiations in flight per process. Starting many at once makes every peer gather
 * candidates again (10x the fds here); about 5 at a time is no slower and stays sane.
 */
export type NegotiationLimiter = LimitFunction;

const shared = new Map<number, NegotiationLimiter>();

/** One limiter per concurrency value, shared by every session of the process. */
export function negotiationLimiter(concurrency = 5): NegotiationLimiter {
  let l = shared.get(concurrency);
  if (!l) shared.set(concurrency, (l = pLimit(concurrency)));
  return l;
}
