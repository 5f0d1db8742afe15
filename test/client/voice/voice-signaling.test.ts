import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VoiceSession } from '../../../src/client/voice/voice-session.js';
import { UserLedger } from '../../../src/client/ledger.js';
import { testEnv } from '../test-env.js';

describe('voice signaling refusals', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('records an HTTP 403 on the upgrade (how a real Miscord refuses) as a refusal', async () => {
    // a Miscord that refuses the upgrade before accepting it
    const server: Server = createServer((_req, res) => res.writeHead(404).end());
    const body = '{"detail":"Not a member of this server"}';
    server.on('upgrade', (_req, socket) => socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
    server.listen(0, '127.0.0.1');
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const closed: string[] = [];
    const env = testEnv(`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`, { events: { onSocketClosed: (_u, rec) => closed.push(rec.id) } });
    const metrics = env.metrics;
    const ledger = new UserLedger(0, 'u0');
    const s = new VoiceSession({ env, identity: { index: 0, userId: 7, username: 'u0', token: 't' }, ledger, roomId: 3 });
    cleanups.push(() => s.leave());
    const r = await s.join();
    expect(r).toEqual({ ok: false, refusal: { status: 403, reason: 'Not a member of this server' } });
    expect(metrics.get('refusals.403')).toBe(1);
    expect(metrics.get('refusals.voice.403')).toBe(1);
    const [rec] = [...ledger.sockets.values()];
    expect(rec).toMatchObject({ kind: 'voice', channelId: 3, state: 'refused', refusedStatus: 403 });
    expect(closed).toEqual([rec!.id]);
    expect(ledger.connectionsCreated).toBe(0);
  });
});
