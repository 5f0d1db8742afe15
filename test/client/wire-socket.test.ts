import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { conditions } from '../helpers/until.js';
import { CLOSED, OPEN, WireSocket, WireSocketError, type WireSocketHandlers } from '../../src/client/wire-socket.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A WireSocket whose events are recorded; `closed` resolves with the final code and reason. */
function connect(url: string, opts?: ConstructorParameters<typeof WireSocket>[2]) {
  const events: string[] = [];
  const messages: string[] = [];
  const errors: Error[] = [];
  let onOpen!: () => void;
  const opened = new Promise<void>((r) => (onOpen = r));
  let onClose!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (onClose = r));
  let refusal: { status: number; text: string; body: string } | null = null;
  let pongs = 0;
  // `until` checks again after every message and pong
  const { changed, until } = conditions();
  const handlers: WireSocketHandlers = {
    open: () => (events.push('open'), onOpen()),
    refused: (status, text, body) => (events.push('refused'), (refusal = { status, text, body })),
    message: (data) => (messages.push(data.toString()), changed()),
    pong: () => (pongs++, changed()),
    error: (err) => (events.push('error'), errors.push(err)),
    close: (code, reason) => (events.push('close'), onClose({ code, reason })),
  };
  const ws = new WireSocket(url, handlers, opts);
  cleanups.push(async () => {
    ws.terminate();
    await closed;
  });
  return { ws, events, messages, errors, opened, closed, until, refusal: () => refusal, pongs: () => pongs };
}

async function wsServer(opts: ConstructorParameters<typeof WebSocketServer>[0] = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...opts });
  await once(wss, 'listening');
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  const url = `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`;
  const next = () => once(wss, 'connection').then(([s]) => s as ServerSocket);
  return { wss, url, next };
}

/** A WireSocket open to a fresh ws server, and the server's side of it. */
async function pair() {
  const { url, next } = await wsServer();
  const c = connect(url);
  const [server] = await Promise.all([next(), c.opened]);
  return { c, server };
}

