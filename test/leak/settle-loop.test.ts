import { describe, it, expect } from 'vitest';
import { settle } from '../../src/leak/settle-loop.js';
import { clock } from '../../src/clock.js';

describe('settle', () => {
  it('returns as soon as the reading agrees twice in a row', async () => {
    let n = 0;
    const s = await settle({ poll: async () => ++n, consistent: (r) => r >= 3, fingerprint: String, settleMs: 5000, pollMs: 5 });
    expect(s).toMatchObject({ reading: 4, consistent: true, stable: true, polls: 4 });
    expect(s.settledMs).toBeLessThan(2000);
  });

  it('polls for the whole period when it never agrees, and says whether it was stable', async () => {
    const t0 = clock.now();
    const s = await settle({ poll: async () => 7, consistent: () => false, fingerprint: String, settleMs: 150, pollMs: 20 });
    expect(clock.now() - t0).toBeGreaterThanOrEqual(145);
    expect(s).toMatchObject({ consistent: false, stable: true });
    expect(s.polls).toBeGreaterThan(3);
    let i = 0;
    const moving = await settle({ poll: async () => i++, consistent: () => false, fingerprint: String, settleMs: 60, pollMs: 10 });
    expect(moving.stable).toBe(false);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const p = settle({ poll: async () => 1, consistent: () => false, fingerprint: String, settleMs: 60_000, pollMs: 10, signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});
