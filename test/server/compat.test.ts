import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { resolveOptions } from '../../src/server/index.js';
import { api, connect, signUp, startServer, statsHttp, statsUntil, world, TestSocket } from './helpers.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { spawnCli } from '../helpers/cli.js';

/** Opens a socket expecting a refused upgrade; resolves with the HTTP status and the {detail} body. */
function refusedUpgrade(s: Pick<ReferenceServer, 'wsUrl'>, path: string, token: string): Promise<{ status: number; detail: string }> {
  const ws = new WebSocket(`${s.wsUrl}${path}?token=${encodeURIComponent(token)}`);
  onTestFinished(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error(`${path}: the upgrade was accepted`)));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.once('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, detail: (JSON.parse(body) as { detail: string }).detail });
      });
    });
    ws.on('error', () => {});
  });
}

describe('compat v1: a plain Miscord', () => {
  it('defaults to new_message and refuses bad compat and refuse values', () => {
    expect(resolveOptions({ compat: 'v1' }).messageFormat).toBe('new_message');
    expect(resolveOptions({ compat: 'v1', messageFormat: 'message' }).messageFormat).toBe('message');
    expect(resolveOptions().compat).toBeNull();
    expect(resolveOptions().refuse.size).toBe(0);
    expect(() => resolveOptions({ compat: 'v2' as 'v1' })).toThrow(/unknown compat mode "v2"/);
    expect(() => resolveOptions({ refuse: ['video' as 'chat'] })).toThrow(/unknown socket kind "video"/);
  });

  it('stats route: v1 fields only, chat filed under voice, voice sockets not counted; faults still show', async () => {
    const s = await startServer({ compat: 'v1', faults: ['zombie-socket'] });
    const a = await signUp(s);
    const w = await world(s, { members: [a] });
    await connect(s, '/ws/notifications', a.token);
    const chat = await connect(s, `/ws/chat/${w.serverId}`, a.token);
    await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    const voice = await connect(s, `/ws/voice/${w.voiceChannelId}`, a.token);
    await voice.next('participants');
    await statsUntil(s, (st) => st.connections!.length === 4);
    const st = await statsHttp(s);
    expect(Object.keys(st).sort()).toEqual(['active_channels', 'connections_by_type', 'redis_connected', 'total_connections', 'total_users', 'users_by_type']);
    expect(st).toEqual({
      total_users: 2,
      total_connections: 3,
      active_channels: 1,
      users_by_type: { voice: 2, notifications: 1 },
      connections_by_type: { voice: 2, notifications: 1 },
      redis_connected: false,
    });
    // the voice room is still known to the members route
    const members = await api(s, a.token).get(`/api/channels/voice/${w.voiceChannelId}/members`);
    expect(members.body.map((m: { id: number }) => m.id)).toEqual([a.id]);
    // zombie-socket: a closed chat socket stays counted
    await chat.close();
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    expect((await statsHttp(s)).connections_by_type).toEqual({ voice: 2, notifications: 1 });
    // /metrics stays
    expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
  });

  it('answers switch_channel as an unknown type and sends chat as new_message', async () => {
    const s = await startServer({ compat: 'v1' });
    const w = await world(s, { extraText: 1 });
    const sock = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    sock.send({ type: 'switch_channel', text_channel_id: w.textChannels[1] });
    expect(await sock.next('error')).toEqual({ type: 'error', message: 'unknown message type "switch_channel"' });
    sock.send({ type: 'message', content: 'hi', text_channel_id: w.textChannels[1] });
    const m = await sock.next('new_message');
    expect(m.data).toMatchObject({ content: 'hi', text_channel_id: w.textChannels[1], author: { id: w.owner.id } });
    expect(sock.has('channel_switched')).toBe(false);
  });

  it('refuses with an HTTP 403 on the upgrade: bad token, unknown or full voice channel, not a member, limits', async () => {
    const s = await startServer({ compat: 'v1', maxPerUser: 2 });
    const w = await world(s);
    const stranger = await signUp(s);
    expect(await refusedUpgrade(s, `/ws/chat/${w.serverId}`, 'not-a-token')).toEqual({ status: 403, detail: 'invalid or expired token' });
    expect(await refusedUpgrade(s, `/ws/voice/${w.voiceChannelId}`, 'not-a-token')).toMatchObject({ status: 403 });
    expect(await refusedUpgrade(s, '/ws/voice/999', w.owner.token)).toEqual({ status: 403, detail: 'voice channel 999 not found' });
    expect(await refusedUpgrade(s, `/ws/chat/${w.serverId}`, stranger.token)).toEqual({ status: 403, detail: `not a member of server ${w.serverId}` });
    const small = await api(s, w.owner.token).post(`/api/channels/${w.serverId}/voice-channels`, { name: 'Solo', channel_id: w.serverId, max_users: 1 });
    const friend = await signUp(s);
    await api(s, friend.token).post(`/api/channels/${w.serverId}/join`);
    const solo = await connect(s, `/ws/voice/${small.body.id}`, w.owner.token);
    await solo.next('participants');
    expect((await refusedUpgrade(s, `/ws/voice/${small.body.id}`, friend.token)).detail).toMatch(/is full/);
    await connect(s, '/ws/notifications', w.owner.token);
    expect((await refusedUpgrade(s, '/ws/notifications', w.owner.token)).detail).toMatch(/MAX_CONNECTIONS_PER_USER/);
    expect((await statsHttp(s)).total_connections).toBe(1);
    expect(await s.stats()).toMatchObject({ counters: { rejected: 6, connections_opened: 2 } });
  });

  it('sends no ping frames and reaps nothing; notifications get the app-level ping after a silence', async () => {
    const s = await startServer({ compat: 'v1', heartbeatMs: 40, missedPongs: 1 });
    const w = await world(s);
    let frames = 0;
    // neither socket answers ping frames: a heartbeat of [ext] would reap both
    const chat = new TestSocket(`${s.wsUrl}/ws/chat/${w.serverId}?token=${w.owner.token}`, { autoPong: false });
    const notes = new TestSocket(`${s.wsUrl}/ws/notifications?token=${w.owner.token}`, { autoPong: false });
    for (const t of [chat, notes]) {
      await t.opened();
      t.ws.on('ping', () => frames++);
    }
    for (let i = 0; i < 4; i++) {
      await notes.next('ping');
      // the app-level ping is answered, as Miscord's front end does
      notes.send({ type: 'pong' });
    }
    expect(frames).toBe(0);
    expect(chat.ws.readyState).toBe(WebSocket.OPEN);
    expect(notes.ws.readyState).toBe(WebSocket.OPEN);
    expect(await s.stats()).toMatchObject({ counters: { reaped: 0 } });
    expect(chat.has('ping')).toBe(false);
  });
});