/** A raw TCP server that answers the upgrade properly, then writes whatever the test gives it. */
async function rawServer(onUpgraded: (socket: net.Socket) => void, answer?: (key: string) => string | Buffer) {
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', function onHead(chunk) {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onHead);
      const key = /sec-websocket-key: (.+)\r\n/i.exec(head)![1]!;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(answer ? answer(accept) : `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      onUpgraded(socket);
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

const frame = (b0: number, payload: Buffer, mask = false): Buffer => {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext);
  head[0] = b0;
  head[1] = (ext === 0 ? len : ext === 2 ? 126 : 127) | (mask ? 0x80 : 0);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  return Buffer.concat([head, mask ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), payload]);
};

describe('WireSocket against ws', () => {
  it('opens, sends masked text the server reads, and receives messages of every length class', async () => {
    const { url, next } = await wsServer();
    const c = connect(`${url}/ws/x?token=a%20b`);
    const [server] = await Promise.all([next(), c.opened]);
    expect(c.ws.readyState).toBe(OPEN);
    const got = once(server, 'message');
    c.ws.send('héllo');
    expect(String((await got)[0])).toBe('héllo');
    const sizes = [0, 125, 126, 65535, 65536, 300_000];
    for (const n of sizes) server.send('x'.repeat(n));
    server.send('ünïcode ✓');
    await new Promise<void>((r) => server.send('end', () => r()));
    await c.until(() => c.messages.length === sizes.length + 2);
    expect(c.messages.map((m) => m.length).slice(0, sizes.length)).toEqual(sizes);
    expect(c.messages.at(-2)).toBe('ünïcode ✓');
    expect(c.errors).toEqual([]);
  });

  it('sends large messages whole (16- and 64-bit lengths, masked)', async () => {
    const { c, server } = await pair();
    const got: number[] = [];
    const both = new Promise<void>((r) => server.on('message', (d) => got.push(String(d).length) === 2 && r()));
    for (const n of [126, 70_000]) c.ws.send('y'.repeat(n));
    await both;
    expect(got).toEqual([126, 70_000]);
  });

  it('reassembles fragmented messages, control frames between the fragments', async () => {
    const { c, server } = await pair();
    server.send('ab', { fin: false });
    server.ping();
    server.send('cd', { fin: false });
    server.send('ef', { fin: true });
    await c.until(() => c.messages.length === 1);
    expect(c.messages).toEqual(['abcdef']);
  });

  it('answers pings unless autoPong is off, and hears the pong of its own ping', async () => {
    const { c, server } = await pair();
    const pong = once(server, 'pong');
    server.ping(Buffer.from('p1'));
    expect(String((await pong)[0])).toBe('p1');
    c.ws.ping();
    await c.until(() => c.pongs() === 1);
    // frozen: the ping goes unanswered, but a message sent after it still arrives
    c.ws.autoPong = false;
    let ponged = false;
    server.on('pong', () => (ponged = true));
    server.ping();
    server.send('after');
    await c.until(() => c.messages.includes('after'));
    c.ws.ping();
    await c.until(() => c.pongs() === 2);
    expect(ponged).toBe(false);
  });

  it('reports the server close code and reason, and echoes the close', async () => {
    const { c, server } = await pair();
    const serverClosed = once(server, 'close');
    server.close(4008, 'too many connections');
    expect(await c.closed).toEqual({ code: 4008, reason: 'too many connections' });
    expect((await serverClosed)[0]).toBe(4008);
    expect(c.ws.readyState).toBe(CLOSED);
    expect(c.events).toEqual(['open', 'close']);
  });

  it('closes from the client with a code the server hears', async () => {
    const { c, server } = await pair();
    const serverClosed = once(server, 'close');
    c.ws.close(1001);
    c.ws.send('dropped: closing');
    expect((await serverClosed)[0]).toBe(1001);
    expect((await c.closed).code).toBe(1001);
    c.ws.close();
    expect(c.events).toEqual(['open', 'close']);
  });

  it('terminate drops the connection: close 1006, the server sees no close frame', async () => {
    const { c, server } = await pair();
    const serverClosed = once(server, 'close');
    c.ws.terminate();
    expect((await c.closed).code).toBe(1006);
    expect((await serverClosed)[0]).toBe(1006);
  });

  it('reports a refused upgrade with its status and body, then closes', async () => {
    const { url } = await wsServer({
      verifyClient: (_info, cb) => cb(false, 403, 'Forbidden'),
    });
    const c = connect(url);
    await c.closed;
    expect(c.refusal()).toMatchObject({ status: 403, text: 'Forbidden' });
    expect(c.events).toEqual(['refused', 'close']);
  });
});

describe('WireSocket over TLS', () => {
  it('wss://: opens, echoes, reads a large message, closes with a code', async () => {
    const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
    const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
    const server = https.createServer({ cert, key });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (s) => s.on('message', (d) => s.send(`echo ${String(d)}`, () => s.send('z'.repeat(100_000), () => s.close(4001, 'bye')))));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => (wss.close(), server.close(() => r()))));
    const c = connect(`wss://127.0.0.1:${(server.address() as net.AddressInfo).port}/x`, { tls: { ca: cert } });
    await c.opened;
    c.ws.send('hi');
    expect(await c.closed).toEqual({ code: 4001, reason: 'bye' });
    expect(c.messages.map((m) => m.length)).toEqual([7, 100_000]);
    expect(c.messages[0]).toBe('echo hi');
  });

  it('wss:// refuses a certificate it cannot verify', async () => {
    const server = https.createServer({ cert: readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url)), key: readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url)) });
    server.on('tlsClientError', () => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const c = connect(`wss://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    expect((await c.closed).code).toBe(1006);
    expect(c.events).toEqual(['error', 'close']);
    expect(c.errors[0]!.message).toMatch(/self-signed|certificate/i);
  });
});

describe('WireSocket against a hostile or broken server', () => {
  it('a refusal body read to its length, split over reads', async () => {
    const server = net.createServer((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{"detail":"too many');
        setImmediate(() => s.write(' tabs"}'));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const c = connect(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    await c.closed;
    expect(c.refusal()).toEqual({ status: 403, text: 'Forbidden', body: '{"detail":"too many tabs"}' });
  });

  /** A server that answers every upgrade with `answer`, written as bytes (latin1) in the pieces given, and keeps the connection open. */
  async function answering(...pieces: string[]) {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.once('data', async () => {
        for (const p of pieces) await new Promise<void>((r) => s.write(Buffer.from(p, 'latin1'), () => setImmediate(r)));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))));
    return `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  it('a chunked refusal body, decoded, with a multi-byte character split between chunks', async () => {
    const url = await answering('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n', 'f\r\n{"detail":"caf\xc3\r\n', '3\r\n\xa9"}\r\n0\r\n\r\n');
    const c = connect(url);
    await c.closed;
    expect(c.refusal()).toEqual({ status: 403, text: 'Forbidden', body: '{"detail":"café"}' });
  });

  it('a refusal body with no length, on a connection kept open: what came, after a short wait', async () => {
    const url = await answering('HTTP/1.1 401 Unauthorized\r\n\r\n', 'bad token');
    const c = connect(url);
    await c.closed;
    expect(c.refusal()).toEqual({ status: 401, text: 'Unauthorized', body: 'bad token' });
  });

  it('parses frames split byte by byte across reads', async () => {
    const bytes = Buffer.concat([frame(0x81, Buffer.from('one')), frame(0x81, Buffer.from('z'.repeat(200))), frame(0x89, Buffer.alloc(0)), frame(0x81, Buffer.from('three'))]);
    const url = await rawServer((s) => {
      let i = 0;
      const drip = () => {
        if (i < bytes.length) s.write(bytes.subarray(i, ++i), () => setImmediate(drip));
      };
      drip();
    });
    const c = connect(url);
    await c.until(() => c.messages.length === 3);
    expect(c.messages).toEqual(['one', 'z'.repeat(200), 'three']);
    expect(c.errors).toEqual([]);
  });

  it('the upgrade answer and the first frames in one read', async () => {
    const url = await rawServer(
      () => {},
      (accept) => Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), frame(0x81, Buffer.from('early'))]),
    );
    const c = connect(url);
    await c.until(() => c.messages.length === 1);
    expect(c.messages).toEqual(['early']);
  });

  const failures: Array<[string, Buffer | string, number, RegExp]> = [
    ['a masked server frame', frame(0x81, Buffer.from('hi'), true), 1002, /must not be masked/],
    ['RSV bits', frame(0xc1, Buffer.from('hi')), 1002, /RSV/],
    ['an unknown opcode', frame(0x83, Buffer.from('hi')), 1002, /opcode 3/],
    ['invalid UTF-8', frame(0x81, Buffer.from([0xc3, 0x28])), 1007, /UTF-8/],
    ['a continuation with nothing to continue', frame(0x80, Buffer.from('x')), 1002, /continuation/],
    ['a fragmented ping', frame(0x09, Buffer.alloc(0)), 1002, /control frame/],
    ['an invalid close code', frame(0x88, Buffer.from([0x03, 0xed])), 1002, /close code 1005/],
    ['a message over maxPayload', frame(0x81, Buffer.alloc(2000, 0x61)), 1009, /larger than 1000/],
    ['garbage', 'GARBAGE\r\n\r\n\x00\xff\xfe', 1002, /.+/],
  ];
  it.each(failures)('fails the connection on %s with the RFC status', async (_what, bytes, status, message) => {
    let serverGot = Buffer.alloc(0);
    const url = await rawServer((s) => {
      s.on('data', (d) => (serverGot = Buffer.concat([serverGot, d])));
      s.write(bytes);
    });
    const c = connect(url, { maxPayload: 1000 });
    const { code } = await c.closed;
    expect(code).toBe(status);
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]).toBeInstanceOf(WireSocketError);
    expect((c.errors[0] as WireSocketError).status).toBe(status);
    expect(c.errors[0]!.message).toMatch(message);
    expect(c.events).toEqual(['open', 'error', 'close']);
  });

  const badUpgrades: Array<[string, (accept: string) => string, RegExp]> = [
    ['a wrong accept key', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n', /Sec-WebSocket-Accept/],
    ['no Upgrade header', (a) => `HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ${a}\r\n\r\n`, /Upgrade/],
    ['an extension not asked for', (a) => `HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${a}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`, /extension/],
    ['not HTTP at all', () => 'SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP response/],
  ];
  it.each(badUpgrades)('refuses an upgrade answer with %s', async (_what, answer, message) => {
    const url = await rawServer(() => {}, answer);
    const c = connect(url);
    expect((await c.closed).code).toBe(1006);
    expect(c.events).toEqual(['error', 'close']);
    expect(c.errors[0]!.message).toMatch(message);
  });

  it('times out an upgrade that never answers', async () => {
    const server = net.createServer(() => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const sockets = new Set<net.Socket>();
    server.on('connection', (s) => sockets.add(s));
    cleanups.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))));
    const c = connect(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { handshakeTimeoutMs: 50 });
    expect((await c.closed).code).toBe(1006);
    expect(c.errors[0]!.message).toMatch(/timed out/);
  });

  it('an unreachable target: one error, then close 1006', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = connect(`ws://127.0.0.1:${port}`);
    expect((await c.closed).code).toBe(1006);
    expect(c.events).toEqual(['error', 'close']);
    expect(c.errors[0]!.message).toMatch(/ECONNREFUSED/);
  });

  it('a server that dies mid-frame: close 1006 and nothing delivered', async () => {
    const url = await rawServer((s) => s.end(frame(0x81, Buffer.from('whole')).subarray(0, 4)));
    const c = connect(url);
    expect((await c.closed).code).toBe(1006);
    expect(c.messages).toEqual([]);
  });
});
