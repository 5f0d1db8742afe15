import { describe, it, expect, afterEach } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { SimulatedUser } from '../../src/client/simulated-user.js';
import { Capabilities } from '../../src/client/capabilities.js';
import { DeliveryTracker } from '../../src/client/delivery-tracker.js';
import { wallNow } from '../../src/clock.js';
import { HttpClient } from '../../src/client/http-client.js';
import { silentLogger } from '../../src/log.js';
import { testEnv } from './test-env.js';
import type { SocketRecord } from '../../src/client/ledger.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(serverOpts: Parameters<typeof createReferenceServer>[0] = {}) {
  const server = await createReferenceServer({ port: 0, ...serverOpts });
  cleanups.push(() => server.close());
  const closed: SocketRecord[] = [];
  const env = testEnv(server.url, server.wsUrl, { events: { onSocketClosed: (_u, rec) => closed.push(rec) } });
  const metrics = env.metrics;
  const caps = new Capabilities(silentLogger);
  const tracker = new DeliveryTracker(metrics);
  const users: SimulatedUser[] = [];
  const make = async (i: number) => {
    const u = new SimulatedUser({ index: i, username: `t-u${i}`, password: 'pw-123456', register: true, env, caps, tracker, random: Math.random });
    users.push(u);
    cleanups.push(() => u.leave());
    await u.login();
    return u;
  };
  const owner = await make(0);
  const http = new HttpClient(env);
  const srv = await http.createServer(owner.identity!.token, 'srv');
  await http.createTextChannel(owner.identity!.token, srv.id, 'two', 1);
  const detail = await http.getServer(owner.identity!.token, srv.id);
  const texts = detail.channels!.filter((c) => c.type === 'text').map((c) => c.id);
  return { server, env, metrics, caps, tracker, make, http, srv, texts, closed };
}

describe('SimulatedUser against the reference server', () => {
  it('a refused socket is recorded with its status or code, and counted', async () => {
    const { make, metrics, srv } = await setup();
    const u = await make(1);
    u.identity!.token = 'not-a-token';
    // refused on the upgrade (a real Miscord: 403) or accepted then closed (1008): the same kind of event
    const chat = await u.openChat(srv.id, 1);
    if (chat) await chat.sock.conn?.closed;
    const rec = [...u.ledger.sockets.values()][0]!;
    if (rec.state === 'refused') expect(rec.refusedStatus ?? rec.closeCode).toBeDefined();
    else expect(rec.closeCode).toBe(1008);
    expect(u.ledger.lastError).toMatch(/1008|403|refused/);
    expect(metrics.get('ws.reconnects')).toBe(0);
    // once under its status or code, and once under refusals.<kind>.<status or code>
    const refusals = [...metrics.counters].filter(([k]) => k.startsWith('refusals.')).map(([k]) => k);
    expect(refusals).toHaveLength(2);
    const code = refusals.find((k) => /^refusals\.\d+$/.test(k))!.split('.')[1];
    expect(refusals).toContain(`refusals.chat.${code}`);
    // the attempt is a sample whatever its outcome (an upgrade refused, or accepted then closed)
    expect(metrics.get(rec.state === 'refused' ? 'ws.attempts.chat.refused' : 'ws.attempts.chat.ok')).toBe(1);
    expect(metrics.histograms.get('ws.connect.chat')?.count).toBe(1);
  });

  it('leaky switching abandons the old socket open; leave closes everything', async () => {
    const { make, http, srv, texts, closed } = await setup();
    const u = await make(1);
    await http.joinServer(u.identity!.token, srv.id);
    const chat = (await u.openChat(srv.id, texts[0]!))!;
    expect(await chat.switchTo(texts[1]!, 'leaky')).toBe(true);
    const recs = [...u.ledger.sockets.values()];
    expect(recs).toHaveLength(2);
    expect(recs[0]!.abandoned).toBe(true);
    expect(recs[0]!.state).toBe('open');
    expect(u.ledger.openSockets()).toHaveLength(2);
    await u.leave();
    expect(u.ledger.openSockets()).toHaveLength(0);
    expect(closed.map((r) => r.id).sort()).toEqual(recs.map((r) => r.id).sort());
  });

  it('in-band switching keeps one socket and messages reach the new channel', async () => {
    const { make, http, srv, texts, tracker } = await setup();
    const a = await make(1);
    const b = await make(2);
    for (const u of [a, b]) await http.joinServer(u.identity!.token, srv.id);
    const ca = (await a.openChat(srv.id, texts[0]!))!;
    const cb = (await b.openChat(srv.id, texts[0]!))!;
    expect(await cb.switchTo(texts[1]!, 'in-band')).toBe(true);
    expect(b.ledger.sockets.size).toBe(1);
    ca.textChannelId = texts[1]!;
    ca.sendMessage(wallNow());
    await tracker.drain(3000);
    expect(tracker.expected).toBe(2);
    expect(tracker.delivered).toBe(2);
  });

  it('a frozen socket stops answering pings and the server reaps it; no reconnect', async () => {
    const { make, http, srv, texts, metrics } = await setup({ heartbeatMs: 100, missedPongs: 1 });
    const u = await make(1);
    await http.joinServer(u.identity!.token, srv.id);
    const chat = (await u.openChat(srv.id, texts[0]!))!;
    const conn = chat.sock.conn!;
    expect(chat.freeze()).toBe(true);
    await conn.closed;
    expect(conn.rec.frozen).toBe(true);
    expect(conn.rec.closedBy).toBe('server');
    expect(metrics.get('ws.reconnects')).toBe(0);
    expect(chat.sock.conn).toBeNull();
  });
});
