import { describe, expect, it, onTestFinished } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect, signUp, startServer, statsHttp, statsUntil, world, type TestSocket } from './helpers.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { until } from '../helpers/until.js';

/** Open file descriptors of this process: the server and the attacker's sockets both count. */
function fds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A raw attacker socket: reads what it is sent, never answers, never sends its FIN. */
interface Raw {
  sock: Socket;
  text: () => string;
}

function rawAttackers(s: ReferenceServer, requests: string[]): Raw[] {
  const out: Raw[] = [];
  for (const req of requests) {
    const sock = netConnect({ port: s.port, host: '127.0.0.1', allowHalfOpen: true });
    sock.on('error', () => {});
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.write(req);
    out.push({ sock, text: () => text });
  }
  onTestFinished(() => out.forEach((r) => r.sock.destroy()));
  return out;
}

const UPGRADE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

/** The bystander still gets answers and is still registered. */
async function untouched(b: TestSocket): Promise<void> {
  b.send({ type: 'ping' });
  await b.next('pong');
  expect(b.ws.readyState).toBe(b.ws.OPEN);
}

describe('hostile sockets: a client that never reads', () => {
  it('is dropped with 1008 once its send queue passes maxSendQueueBytes; unsolicited pongs do not help; a reading bystander is untouched', async () => {
    const s = await startServer({ maxSendQueueBytes: 256 * 1024, closeTimeoutMs: 300 });
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const path = `/ws/chat/${w.serverId}`;
    const bystander = await connect(s, path, bob.token);
    let seen = 0;
    bystander.ws.on('message', () => seen++);
    const start = fds();
    const attacker = await connect(s, path, w.owner.token);
    onTestFinished(() => attacker.ws.terminate());
    attacker.ws.pause();
    const pongs = setInterval(() => attacker.ws.readyState === attacker.ws.OPEN && attacker.ws.pong(), 20);
    onTestFinished(() => clearInterval(pongs));
    const big = JSON.stringify({ type: 'message', content: 'x'.repeat(4000), text_channel_id: w.textChannels[0] });
    // every message comes back to the sender too; stop once the server has had enough
    let sent = 0;
    for (let batch = 0; batch < 2000; batch++) {
      if ((await s.stats()).counters!.slow_consumers_dropped === 1) break;
      for (let i = 0; i < 25; i++) attacker.ws.send(big);
      sent += 25;
      await new Promise((r) => setImmediate(r));
    }
    // its close frame waits behind the queue it never reads: the close timeout ends it
    const st = await statsUntil(s, (x) => x.counters!.connections_closed === 1, 10_000);
    clearInterval(pongs);
    expect(st.counters).toMatchObject({ connections_opened: 2, connections_closed: 1, slow_consumers_dropped: 1, reaped: 0, rejected: 0 });
    expect(st.connections!.map((c) => c.user_id)).toEqual([bob.id]);
    await untouched(bystander);
    expect(seen).toBeGreaterThan(0);
    expect(sent).toBeGreaterThan(0);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^miscord_slow_consumers_dropped_total 1$/m);
    attacker.ws.terminate();
    await attacker.closed;
    await until(() => fds() <= start + 2, { what: 'fds back to their start' });
  });

  it('a voice tab that never reads is dropped when relayed 100 KB offers pile up; the user’s other tab and the sender stay', async () => {
    const s = await startServer({ maxSendQueueBytes: 512 * 1024, closeTimeoutMs: 300 });
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const room = `/ws/voice/${w.voiceChannelId}`;
    const sender = await connect(s, room, w.owner.token);
    await sender.next('participants');
    const tab1 = await connect(s, room, bob.token);
    await tab1.next('participants');
    const tab2 = await connect(s, room, bob.token);
    await tab2.next('participants');
    await sender.next('user_joined_voice');
    onTestFinished(() => tab2.ws.terminate());
    tab2.ws.pause();
    let got = 0;
    tab1.ws.on('message', () => got++);
    const offer = JSON.stringify({ type: 'offer', target_id: bob.id, offer: { type: 'offer', sdp: 'v'.repeat(100_000) } });
    for (let batch = 0; batch < 1000; batch++) {
      if ((await s.stats()).counters!.slow_consumers_dropped === 1) break;
      for (let i = 0; i < 5; i++) sender.ws.send(offer);
      // the reading tab keeps up, so the sender only goes as fast as the server relays
      await until(() => got >= (batch + 1) * 5, { what: 'tab1 to keep up' });
    }
    const st = await statsUntil(s, (x) => x.counters!.connections_closed === 1, 10_000);
    expect(st.counters).toMatchObject({ connections_opened: 3, connections_closed: 1, slow_consumers_dropped: 1, reaped: 0 });
    expect(st.voice_rooms![w.voiceChannelId]!.sort()).toEqual([w.owner.id, bob.id].sort());
    await untouched(sender);
    await untouched(tab1);
    tab2.ws.terminate();
  });

  it('unsolicited pongs (empty, guessed or replayed payloads) do not keep it alive; answers to the server’s pings do', async () => {
    const heartbeatMs = 100;
    const missedPongs = 2;
    const s = await startServer({ heartbeatMs, missedPongs });
    const w = await world(s);
    const attacker = await connect(s, '/ws/notifications', w.owner.token);
    // it never reads the server's close frame: a clean close would wait 30 s
    onTestFinished(() => attacker.ws.terminate());
    attacker.ws.pause();
    const guesses = [Buffer.alloc(0), Buffer.alloc(12), Buffer.from('000000000000000000000001', 'hex'), Buffer.from('ping')];
    let k = 0;
    const pongs = setInterval(() => attacker.ws.readyState === attacker.ws.OPEN && attacker.ws.pong(guesses[k++ % guesses.length]), 10);
    onTestFinished(() => clearInterval(pongs));
    const honest = await connect(s, '/ws/notifications', w.owner.token);
    let pings = 0;
    honest.ws.on('ping', () => pings++);
    const st = await statsUntil(s, (x) => x.counters!.reaped === 1 && x.counters!.connections_closed === 1, 10_000);
    clearInterval(pongs);
    // one closed and the honest one still open (below): the reaped one is the attacker
    expect(st.total_connections).toBe(1);
    // the honest socket, which answers every ping, outlives several more heartbeats
    const after = pings;
    await until(() => pings >= after + missedPongs + 1, { what: 'more pings' });
    const end = await statsHttp(s);
    expect(end.counters).toMatchObject({ reaped: 1, connections_opened: 2, connections_closed: 1, slow_consumers_dropped: 0 });
    await untouched(honest);
    attacker.ws.terminate();
  });
});

