import { describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import { createLogger } from '../../src/log.js';
import { Store, messageCost, HISTORY_LIMIT } from '../../src/server/store.js';
import { SERVE_OPTIONS } from '../../src/server/options.js';
import { api, connect, signUp, startServer, world, type TestUser } from './helpers.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { until } from '../helpers/until.js';

/** Writes `text` raw and resolves with everything the server wrote until it closed the socket. */
async function rawExchange(s: ReferenceServer, text: string): Promise<string> {
  const sock: Socket = netConnect(s.port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  let out = '';
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => (out += d));
  const closed = once(sock, 'close');
  sock.write(text);
  await closed;
  return out;
}

async function up(s: ReferenceServer): Promise<void> {
  const h = await fetch(`${s.url}/health`);
  expect(h.status).toBe(200);
  expect(await h.json()).toEqual({ status: 'healthy' });
}

async function metric(s: ReferenceServer, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const m = text.split('\n').find((l) => pattern.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

function register(s: ReferenceServer, username: string, email = `u${Math.random().toString(36).slice(2)}@example.com`) {
  return api(s).post('/api/auth/register', { username, email, password: 'secret-pw' });
}

describe('store limits', () => {
  it('refuses the 300-channel attack past --max-channels-per-server with 403, the other server untouched', async () => {
    const s = await startServer({ maxChannelsPerServer: 10 });
    const attacker = await world(s);
    const other = await world(s, { extraText: 2 });
    let made = 0;
    const refused: number[] = [];
    for (let i = 0; i < 300; i++) {
      const r = await api(s, attacker.owner.token).post(`/api/channels/${attacker.serverId}/text-channels`, { name: `x${i}`, channel_id: attacker.serverId });
      if (r.status === 200) made++;
      else refused.push(r.status);
    }
    // general + General + 8 = 10
    expect(made).toBe(8);
    expect(refused.length).toBe(292);
    expect(new Set(refused)).toEqual(new Set([403]));
    const v = await api(s, attacker.owner.token).post(`/api/channels/${attacker.serverId}/voice-channels`, { name: 'v', channel_id: attacker.serverId });
    expect(v.status).toBe(403);
    expect(v.body.detail).toMatch(/10 text and voice channels.*--max-channels-per-server/);
    await up(s);
    expect((await api(s, attacker.owner.token).get(`/api/channels/${attacker.serverId}`)).body.channels).toHaveLength(10);
    expect((await api(s, other.owner.token).get(`/api/channels/${other.serverId}`)).body.channels).toHaveLength(4);
    const more = await api(s, other.owner.token).post(`/api/channels/${other.serverId}/text-channels`, { name: 'still', channel_id: other.serverId });
    expect(more.status).toBe(200);
  });

  it('caps servers per user (create 403, join 400), members per server (400), servers and users in all (400)', async () => {
    const s = await startServer({ maxServersPerUser: 2, maxMembersPerServer: 2, maxServers: 3, maxUsers: 4 });
    const a = await signUp(s);
    const b = await signUp(s);
    const c = await signUp(s);
    const A = api(s, a.token);
    const s1 = (await A.post('/api/channels/', { name: 's1' })).body.id as number;
    const s2 = (await A.post('/api/channels/', { name: 's2' })).body.id as number;
    const third = await A.post('/api/channels/', { name: 's3' });
    expect(third.status).toBe(403);
    expect(third.body.detail).toMatch(/already belongs to 2 servers.*--max-servers-per-user/);
    // b joins s1 (2 members: full), c cannot
    expect((await api(s, b.token).post(`/api/channels/${s1}/join`)).status).toBe(200);
    const full = await api(s, c.token).post(`/api/channels/${s1}/join`);
    expect(full.status).toBe(400);
    expect(full.body.detail).toMatch(/is full.*--max-members-per-server/);
    // b belongs to s1 and its own server: a third membership is refused on join
    const bs = (await api(s, b.token).post('/api/channels/', { name: 'b1' })).body.id as number;
    const bJoin = await api(s, b.token).post(`/api/channels/${s2}/join`);
    expect(bJoin.status).toBe(400);
    expect(bJoin.body.detail).toMatch(/--max-servers-per-user/);
    // three servers exist: the fourth is refused whoever asks
    const cs = await api(s, c.token).post('/api/channels/', { name: 'c1' });
    expect(cs.status).toBe(403);
    expect(cs.body.detail).toMatch(/--max-servers/);
    // users: three registered, one more fits, the fifth is refused
    expect((await register(s, 'fourth')).status).toBe(200);
    const fifth = await register(s, 'fifth');
    expect(fifth.status).toBe(400);
    expect(fifth.body.detail).toMatch(/User limit reached.*--max-users/);
    await up(s);
    // nothing half-made: each list is exact
    expect((await A.get('/api/channels/')).body.map((x: { id: number }) => x.id)).toEqual([s1, s2]);
    expect((await api(s, b.token).get('/api/channels/')).body.map((x: { id: number }) => x.id)).toEqual([s1, bs]);
    expect((await api(s, c.token).get('/api/channels/')).body).toEqual([]);
    expect((await A.get(`/api/channels/${s1}/members`)).body.map((u: { id: number }) => u.id)).toEqual([a.id, b.id]);
    const login = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'fifth', password: 'secret-pw' }) });
    expect(login.status).toBe(401);
  });

  it('keeps the history under its byte budget, oldest first, and never more than 100 per channel', () => {
    const limits = Object.fromEntries(Object.entries(SERVE_OPTIONS).map(([k, v]) => [k, v.default])) as unknown as ConstructorParameters<typeof Store>[0];
    const content = 'x'.repeat(4000);
    const budget = 50 * messageCost(content);
    const store = new Store({ ...limits, maxHistoryBytes: budget });
    const srv = store.addServer('s', null, store.addUser('u', 'u@example.com', 'h').id);
    const chans = [srv.textChannels[0]!];
    for (let i = 0; i < 8; i++) chans.push(store.addTextChannel(srv, `t${i}`).id);
    for (let i = 0; i < 3000; i++) {
      store.addMessage(1, chans[i % chans.length]!, content);
      expect(store.historySize().bytes).toBeLessThanOrEqual(budget);
    }
    expect(store.historySize()).toEqual({ messages: 50, bytes: budget });
    // per channel: 100 at most, budget aside
    const roomy = new Store({ ...limits, maxHistoryBytes: 1e12 });
    const s2 = roomy.addServer('s', null, roomy.addUser('u', 'u@example.com', 'h').id);
    for (let i = 0; i < 250; i++) roomy.addMessage(1, s2.textChannels[0]!, 'hi');
    expect(roomy.historySize()).toEqual({ messages: HISTORY_LIMIT, bytes: HISTORY_LIMIT * messageCost('hi') });
  });
});

