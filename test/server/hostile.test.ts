import { describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect, signUp, startServer, world } from './helpers.js';
import type { ReferenceServer } from '../../src/server/index.js';

/** Sends one raw request and resolves with everything the server wrote until it closed or answered. */
async function rawRequest(s: ReferenceServer, text: string): Promise<string> {
  const sock: Socket = netConnect(s.port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  let out = '';
  sock.setEncoding('utf8');
  const done = new Promise<string>((resolve) => {
    sock.on('data', (d: string) => {
      out += d;
      if (/\r\n\r\n/.test(out)) resolve(out);
    });
    sock.once('close', () => resolve(out));
  });
  sock.write(text);
  try {
    return await done;
  } finally {
    sock.destroy();
  }
}

describe('hostile clients: invalid request-targets', () => {
  const targets = ['http://[/', 'https://', 'http://:80/', 'http://%zz/', 'http://x:99999/health'];

  it('answers each with 400 while the server and a bystander socket stay up', async () => {
    const s = await startServer();
    const w = await world(s);
    const bystander = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    for (const t of targets) {
      const answer = await rawRequest(s, `GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(answer, t).toMatch(/^HTTP\/1\.1 400 /);
      const h = await fetch(`${s.url}/health`);
      expect(h.status, `after ${t}`).toBe(200);
    }
    bystander.send({ type: 'ping' });
    await bystander.next('pong');
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    const st = await s.stats();
    expect(st.total_connections).toBe(1);
    expect(st.counters).toMatchObject({ connections_opened: 1, connections_closed: 0 });
  });
});

describe('hostile clients: voice messages', () => {
  it('refuses a relayed payload nested 5,000 levels deep and answers prototype-named types as unknown, the peer and the server untouched', async () => {
    const s = await startServer();
    const b = await signUp(s);
    const w = await world(s, { members: [b] });
    const va = await connect(s, `/ws/voice/${w.voiceChannelId}`, w.owner.token);
    await va.next('participants');
    const vb = await connect(s, `/ws/voice/${w.voiceChannelId}`, b.token);
    await vb.next('participants');
    await va.next('user_joined_voice');
    // built as text: 5,000 levels overflow JSON.stringify itself, which is the attack
    const deep = '{"d":'.repeat(5000) + '{"type":"offer","sdp":"x"}' + '}'.repeat(5000);
    va.ws.send(`{"type":"offer","target_id":${b.id},"offer":${deep}}`);
    expect((await va.next('error')).message).toMatch(/nests deeper/);
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      va.send({ type, target_id: b.id, offer: { type: 'offer', sdp: 'x' }, is_muted: true });
      expect((await va.next((m) => m.type === 'error' && /unknown/i.test(String(m.message)))).type, type).toBe('error');
    }
    // a normal offer still reaches b, and it is the first offer b ever sees
    va.send({ type: 'offer', target_id: b.id, offer: { type: 'offer', sdp: 'ok' } });
    const got = await vb.next('offer');
    expect((got.offer as { sdp: string }).sdp).toBe('ok');
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect((await s.stats()).total_connections).toBe(2);
  });
});
