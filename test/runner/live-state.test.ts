import { describe, it, expect } from 'vitest';
import { UserLedger } from '../../src/client/ledger.js';
import { countsOf, type StatsReading } from '../../src/protocol/stats-reading.js';
import type { StatsResponse } from '../../src/protocol/messages.js';
import { buildLiveView, liveViewSource } from '../../src/runner/live-state.js';
import { formatLiveState } from '../../src/cli/format-live-state.js';
import { createReferenceServer } from '../../src/server/reference-server.js';
import { createServer } from 'node:net';
import { once } from 'node:events';

function ledgers(): UserLedger[] {
  const a = new UserLedger(0, 'mb-run-0');
  a.userId = 10;
  const n = a.socketOpening('notifications', null);
  a.socketOpened(n);
  const c1 = a.socketOpening('chat', 1);
  a.socketOpened(c1);
  a.socketClosing(c1);
  a.socketClosed(c1, { code: 1000, by: 'client' });
  const c2 = a.socketOpening('chat', 1);
  a.socketOpened(c2);
  c2.textChannelId = 3;
  const b = new UserLedger(1, 'mb-run-1');
  b.userId = 11;
  const v = b.socketOpening('voice', 7);
  b.socketOpened(v);
  v.frozen = true;
  const p = b.peerCreated(10, 7);
  p.iceState = 'connected';
  p.connectionState = 'connected';
  b.acquire('sink', 2);
  b.acquire('track');
  return [b, a];
}

function stats(extra: Partial<StatsResponse> = {}): StatsReading {
  const s: StatsResponse = {
    total_users: 2,
    total_connections: 4,
    active_channels: 2,
    users_by_type: {},
    connections_by_type: {},
    redis_connected: false,
    connections: [
      { id: 1, user_id: 10, kind: 'notifications', channel_id: null, connected_at: '', last_seen_at: '' },
      { id: 2, user_id: 10, kind: 'chat', channel_id: 1, connected_at: '', last_seen_at: '' },
      { id: 3, user_id: 10, kind: 'chat', channel_id: 1, connected_at: '', last_seen_at: '' }, // the zombie
      { id: 4, user_id: 11, kind: 'voice', channel_id: 7, connected_at: '', last_seen_at: '' },
    ],
    voice_rooms: { '7': [11] },
    ...extra,
  };
  return { stats: s, ext: true, counts: countsOf(s), at: 0 };
}

describe('buildLiveView / formatLiveState', () => {
  it('lists every user with its live sockets, peers and media, and the totals client beside server', () => {
    const view = buildLiveView({ ledgers: ledgers(), stats: stats(), phase: 'switch', elapsedMs: 12_300 });
    expect(view.users.map((u) => u.index)).toEqual([0, 1]);
    expect(view.users[0]!.sockets.map((s) => s.id)).toEqual(['u0-notifications-1', 'u0-chat-3']);
    expect(view.users[0]!.serverSockets).toBe(3);
    expect(view.users[1]).toMatchObject({ sinks: 2, tracks: 1, sources: 0, serverSockets: 1 });
    expect(view.users[1]!.peers).toEqual([{ remoteUserId: 10, roomId: 7, iceState: 'connected', connectionState: 'connected' }]);
    expect(view.totals.client).toEqual({ total: 3, chat: 1, voice: 1, notifications: 1, peers: 1 });
    expect(view.totals.server).toEqual({ total: 4, chat: 2, voice: 1, notifications: 1 });

    const text = formatLiveState(view);
    expect(text).toMatch(/^miscord-bench live state {2}phase switch {2}elapsed 12\.3s {2}users 2\n/);
    expect(text).toMatch(/ {2}total +3 +4 !\n/);
    expect(text).toMatch(/ {2}chat +1 +2 !\n/);
    expect(text).toMatch(/ {2}voice +1 +1\n/);
    expect(text).toContain('u0 #10 mb-run-0  sockets 2 (server 3 !)  peers 0');
    expect(text).toMatch(/u0-chat-3 +chat +ch 1\/3 +open/);
    expect(text).not.toContain('u0-chat-2'); // closed sockets are history, not state
    expect(text).toMatch(/u1-voice-1 +voice +ch 7 +open frozen/);
    expect(text).toContain('peer -> #10 room 7  ice connected  conn connected');
    expect(text).toContain('tracks 1 sources 0 sinks 2');
  });

  it('says n/a when the server cannot be read, and caps long user lists with notable users first', () => {
    const many = Array.from({ length: 5 }, (_, i) => {
      const l = new UserLedger(i, `u-${i}`);
      const s = l.socketOpening('chat', 1);
      l.socketOpened(s);
      if (i === 4) s.abandoned = true;
      return l;
    });
    const text = formatLiveState(buildLiveView({ ledgers: many, stats: null }), { maxUsers: 2 });
    expect(text).toMatch(/ {2}total +5 +n\/a\n/);
    expect(text.indexOf('u4 #?')).toBeGreaterThan(0);
    expect(text.indexOf('u4 #?')).toBeLessThan(text.indexOf('u0 #?'));
    expect(text).toContain('… 3 more users not shown');
  });
});

describe('liveViewSource', () => {
  it("reads the server's stats on demand beside the ledgers, and shows n/a when the server does not answer", async () => {
    const server = await createReferenceServer({ port: 0 });
    try {
      const view = await liveViewSource({ ledgers: () => ledgers(), httpUrl: server.url, phase: () => 'chat#1', startedAt: 0 })();
      expect(view.phase).toBe('chat#1');
      expect(view.totals.serverExt).toBe(true);
      expect(view.totals.server).toEqual({ total: 0, chat: 0, voice: 0, notifications: 0 });
      expect(view.users.map((u) => u.serverSockets)).toEqual([0, 0]);
      expect(formatLiveState(view)).toMatch(/ {2}total +3 +0 !\n/);
    } finally {
      await server.close();
    }

    // a port that accepts nothing: connection refused, the view still comes back
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = await liveViewSource({ ledgers: () => ledgers(), httpUrl: `http://127.0.0.1:${port}`, statsTimeoutMs: 1000 })();
    expect(down.totals.server).toBeNull();
    expect(formatLiveState(down)).toMatch(/ {2}total +3 +n\/a\n/);
  });
});
