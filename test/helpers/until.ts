/**
 * The one poller of the test suite, for state that has no event to await (a server's counts,
 * a file descriptor table, a process table): `until(fn, { what })` resolves with the first
 * truthy value `fn` returns, checked now and then every `intervalMs`, and fails after
 * `timeoutMs` with a message naming what it waited for (and, when `fn` keeps a last value
 * worth showing, `detail()` of it).
 */
export interface UntilOptions<T> {
  /** what the test waits for, as the failure will name it */
  what: string;
  /** generous by default: the suite must pass beside a one-core CPU hog */
  timeoutMs?: number;
  intervalMs?: number;
  /** the last value seen, for the failure message */
  detail?: (last: T | undefined) => string;
}

export async function until<T>(fn: () => T | Promise<T>, opts: UntilOptions<T>): Promise<NonNullable<T>> {
  const { what, timeoutMs = 10_000, intervalMs = 10, detail } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `: ${detail(v)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Polls `read` until `pred` holds of its value; resolves with that value (the failure shows the last one). */
export async function valueUntil<T>(read: () => Promise<T>, pred: (v: T) => boolean, opts: UntilOptions<T>): Promise<T> {
  let last: T | undefined;
  await until(
    async () => {
      last = await read();
      return pred(last);
    },
    { ...opts, detail: () => (opts.detail ? opts.detail(last) : JSON.stringify(last)) },
  );
  return last as T;
}

/**
 * Waiting on a condition without polling: `until(pred)` resolves once `pred` holds, checked
 * now and again whenever the code under watch calls `changed()` (on each event it records).
 */
export function conditions(): { changed(): void; until(pred: () => boolean): Promise<void> } {
  const listeners = new Set<() => void>();
  return {
    changed: () => listeners.forEach((l) => l()),
    until: (pred) =>
      new Promise<void>((resolve) => {
        const check = () => pred() && (listeners.delete(check), resolve());
        listeners.add(check);
        check();
      }),
  };
}
