import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { VoiceSession } from '../../../src/client/voice/voice-session.js';
import { useVoiceFixture, waitUntil } from './voice-fixture.js';

// Issue 18: a voice soak must not keep what a left session held. wrtc frees a peer
// connection's native side (its threads' buffers, the encoder, the sinks) only when the JS
// object is collected, so one reference kept anywhere retains megabytes outside the heap.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects until every ref is gone or `timeoutMs` passes (wrtc drops its last handles on a later tick). */
async function collected(refs: Array<WeakRef<object>>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    gc();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    if (alive === 0 || Date.now() - start > timeoutMs) return alive;
    await new Promise((r) => setImmediate(r));
  }
}

describe('a left voice session is released', () => {
  const fx = useVoiceFixture(3);

  it('its sessions, peers, peer connections and sinks all become garbage after leave', async () => {
    const refs: Record<'session' | 'peer' | 'pc' | 'sinks', Array<WeakRef<object>>> = { session: [], peer: [], pc: [], sinks: [] };
    const cycle = async () => {
      // built here, not through fx.session (which keeps its sessions to leave them at the end)
      const sessions = fx.users.map((u) => new VoiceSession({ env: fx.env, identity: u.identity, ledger: u.ledger, roomId: fx.voiceChannelId, statsIntervalMs: 200 }));
      for (const s of sessions) expect((await s.join()).ok).toBe(true);
      const peers = () => sessions.flatMap((s) => [...s.peers.values()]);
      await waitUntil(() => peers().length === 6 && peers().every((p) => p.firstToneAt !== null && p.stats !== null), 20_000, 'a mesh of three with tone and stats');
      for (const s of sessions) refs.session.push(new WeakRef(s));
      for (const p of peers()) {
        refs.peer.push(new WeakRef(p));
        refs.pc.push(new WeakRef((p as unknown as { pc: object }).pc));
        refs.sinks.push(new WeakRef(p.media));
      }
      await Promise.all(sessions.map((s) => s.leave({ finalStats: true })));
    };
    await cycle();
    await cycle();
    for (const u of fx.users) for (const [k, r] of Object.entries(u.ledger.resources)) expect(r.released, k).toBe(r.created);
    expect(refs.pc).toHaveLength(12);
    const alive = await collected(Object.values(refs).flat(), 10_000);
    const left = Object.fromEntries(Object.entries(refs).map(([k, v]) => [k, v.filter((r) => r.deref() !== undefined).length]));
    expect(alive, JSON.stringify(left)).toBe(0);
  });
});