describe('members, presence and stats ids', () => {
  it('lists the members with is_online from open sockets; 401, 403, 404 as protocol.md says', async () => {
    const s = await startServer();
    const w = await world(s);
    const b = await signUp(s);
    const outsider = await signUp(s);
    expect((await api(s, b.token).post(`/api/channels/${w.serverId}/join`)).status).toBe(200);
    const path = `/api/channels/${w.serverId}/members`;
    const list = async (t: TestUser) => (await api(s, t.token).get(path)).body as Array<{ id: number; is_online: boolean }>;
    const first = await list(w.owner);
    expect(first).toEqual([
      { id: w.owner.id, username: w.owner.username, email: `${w.owner.username}@example.com`, is_active: true, is_online: false, created_at: expect.any(String) },
      { id: b.id, username: b.username, email: `${b.username}@example.com`, is_active: true, is_online: false, created_at: expect.any(String) },
    ]);
    expect(await api(s, outsider.token).get(path)).toEqual({ status: 403, body: { detail: 'Not a member of this channel' } });
    expect((await api(s, w.owner.token).get('/api/channels/9999/members')).status).toBe(404);
    expect((await api(s).get(path)).status).toBe(401);

    // b online with two sockets; closing one keeps b online, closing both takes b offline
    const n1 = await connect(s, '/ws/notifications', b.token);
    const c1 = await connect(s, `/ws/chat/${w.serverId}`, b.token);
    expect((await list(w.owner)).map((u) => u.is_online)).toEqual([false, true]);
    expect((await api(s, b.token).get('/api/auth/me')).body.is_online).toBe(true);
    expect((await api(s, w.owner.token).get('/api/auth/me')).body.is_online).toBe(false);
    const st = await s.stats();
    expect(st.connections!.map((c) => c.id)).toEqual([1, 2]);
    const viaHttp = (await (await fetch(`${s.url}/api/debug/websocket-stats`)).json()) as { connections: Array<{ id: unknown }> };
    for (const c of viaHttp.connections) expect(Number.isInteger(c.id)).toBe(true);
    await n1.close();
    await until(async () => (await s.stats()).total_connections === 1, { what: 'one connection left' });
    expect((await list(w.owner)).map((u) => u.is_online)).toEqual([false, true]);
    await c1.close();
    await until(async () => (await s.stats()).total_connections === 0, { what: 'no connection left' });
    expect((await list(w.owner)).map((u) => u.is_online)).toEqual([false, false]);
    await up(s);
  });
});

