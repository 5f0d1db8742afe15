/**
 * `pc.close()` in wrtc is synchronous and slow under load (seconds for hundreds of peers,
 * all on the event loop). Closes go through this queue, one per macrotask, so a mass
 * leave never blocks timers, sinks and sockets for its whole length.
 */
let tail: Promise<void> = Promise.resolve();

export function closeQueue(fn: () => void): Promise<void> {
  const run = (): Promise<void> =>
    new Promise((resolve) =>
      setImmediate(() => {
        try {
          fn();
        } finally {
          resolve();
        }
      }),
    );
  const p = tail.then(run, run);
  tail = p;
  return p;
}