describe('hostile sockets: raw answers close fully', () => {
  it('404 upgrades, --refuse 403s and slowloris 408s held half-open by the client are destroyed after closeTimeoutMs', async () => {
    const closeTimeoutMs = 300;
    const s = await startServer({ closeTimeoutMs, refuse: ['voice'], headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const w = await world(s);
    const bystander = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    const start = fds();
    const n = 400;
    const reqs = Array.from({ length: n }, (_, i) =>
      i % 4 === 0 ? 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' : UPGRADE(i % 4 === 1 ? '/ws/voice/1?token=x' : '/ws/nope'),
    );
    const attackers = rawAttackers(s, reqs);
    await until(() => attackers.every((a) => /^HTTP\/1\.1 (404|403|408) /.test(a.text())), { what: 'every answer' });
    expect(attackers.filter((a) => a.text().startsWith('HTTP/1.1 408')).length).toBe(n / 4);
    expect(attackers.filter((a) => a.text().startsWith('HTTP/1.1 403')).length).toBe(n / 4);
    // the attacker keeps its n sockets open; the server must have let go of its side
    await until(() => fds() <= start + n + 5, { what: 'the server side closed' });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    await untouched(bystander);
    const st = await statsHttp(s);
    expect(st.counters).toMatchObject({ connections_opened: 1, connections_closed: 0, rejected: n / 4 });
    expect(st.total_connections).toBe(1);
    for (const a of attackers) a.sock.destroy();
    await until(() => fds() <= start + 2, { what: 'fds back to their start' });
  });

  it('a peer that closes after the answer is let go at once, and shutdown does not wait for lingering sockets', async () => {
    const s = await startServer({ closeTimeoutMs: 60_000 });
    const start = fds();
    const [polite] = rawAttackers(s, [UPGRADE('/ws/nope')]);
    await until(() => polite!.text().startsWith('HTTP/1.1 404'), { what: 'the answer' });
    polite!.sock.end();
    await once(polite!.sock, 'close');
    await until(() => fds() <= start, { what: 'fds back to their start' });
    const [lingering] = rawAttackers(s, [UPGRADE('/ws/nope')]);
    await until(() => lingering!.text().startsWith('HTTP/1.1 404'), { what: 'the answer' });
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('hostile sockets: refused upgrades count under --max-total', () => {
  it('500 bad-token upgrades that never answer the close frame hold at most maxTotal sockets, for at most closeTimeoutMs', async () => {
    const maxTotal = 50;
    const s = await startServer({ maxTotal, closeTimeoutMs: 300 });
    const w = await world(s);
    const bystander = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    const start = fds();
    const n = 500;
    const attackers = rawAttackers(s, Array.from({ length: n }, (_, i) => UPGRADE(i % 2 ? '/ws/notifications?token=bad' : `/ws/chat/${w.serverId}?token=bad`)));
    let peak = 0;
    await until(
      () => {
        peak = Math.max(peak, fds() - start - n);
        return attackers.every((a) => /^HTTP\/1\.1 (101|503) /.test(a.text()));
      },
      { what: 'every answer' },
    );
    const accepted = attackers.filter((a) => a.text().startsWith('HTTP/1.1 101')).length;
    const full = attackers.filter((a) => a.text().startsWith('HTTP/1.1 503')).length;
    expect(accepted + full).toBe(n);
    expect(accepted).toBeGreaterThan(0);
    // the server's own side: refused sockets closing plus 503s waiting for a FIN, each bounded by maxTotal
    expect(peak).toBeLessThanOrEqual(2 * maxTotal + 5);
    const st = await statsHttp(s);
    expect(st.counters).toMatchObject({ connections_opened: 1, rejected: n });
    expect(st.total_connections).toBe(1);
    await untouched(bystander);
    // the attacker still holds its sockets, the server has let go of its side
    await until(() => fds() <= start + n + 5, { what: 'the server side closed' });
    // and the limit is free again for a real user
    const late = await connect(s, '/ws/notifications', w.owner.token);
    await untouched(late);
    for (const a of attackers) a.sock.destroy();
    await until(() => fds() <= start + 3, { what: 'fds back to their start' });
  });
});