describe('smaller HTTP fixes', () => {
  it('answers oversized headers with "431 Request Header Fields Too Large" and HEAD /health with 200 and no body', async () => {
    const s = await startServer();
    const big = await rawExchange(s, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    const head = await rawExchange(s, 'HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.slice(head.indexOf('\r\n\r\n') + 4)).toBe('');
    const r = await fetch(`${s.url}/api/auth/register`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect((await fetch(`${s.url}/health`, { method: 'PUT' })).headers.get('allow')).toBe('GET, HEAD');
    await up(s);
  });

  it('counts a client abort as 499, not 500, and logs no ERROR line', async () => {
    const lines: string[] = [];
    const s = await startServer({ logger: createLogger('debug', (l) => lines.push(l)) });
    const w = await world(s);
    const bystander = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    for (let i = 0; i < 3; i++) {
      const sock = netConnect(s.port, '127.0.0.1');
      sock.on('error', () => {});
      await once(sock, 'connect');
      // "100 Continue" comes back once the server has emitted the request: the handler is reading the body
      sock.write('POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n');
      await once(sock, 'data');
      sock.write('{"username":');
      if (i % 2) sock.resetAndDestroy();
      else sock.destroy();
    }
    await until(async () => (await metric(s, /^miscord_http_requests_total\{route="register",status="499"\}/)) === 3, { what: 'three register requests counted as 499' });
    expect(await metric(s, /status="500"/)).toBe(0);
    expect(lines.filter((l) => / ERROR /.test(l))).toEqual([]);
    bystander.send({ type: 'ping' });
    await bystander.next('pong');
    await up(s);
    expect((await s.stats()).total_connections).toBe(1);
  });
});

describe('usernames', () => {
  const bad: Array<[string, RegExp]> = [
    ['lone\ud800', /lone surrogate/],
    ['x\udc00y', /lone surrogate/],
    ['nul\u0000', /control character \(U\+0000 at position 3\)/],
    ['new\nline', /control character \(U\+000A/],
    ['tab\t', /control character/],
    ['del\u007f', /control character/],
    ['evil\u202egnp.exe', /bidi or zero-width.*U\+202E/],
    ['iso\u2066late', /U\+2066/],
    ['zero\u200bwidth', /U\+200B/],
    ['zwj\u200d', /U\+200D/],
    ['bom\ufeff', /U\+FEFF/],
    ['line\u2028sep', /line separator/],
  ];

  it('refuses ill-formed, control, bidi and zero-width names with 400 and folds NFC and NFD into one user', async () => {
    const s = await startServer();
    for (const [name, why] of bad) {
      const r = await register(s, name);
      expect(r.status, JSON.stringify(name)).toBe(400);
      expect(r.body.detail, JSON.stringify(name)).toMatch(why);
    }
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const made = await register(s, nfc, 'cafe@example.com');
    expect(made.status).toBe(200);
    const again = await register(s, nfd, 'cafe2@example.com');
    expect(again).toEqual({ status: 400, body: { detail: 'Username or email already registered' } });
    // an NFD registration is stored as NFC, and both forms log in as the same user
    const other = await register(s, 'jose\u0301', 'jose@example.com');
    expect(other.body.username).toBe('jos\u00e9');
    for (const [name, id] of [[nfc, made.body.id], [nfd, made.body.id], ['jos\u00e9', other.body.id], ['jose\u0301', other.body.id]] as const) {
      const l = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: name, password: 'secret-pw' }) });
      expect(l.status, name).toBe(200);
      const { access_token } = (await l.json()) as { access_token: string };
      expect((await api(s, access_token).get('/api/auth/me')).body.id).toBe(id);
    }
    // a name with ordinary non-ASCII letters and spaces is fine
    expect((await register(s, 'Zoë Ünal 李')).status).toBe(200);
    await up(s);
    expect((await s.stats()).total_connections).toBe(0);
  });
});
