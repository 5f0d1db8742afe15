import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ReferenceServer } from '../../src/server/index.js';
import { benchRun, scenarioFile, target, tinyChat } from './helpers.js';

/** Proxies one upgrade to `backend` as raw bytes (the 101 and every frame pass through). */
function proxyUpgrade(backend: ReferenceServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const up = netConnect(backend.port, '127.0.0.1', () => {
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(lines + '\r\n');
    if (head.length) up.write(head);
    socket.pipe(up).pipe(socket);
  });
  up.on('error', () => socket.destroy());
  socket.on('error', () => up.destroy());
  socket.on('close', () => up.destroy());
}

/**
 * A hand-written chat endpoint in front of a reference server: HTTP and the other sockets
 * pass through, the chat socket greets every client with garbage (non-JSON text, binary
 * frames, JSON that is not an object, odd or oversized messages, and once invalid UTF-8,
 * which the client must close with 1007), then relays messages in the v1 shape.
 */
async function garbageChat(backend: ReferenceServer): Promise<{ url: string; garbageSent: number }> {
  const wss = new WebSocketServer({ noServer: true, clientTracking: false });
  const rooms = new Map<string, Set<WebSocket>>();
  const state = { url: '', garbageSent: 0 };
  let first = true;
  let msgId = 0;
  const GARBAGE: Array<string | Buffer> = [
    'this is not JSON {',
    Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    '[1,2,3]',
    '"a JSON string"',
    'null',
    '{"type":42}',
    '{"type":"message"}',
    '{"type":"message","content":{"nested":true},"text_channel_id":"x"}',
    '{"type":"new_message","data":null}',
    '{"type":"new_message","data":{"content":12}}',
    '{"type":"channel_switched"}',
    '{"type":"error"}',
    '{"type":"__proto__","constructor":{"prototype":{"polluted":true}}}',
    JSON.stringify({ type: 'message', id: 1, content: 'x'.repeat(2 * 1024 * 1024), author: { id: 0, username: '?' }, timestamp: 'never', text_channel_id: 1 }),
    '['.repeat(3000) + ']'.repeat(3000),
    '',
  ];
  const http = createServer((req, res) => {
    const up = request({ host: '127.0.0.1', port: backend.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!path.startsWith('/ws/chat/')) return proxyUpgrade(backend, req, socket, head);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      for (const g of GARBAGE) ws.send(g, { binary: Buffer.isBuffer(g) });
      state.garbageSent += GARBAGE.length;
      if (first) {
        // invalid UTF-8 in a text frame: the client must fail the connection (1007) and reconnect
        first = false;
        ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      }
      let room = rooms.get(path);
      if (!room) rooms.set(path, (room = new Set()));
      room.add(ws);
      ws.once('close', () => room.delete(ws));
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        let m: { type?: string; content?: string; text_channel_id?: number };
        try {
          m = JSON.parse(data.toString());
        } catch {
          return;
        }
        if (m.type === 'ping') ws.send('{"type":"pong"}');
        if (m.type !== 'message') return;
        const out = JSON.stringify({ type: 'message', id: ++msgId, content: m.content, author: { id: 1, username: 'someone' }, timestamp: new Date().toISOString(), text_channel_id: m.text_channel_id });
        for (const peer of room) peer.send(out);
      });
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  onTestFinished(async () => {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  state.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return state;
}

describe('run against broken deployments', () => {
  it('a deployment without a chat endpoint (403 on every upgrade): said once, the rest runs, report written, the gates decide', async () => {
    const s = await target({ compat: 'v1', refuse: ['chat'], maxPerUser: 4 });
    const r = await benchRun(tinyChat('no-chat'), s.url);
    // the delivery-ratio gate has nothing to judge: a gate failure (4), not a crash (1), not incomplete (3)
    expect(r.code, r.stderr).toBe(4);
    const said = r.stderr.split('\n').filter((l) => /WARN .*refuses every chat socket/.test(l));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('HTTP 403');
    // nothing was delivered to judge a ratio on: said once, as not judged (never also as failed)
    expect(r.stderr).toMatch(/gate not judged: rates\.deliveryRatio>=1/);
    const rep = r.report;
    expect(rep.status).toBe('completed');
    expect(rep.verdict.exitCode).toBe(4);
    expect(rep.findings).toEqual([]);
    expect(rep.errors).toContainEqual(expect.objectContaining({ kind: 'target', message: expect.stringMatching(/refuses every chat socket/) }));
    // the chat socket was given up after a few refusals, not hammered all run long
    expect(rep.counters['refusals.403']).toBeLessThanOrEqual(8);
    expect(rep.counters['skipped.chat']).toBeGreaterThan(0);
    // switches after that are skipped, not failed: only those racing the verdict count as errors
    expect(rep.counters['errors.switch'] ?? 0).toBeLessThanOrEqual(rep.counters['refusals.403']! - 4);
    // notifications went on: 4 users plus 2 second tabs, all closed at the end
    expect(rep.ledger.byKind.notifications).toEqual({ opened: 6, closed: 6 });
    expect(rep.ledger.byKind.chat?.opened ?? 0).toBe(0);
    expect(rep.ledger.openSocketsAtEnd).toBe(0);
    const st = await s.stats();
    expect(st.connections).toEqual([]);
  });

  it('garbage on the chat socket: the run completes, counts protocol errors and does not crash', async () => {
    const backend = await target({ maxPerUser: 4 });
    const g = await garbageChat(backend);
    const scenario = scenarioFile('garbage', {
      seed: 3,
      users: 3,
      setup: { servers: 1, textChannels: 1, voiceChannels: 0 },
      settle: '300ms',
      thresholds: [],
      phases: [{ type: 'connect' }, { type: 'chat', duration: '800ms', messagesPerUserPerSec: 3, pingEvery: '300ms' }, { type: 'disconnect' }],
    });
    // the stats route knows nothing of the hand-written chat sockets: no leak check here
    const r = await benchRun(scenario, g.url, ['--no-leak-check']);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report;
    expect(rep.status).toBe('completed');
    expect(rep.abortReason).toBeNull();
    expect(r.stderr).not.toMatch(/internal error|TypeError|RangeError|SyntaxError/);
    // non-JSON text, binary, non-objects and a type that is not a string: frames the client could not read
    expect(rep.counters['errors.frame']).toBeGreaterThanOrEqual(6 * 3);
    expect(rep.counters['errors.server_error']).toBeGreaterThanOrEqual(3);
    // the invalid UTF-8 frame failed one connection, which was reconnected
    expect(rep.counters['errors.ws']).toBeGreaterThanOrEqual(1);
    expect(rep.counters['ws.reconnects']).toBeGreaterThanOrEqual(1);
    expect(rep.counters['chat.delivered']).toBeGreaterThan(0);
    expect(rep.ledger.openSocketsAtEnd).toBe(0);
    expect(g.garbageSent).toBeGreaterThan(0);
  });
});
