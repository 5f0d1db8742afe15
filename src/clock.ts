/**
 * The one clock of the bench and the reference server. Everything time-dependent reads
 * time and schedules timers through `clock`: the one place fake time would go in.
 */
export interface Clock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /** Wall-clock milliseconds since the epoch. */
  wall(): number;
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(t: NodeJS.Timeout | undefined): void;
  setInterval(fn: () => void, ms: number): NodeJS.Timeout;
  clearInterval(t: NodeJS.Timeout | undefined): void;
}

export const clock: Clock = {
  now: () => performance.now(),
  wall: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (t) => clearInterval(t),
};

const TIME_ORIGIN = performance.timeOrigin; // a getter that calls into C++ each time: read once

/**
 * Wall-clock ms with sub-ms precision, comparable across processes on one machine: the
 * process's time origin plus the clock's monotonic now (a message's intended send time).
 */
export const wallNow = (): number => TIME_ORIGIN + clock.now();

/** Resolves after `ms` on the current clock; rejects with the signal's reason if aborted. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
