import { describe, expect, it } from 'vitest';
import { clock, delay } from '../src/clock.js';

describe('delay', () => {
  it('resolves after the time on the clock', async () => {
    const t0 = clock.now();
    await delay(30);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(29);
  });

  it('rejects with the signal’s reason when aborted, before or while it waits, and its timer is gone', async () => {
    const before = new AbortController();
    before.abort(new Error('already'));
    await expect(delay(10_000, before.signal)).rejects.toThrow('already');
    const during = new AbortController();
    const p = delay(10_000, during.signal);
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    during.abort(new Error('stopped'));
    await expect(p).rejects.toThrow('stopped');
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(timers - 1);
  });
});