describe('refuse: a deployment lacking an endpoint', () => {
  it('answers 403 to every upgrade of a refused kind and serves the others', async () => {
    const s = await startServer({ refuse: ['chat'] });
    const w = await world(s);
    expect(await refusedUpgrade(s, `/ws/chat/${w.serverId}`, w.owner.token)).toEqual({ status: 403, detail: 'Forbidden' });
    const n = await connect(s, '/ws/notifications', w.owner.token);
    n.send({ type: 'ping' });
    await n.next('pong');
    expect(await s.stats()).toMatchObject({ total_connections: 1, counters: { rejected: 1 } });
  });
});

describe('serve --compat v1 --refuse (child process, from the build)', () => {
  it('serves v1 stats and refuses the chat endpoint', async () => {
    const p = spawnCli(['serve', '--port', '0', '--compat', 'v1', '--refuse', 'chat', '--refuse', 'voice']);
    const line = await p.firstLine().catch(() => null);
    expect(line, p.stderr()).toMatch(/^listening http:\/\/127\.0\.0\.1:\d+$/);
    const url = line!.slice('listening '.length);
    const target = { url, wsUrl: url.replace('http', 'ws') };
    const u = await signUp(target);
    await connect(target, '/ws/notifications', u.token);
    expect((await refusedUpgrade(target, '/ws/chat/1', u.token)).status).toBe(403);
    expect((await refusedUpgrade(target, '/ws/voice/1', u.token)).status).toBe(403);
    const st = (await (await fetch(`${url}/api/debug/websocket-stats`)).json()) as Record<string, unknown>;
    expect(st).toMatchObject({ total_connections: 1, connections_by_type: { voice: 0, notifications: 1 } });
    expect(st.connections).toBeUndefined();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('refuses an unknown --compat or --refuse value with exit 2', async () => {
    for (const args of [['--compat', 'v9'], ['--refuse', 'video']]) {
      const p = spawnCli(['serve', '--port', '0', ...args], { stdout: 'ignore' });
      const code = await p.exited;
      const stderr = p.stderr();
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(/v9|video/);
    }
  });
});
