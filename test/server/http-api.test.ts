import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SignJWT } from 'jose';
import { api, signUp, startServer, world } from './helpers.js';

describe('HTTP routes', () => {
  it('registers, logs in with the OAuth2 form and answers /me', async () => {
    const s = await startServer();
    const r = await api(s).post('/api/auth/register', { username: 'ann', email: 'ann@example.com', password: 'pw' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 1, username: 'ann', email: 'ann@example.com', is_active: true, is_online: false });
    expect(typeof r.body.created_at).toBe('string');
    expect(r.body.password).toBeUndefined();

    const dup = await api(s).post('/api/auth/register', { username: 'ann', email: 'other@example.com', password: 'pw' });
    expect(dup).toEqual({ status: 400, body: { detail: 'Username or email already registered' } });
    const dupMail = await api(s).post('/api/auth/register', { username: 'ann2', email: 'ANN@example.com', password: 'pw' });
    expect(dupMail.status).toBe(400);

    const login = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'ann', password: 'pw' }) });
    expect(login.status).toBe(200);
    const tok = (await login.json()) as { access_token: string; token_type: string };
    expect(tok.token_type).toBe('bearer');
    const [, payload] = tok.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims.sub).toBe('1');
    expect(typeof claims.exp).toBe('number');

    const bad = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'ann', password: 'nope' }) });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ detail: 'Incorrect username or password' });
    const nobody = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'zed', password: 'pw' }) });
    expect(nobody.status).toBe(401);

    expect((await api(s, tok.access_token).get('/api/auth/me')).body).toMatchObject({ id: 1, username: 'ann' });
    expect(await api(s).get('/api/auth/me')).toEqual({ status: 401, body: { detail: 'Could not validate credentials' } });
    expect((await api(s, 'garbage').get('/api/auth/me')).status).toBe(401);
  });

  it('refuses invalid bodies, special-use email domains, wrong media types and oversized bodies', async () => {
    const s = await startServer({ maxBodyBytes: 1024 });
    for (const email of ['a@b.test', 'a@host.invalid', 'a@box.local', 'not-an-email', 'a@localhost']) {
      const r = await api(s).post('/api/auth/register', { username: 'x', email, password: 'pw' });
      expect(r.status, email).toBe(422);
      expect(r.body.detail[0].loc).toEqual(['body', 'email']);
    }
    const missing = await api(s).post('/api/auth/register', { username: 5 });
    expect(missing.status).toBe(422);
    expect(missing.body.detail.map((d: { loc: string[] }) => d.loc[1]).sort()).toEqual(['email', 'password', 'username']);
    const raw = (body: string, type: string) =>
      fetch(`${s.url}/api/auth/register`, { method: 'POST', headers: { 'content-type': type }, body }).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect((await raw('{nope', 'application/json')).status).toBe(422);
    expect((await raw('[1,2]', 'application/json')).status).toBe(422);
    expect((await raw('username=x', 'text/plain')).status).toBe(415);
    const big = await raw(JSON.stringify({ username: 'x'.repeat(2000), email: 'a@example.com', password: 'pw' }), 'application/json');
    expect(big).toEqual({ status: 413, body: { detail: 'Request body too large (limit 1024 bytes)' } });
    const jsonLogin = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(jsonLogin.status).toBe(415);
    const emptyForm = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'a' }) });
    expect(emptyForm.status).toBe(422);
  });

  it('refuses expired tokens and tokens signed with another secret', async () => {
    const secret = 'test-secret-123456';
    const s = await startServer({ jwtSecret: secret });
    const u = await signUp(s);
    const key = new TextEncoder().encode(secret);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(String(u.id)).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(String(u.id)).setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-xx'));
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(String(u.id)).sign(key);
    for (const t of [expired, foreign, noExp]) expect((await api(s, t).get('/api/auth/me')).status).toBe(401);
    expect((await api(s, u.token).get('/api/auth/me')).status).toBe(200);
  });

  it('creates servers with general + General, lists, joins and guards membership', async () => {
    const s = await startServer();
    const owner = await signUp(s);
    const other = await signUp(s);
    const created = await api(s, owner.token).post('/api/channels/', { name: 'Guild', description: 'd' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: 1, name: 'Guild', description: 'd', owner_id: owner.id });
    expect((await api(s).post('/api/channels/', { name: 'x' })).status).toBe(401);
    expect((await api(s, owner.token).post('/api/channels/', {})).status).toBe(422);

    const got = await api(s, owner.token).get('/api/channels/1');
    expect(got.body).toMatchObject({ id: 1, type: 'server', owner_id: owner.id });
    expect(got.body.channels).toEqual([
      { id: 1, name: 'general', type: 'text', position: 0, channel_id: 1 },
      { id: 1, name: 'General', type: 'voice', position: 0, max_users: 10, channel_id: 1 },
    ]);
    expect((await api(s, owner.token).get('/api/channels/')).body.map((x: { id: number }) => x.id)).toEqual([1]);
    expect((await api(s, other.token).get('/api/channels/')).body).toEqual([]);
    expect((await api(s, other.token).get('/api/channels/1')).status).toBe(403);
    expect((await api(s, other.token).get('/api/channels/99')).status).toBe(404);
    expect((await api(s, other.token).get('/api/channels/abc')).status).toBe(422);

    expect((await api(s, other.token).post('/api/channels/1/join')).status).toBe(200);
    expect((await api(s, other.token).post('/api/channels/1/join')).status).toBe(400);
    expect((await api(s, other.token).post('/api/channels/9/join')).status).toBe(404);
    expect((await api(s, other.token).get('/api/channels/1')).status).toBe(200);
  });

  it('creates text and voice channels for the owner only, with channel_id in the body', async () => {
    const s = await startServer();
    const w = await world(s);
    const member = await signUp(s);
    await api(s, member.token).post(`/api/channels/${w.serverId}/join`);
    const own = api(s, w.owner.token);
    const t = await own.post(`/api/channels/${w.serverId}/text-channels`, { name: 'random', channel_id: w.serverId });
    expect(t).toEqual({ status: 200, body: { id: 2, name: 'random', channel_id: w.serverId, position: 1, type: 'text' } });
    const v = await own.post(`/api/channels/${w.serverId}/voice-channels`, { name: 'Lounge', channel_id: w.serverId, max_users: 2, position: 5 });
    expect(v.body).toMatchObject({ id: 2, name: 'Lounge', channel_id: w.serverId, position: 5, max_users: 2 });
    expect((await own.post(`/api/channels/${w.serverId}/text-channels`, { name: 'x' })).status).toBe(422);
    expect((await own.post(`/api/channels/${w.serverId}/text-channels`, { name: 'x', channel_id: 77 })).status).toBe(400);
    expect((await api(s, member.token).post(`/api/channels/${w.serverId}/text-channels`, { name: 'x', channel_id: w.serverId })).status).toBe(403);
    expect((await api(s, member.token).post(`/api/channels/${w.serverId}/voice-channels`, { name: 'x', channel_id: w.serverId })).status).toBe(403);
    expect((await own.post(`/api/channels/42/voice-channels`, { name: 'x', channel_id: 42 })).status).toBe(404);
  });

  it('serves voice members from the store, health, stats, metrics, 404 and 405', async () => {
    const s = await startServer();
    const w = await world(s);
    const outsider = await signUp(s);
    expect(await api(s, w.owner.token).get(`/api/channels/voice/${w.voiceChannelId}/members`)).toEqual({ status: 200, body: [] });
    expect((await api(s, outsider.token).get(`/api/channels/voice/${w.voiceChannelId}/members`)).status).toBe(403);
    expect((await api(s, w.owner.token).get('/api/channels/voice/99/members')).status).toBe(404);
    expect(await api(s).get('/health')).toEqual({ status: 200, body: { status: 'healthy' } });
    const st = await api(s).get('/api/debug/websocket-stats');
    expect(st.body).toMatchObject({
      total_users: 0,
      total_connections: 0,
      active_channels: 0,
      users_by_type: { chat: 0, voice: 0, notifications: 0 },
      connections_by_type: { chat: 0, voice: 0, notifications: 0 },
      redis_connected: false,
      connections: [],
      voice_rooms: {},
      counters: { connections_opened: 0, connections_closed: 0, rejected: 0, reaped: 0 },
      config: { heartbeat_ms: 30000, missed_pongs: 2, max_per_user: 3, max_total: 1000 },
    });
    expect(st.body.process.rss_bytes).toBeGreaterThan(0);
    expect(st.body.process.open_fds).toBeGreaterThan(0);
    expect(st.body.process.open_handles).toBeGreaterThan(0);
    const m = await fetch(`${s.url}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await m.text();
    expect(text).toMatch(/miscord_connections\{kind="chat"\} 0/);
    expect(text).toMatch(/miscord_connections_rejected_total 0/);
    expect(text).toMatch(/miscord_http_requests_total\{route="stats",status="200"\} 1/);
    expect(await api(s).get('/nope')).toEqual({ status: 404, body: { detail: 'Not Found' } });
    expect((await api(s).post('/health')).status).toBe(405);
  });

  it('drops a half-sent request after headersTimeout instead of hanging', async () => {
    const s = await startServer({ headersTimeoutMs: 150, requestTimeoutMs: 300 });
    const sock = netConnect(s.port, '127.0.0.1');
    onTestFinished(() => void sock.destroy());
    await once(sock, 'connect');
    sock.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // never finishes the headers
    let data = '';
    sock.on('data', (d) => (data += d));
    await once(sock, 'close');
    expect(data).toMatch(/^HTTP\/1\.1 408/);
    expect((await api(s).get('/health')).status).toBe(200);
  });
});
