import { describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect, startServer, world } from './helpers.js';
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
