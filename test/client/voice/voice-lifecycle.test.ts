import { describe, expect, it } from 'vitest';
import { VoiceSession } from '../../../src/client/voice/voice-session.js';
import type { UserIdentity } from '../../../src/client/client-env.js';
import type { UserLedger } from '../../../src/client/ledger.js';
import { openFds, threads, useVoiceFixture, waitUntil } from './voice-fixture.js';

describe('voice lifecycle', () => {
  const fx = useVoiceFixture(3, { heartbeatMs: 300, missedPongs: 1 });
  const live = new Set<VoiceSession>();

  const session = (u: { identity: UserIdentity; ledger: UserLedger }, extra: Partial<ConstructorParameters<typeof VoiceSession>[0]> = {}) => {
    const s = fx.session(u, extra);
    live.add(s);
    return s;
  };
  const leave = async (...ss: VoiceSession[]) => {
    await Promise.all(ss.map((s) => s.leave({ finalStats: false })));
    for (const s of ss) live.delete(s);
  };
  const meshed = (ss: VoiceSession[]) => () => ss.every((s) => s.peers.size === ss.length - 1 && [...s.peers.values()].every((p) => p.firstToneAt !== null));


  it('records refusals: a bad token (4001) and an unknown room (4004)', async () => {
    const [u] = fx.users;
    const bad = session({ identity: { ...u!.identity, token: 'garbage' }, ledger: u!.ledger });
    const r1 = await bad.join();
    expect(r1).toMatchObject({ ok: false, refusal: { code: 4001 } });
    const missing = session(u!, { roomId: 987654 });
    const r2 = await missing.join();
    expect(r2).toMatchObject({ ok: false, refusal: { code: 4004 } });
    expect(fx.metrics.get('refusals.4001')).toBe(1);
    expect(fx.metrics.get('refusals.4004')).toBe(1);
    const refused = [...u!.ledger.sockets.values()].filter((s) => s.state === 'refused');
    expect(refused.map((s) => s.closeCode).sort()).toEqual([4001, 4004]);
    await leave(bad, missing);
    expect(u!.ledger.resources.source.created).toBe(0); // a refused join creates no media
  });

  it('leave and rejoin builds fresh peers and nothing stale survives', async () => {
    const [a, b, c] = fx.users.map((u) => session(u)) as [VoiceSession, VoiceSession, VoiceSession];
    for (const s of [a, b, c]) expect((await s.join()).ok).toBe(true);
    await waitUntil(meshed([a, b, c]), 20_000, 'mesh of three');
    const oldPeersOfA = [...a.peers.values()];
    const bId = b.userId;

    await leave(b);
    // user_left_voice closes that peer on both remaining members
    await waitUntil(() => !a.peers.has(bId) && !c.peers.has(bId), 10_000, 'peers to the leaver closed');
    expect(a.view().remoteUserIds).toEqual([c.userId]);

    const b2 = session(fx.users[1]!);
    expect((await b2.join()).ok).toBe(true);
    await waitUntil(meshed([a, b2, c]), 20_000, 'mesh after rejoin');
    const newPeerOfA = a.peers.get(bId)!;
    expect(oldPeersOfA).not.toContain(newPeerOfA);
    expect(newPeerOfA.rec.closedAt).toBeUndefined();
    const ledgerB = fx.users[1]!.ledger;
    expect(ledgerB.peersCreated).toBe(4);
    expect(ledgerB.openPeers()).toHaveLength(2);
    // the old pair's summary is kept for the report
    expect(a.history.filter((p) => p.remoteUserId === bId)).toHaveLength(1);

    // a second tab of c: signaling only; the others ignore the duplicate join
    const c2 = session(fx.users[2]!, { media: false });
    const r = await c2.join();
    expect(r).toMatchObject({ ok: true });
    await waitUntil(() => fx.metrics.get('voice.duplicate_join') >= 2, 5000, 'duplicate join seen');
    expect(c2.peers.size).toBe(0);
    expect(a.peers.get(c.userId)?.closed).toBe(false);
    const peerAC = a.peers.get(c.userId);
    // closing the second tab makes the others drop their peer to c (keyed by user id);
    // c's main tab hears its own leave echoed and builds the pairs again
    await leave(c2);
    await waitUntil(() => a.peers.get(c.userId) !== peerAC && meshed([a, b2, c])(), 20_000, 'mesh rebuilt after the second tab left');
    expect(fx.metrics.get('voice.self_left_echo')).toBe(1);

    await leave(a, b2, c);
    for (const u of fx.users) {
      expect(u.ledger.openPeers()).toHaveLength(0);
      for (const [k, res] of Object.entries(u.ledger.resources)) expect(res.released, k).toBe(res.created);
    }
  });

  it('a frozen session stops answering pings and the server reaps it', async () => {
    const [u] = fx.users;
    const s = session(u!, { media: false });
    expect((await s.join()).ok).toBe(true);
    s.freeze();
    await waitUntil(() => s.state === 'dropped', 10_000, 'server reaping the frozen socket');
    const rec = [...u!.ledger.sockets.values()].at(-1)!;
    expect(rec.frozen).toBe(true);
    expect(rec.closedBy).toBe('server');
    await leave(s);
  });

  it('twenty join/leave cycles leave no peer open and fds and threads flat', async () => {
    const [ua, ub] = fx.users;
    const cycle = async () => {
      const a = session(ua!);
      const b = session(ub!);
      expect((await a.join()).ok).toBe(true);
      expect((await b.join()).ok).toBe(true);
      await waitUntil(meshed([a, b]), 15_000, 'pair meshed');
      await leave(a, b);
    };
    await cycle(); // wrtc starts its global threads on first use
    const fds0 = openFds();
    const threads0 = threads();
    const samples: Array<[number, number]> = [];
    for (let i = 0; i < 20; i++) {
      await cycle();
      samples.push([openFds(), threads()]);
    }
    for (const u of [ua!, ub!]) {
      expect(u.ledger.openPeers()).toHaveLength(0);
      expect(u.ledger.peersCreated).toBe(u.ledger.peersClosed);
      for (const [k, res] of Object.entries(u.ledger.resources)) expect(res.released, k).toBe(res.created);
    }
    // judge the trend: the last cycles are no higher than the first ones, within a little slack
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const firstFds = mean(samples.slice(0, 5).map((s) => s[0]));
    const lastFds = mean(samples.slice(-5).map((s) => s[0]));
    const lastThreads = mean(samples.slice(-5).map((s) => s[1]));
    expect(lastFds - firstFds).toBeLessThan(3);
    expect(lastFds - fds0).toBeLessThan(6);
    expect(lastThreads - threads0).toBeLessThan(4);
  });
});
