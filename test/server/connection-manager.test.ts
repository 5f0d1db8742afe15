import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { MbError } from '../../src/errors.js';
import { allClosed, connect, signUp, startServer, statsHttp, statsUntil, world } from './helpers.js';

describe('connection manager: limits, heartbeat, accounting', () => {
  it('refuses a fourth socket of one user with 4008, all kinds counted together, and counts it rejected', async () => {
    const s = await startServer({ maxPerUser: 3 });
    const w = await world(s);
    const t = w.owner.token;
    const n = await connect(s, '/ws/notifications', t);
    await connect(s, `/ws/chat/${w.serverId}`, t);
    await connect(s, `/ws/voice/${w.voiceChannelId}`, t);
    const fourth = await connect(s, `/ws/chat/${w.serverId}`, t);
    const closed = await fourth.closed;
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/too many connections/);
    await n.close();
    await statsUntil(s, (st) => st.total_connections === 2);
    const again = await connect(s, '/ws/notifications', t);
    again.send({ type: 'ping' });
    await again.next('pong');
    const st = await statsHttp(s);
    expect(st.counters).toMatchObject({ rejected: 1, connections_opened: 4, connections_closed: 1 });
  });

  it('refuses beyond the total limit with 1013', async () => {
    const s = await startServer({ maxPerUser: 2, maxTotal: 3 });
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    await connect(s, '/ws/notifications', w.owner.token);
    await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    await connect(s, '/ws/notifications', bob.token);
    const over = await connect(s, `/ws/chat/${w.serverId}`, bob.token);
    expect((await over.closed).code).toBe(1013);
    expect((await statsHttp(s)).counters).toMatchObject({ rejected: 1, connections_opened: 3 });
  });

  it('reaps a frozen client of every kind within heartbeat × (missed pongs + 1), keeps healthy ones', async () => {
    const heartbeatMs = 150;
    const missedPongs = 2;
    const s = await startServer({ heartbeatMs, missedPongs });
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const healthy = await connect(s, `/ws/voice/${w.voiceChannelId}`, bob.token);
    const frozen = { autoPong: false };
    const sockets = [
      await connect(s, '/ws/notifications', w.owner.token, frozen),
      await connect(s, `/ws/chat/${w.serverId}`, w.owner.token, frozen),
      await connect(s, `/ws/voice/${w.voiceChannelId}`, w.owner.token, frozen),
    ];
    const closes = await Promise.all(sockets.map((x) => x.closed));
    for (const c of closes) expect(c.code).toBe(1006); // terminated, no close frame
    for (const x of sockets) {
      // the bound is 450 ms; the slack covers timer lateness on a loaded 2-core machine
      expect(x.closedAt - x.openedAt).toBeLessThan(heartbeatMs * (missedPongs + 1) + 200);
      expect(x.closedAt - x.openedAt).toBeGreaterThan(heartbeatMs * missedPongs - 50); // not reaped before missing the pongs
    }
    expect(await healthy.next('user_left_voice')).toEqual({ type: 'user_left_voice', user_id: w.owner.id });
    // the healthy socket answers pings and survives further heartbeats
    for (let i = 0; i < missedPongs + 2; i++) await once(healthy.ws, 'ping');
    const st = await statsUntil(s, (x) => x.counters!.reaped === 3);
    expect(st.connections).toEqual([expect.objectContaining({ user_id: bob.id, kind: 'voice' })]);
    expect(st.voice_rooms).toEqual({ [w.voiceChannelId]: [bob.id] });
    expect(Date.parse(st.connections![0]!.last_seen_at)).toBeGreaterThan(Date.parse(st.connections![0]!.connected_at));
  });

  it('returns every count to zero after a mixed session closes', async () => {
    const s = await startServer();
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const socks = [];
    for (const u of [w.owner, bob]) {
      socks.push(await connect(s, '/ws/notifications', u.token));
      socks.push(await connect(s, `/ws/chat/${w.serverId}`, u.token));
      socks.push(await connect(s, `/ws/voice/${w.voiceChannelId}`, u.token));
    }
    await statsUntil(s, (st) => st.total_connections === 6 && st.total_users === 2 && st.active_channels === 2);
    socks[0]!.ws.terminate(); // an abnormal close is accounted for too
    for (const x of socks) await x.close();
    const st = await statsUntil(s, allClosed);
    expect(st).toMatchObject({ total_users: 0, active_channels: 0, users_by_type: { chat: 0, voice: 0, notifications: 0 } });
    expect(st.counters).toMatchObject({ connections_opened: 6, connections_closed: 6, rejected: 0, reaped: 0 });
  });

  it('refuses contradictory options up front and reports a port in use', async () => {
    await expect(createReferenceServer({ maxPerUser: 10, maxTotal: 5 })).rejects.toMatchObject({ code: 'MB_ERR_USAGE' });
    await expect(createReferenceServer({ faults: ['nope'] })).rejects.toMatchObject({ code: 'MB_ERR_USAGE' });
    await expect(createReferenceServer({ faultDelayMs: 10 })).rejects.toMatchObject({ code: 'MB_ERR_USAGE' });
    await expect(createReferenceServer({ heartbeatMs: 0 })).rejects.toBeInstanceOf(MbError);
    const s = await startServer();
    const err = await createReferenceServer({ port: s.port }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MB_ERR_SERVER_START', exitCode: 3 });
    expect((err as Error).message).toMatch(/already in use/);
  });
});
