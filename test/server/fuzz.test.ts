import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import WebSocket from 'ws';
import { createReferenceServer, type ReferenceServer } from '../../src/server/index.js';
import { createLogger } from '../../src/log.js';
import { api, signUp, type TestUser } from './helpers.js';
import { valueUntil } from '../helpers/until.js';

/**
 * Generated hostile input against one reference server, each case followed by the same
 * invariants: /health answers 200, the bystander's sockets (another user's chat, voice and
 * notifications sockets) still answer, the voice room still lists only the bystander, and
 * the registry is back to exactly the bystander's three sockets. Seeds are fixed and runs
 * modest, so the suite is deterministic and takes a few seconds.
 */
const SEED = Number(process.env.MB_FUZZ_SEED ?? 0x19_2026);
/** MB_FUZZ_SEED, MB_FUZZ_SCALE (and MB_FUZZ_COMPAT=v1) explore further by hand; `npm test` runs the fixed seed once */
const SCALE = Number(process.env.MB_FUZZ_SCALE ?? 1);
const MAX_PAYLOAD = 64 * 1024;
const DEADLINE_MS = 10_000;

let s: ReferenceServer;
let owner: TestUser;
let fuzzer: TestUser;
let serverId: number;
let textChannelId: number;
let voiceId: number;
/** ERROR lines the server logged: hostile input is the client's fault, never a server error */
const errorLines: string[] = [];
const bystander: Record<'chat' | 'voice' | 'notifications', Peer> = {} as never;

/** A ws client whose frames can be awaited (the helpers' TestSocket registers per-test teardown). */
class Peer {
  readonly ws: WebSocket;
  private waiting: Array<{ type: string; resolve: () => void }> = [];
  constructor(url: string) {
    this.ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(data.toString()) as { type: string };
      const i = this.waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve();
    });
  }
  static async open(path: string, token: string, first?: string): Promise<Peer> {
    const p = new Peer(`${s.wsUrl}${path}?token=${encodeURIComponent(token)}`);
    const got = first ? p.next(first) : null;
    await deadline(once(p.ws, 'open'), `open ${path}`);
    if (got) await deadline(got, `first frame ${first} on ${path}`);
    return p;
  }
  /** the next frame of this type from now on */
  next(type: string): Promise<void> {
    return new Promise((resolve) => this.waiting.push({ type, resolve }));
  }
  async ping(): Promise<void> {
    const pong = this.next('pong');
    this.ws.send('{"type":"ping"}');
    await deadline(pong, 'pong');
  }
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    this.ws.close();
    await deadline(closed, 'close');
  }
}

/** Waits on `p`, failing the case (not hanging the suite) if it takes longer than a loaded machine would. */
async function deadline<T>(p: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

const BASELINE = 3;

/** Server-side counts have no event: poll them until exact, bounded. */
async function invariants(label: string): Promise<void> {
  const h = await fetch(`${s.url}/health`);
  expect(h.status, `health after ${label}`).toBe(200);
  await h.arrayBuffer();
  for (const p of Object.values(bystander)) {
    expect(p.ws.readyState, `bystander open after ${label}`).toBe(WebSocket.OPEN);
    await p.ping();
  }
  await valueUntil(
    () => s.stats(),
    (st) =>
      st.total_connections === BASELINE &&
      st.counters!.connections_opened - st.counters!.connections_closed === BASELINE &&
      JSON.stringify(st.voice_rooms) === JSON.stringify({ [voiceId]: [owner.id] }),
    {
      what: `the counts back to the bystander's after ${label}`,
      timeoutMs: DEADLINE_MS,
      intervalMs: 5,
      detail: (st) => JSON.stringify({ total: st?.total_connections, counters: st?.counters, rooms: st?.voice_rooms }),
    },
  );
  expect(errorLines.splice(0), `server errors after ${label}`).toEqual([]);
}

beforeAll(async () => {
  const logger = createLogger('error', (l) => errorLines.push(l));
  s = await createReferenceServer({ port: 0, maxPerUser: 50, maxPayloadBytes: MAX_PAYLOAD, maxBodyBytes: 4096, logger, compat: process.env.MB_FUZZ_COMPAT === 'v1' ? 'v1' : null });
  owner = await signUp(s);
  fuzzer = await signUp(s);
  const created = await api(s, owner.token).post('/api/channels/', { name: 'fuzz' });
  serverId = created.body.id;
  const detail = await api(s, owner.token).get(`/api/channels/${serverId}`);
  textChannelId = detail.body.channels.find((c: { type: string }) => c.type === 'text').id;
  voiceId = detail.body.channels.find((c: { type: string }) => c.type === 'voice').id;
  await api(s, fuzzer.token).post(`/api/channels/${serverId}/join`);
  bystander.chat = await Peer.open(`/ws/chat/${serverId}`, owner.token);
  bystander.voice = await Peer.open(`/ws/voice/${voiceId}`, owner.token, 'participants');
  bystander.notifications = await Peer.open('/ws/notifications', owner.token);
  await invariants('setup');
});

afterAll(async () => {
  for (const p of Object.values(bystander)) await p?.close();
  await s?.close();
});

/** A raw TCP connection to the server, its output collected, its close awaitable. */
async function raw(): Promise<{ sock: Socket; out: () => Buffer; closed: Promise<unknown> }> {
  const sock = netConnect(s.port, '127.0.0.1');
  sock.on('error', () => {});
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  const closed = once(sock, 'close');
  await deadline(once(sock, 'connect'), 'tcp connect');
  return { sock, out: () => Buffer.concat(chunks), closed };
}

/** Writes `parts` one by one, then ends the way asked and waits for the socket to be gone. */
async function deliver(conn: Awaited<ReturnType<typeof raw>>, parts: Buffer[], ending: 'end' | 'destroy' | 'reset'): Promise<void> {
  for (const p of parts) if (!conn.sock.destroyed) conn.sock.write(p);
  if (ending === 'end') conn.sock.end();
  else if (ending === 'reset') conn.sock.resetAndDestroy();
  else conn.sock.destroy();
  // after a FIN the server must close its side too: a socket it keeps open is a leak
  await deadline(conn.closed, `server close after ${ending}`);
}

/** Splits `buf` at the given fractions, so parsers see headers and frames torn across reads. */
function tear(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].filter((n) => n > 0 && n < buf.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const n of at) {
    out.push(buf.subarray(prev, n));
    prev = n;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** Mostly `good`, sometimes `bad`: a case breaks one or two things, so the parser gets past the first. */
function mostly<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>, goodWeight = 4): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: good, weight: goodWeight }, { arbitrary: bad, weight: 1 });
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 });
const endingArb = fc.constantFrom<'end' | 'destroy' | 'reset'>('end', 'end', 'end', 'destroy', 'reset');

// ---------------------------------------------------------------- HTTP

const tokenChars = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_!#$%&*+.^`|~'.split('')), minLength: 1, maxLength: 12 });
const anyBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a).toString('latin1'));

const methodArb = mostly(
  fc.constantFrom('GET', 'POST', 'HEAD', 'GET', 'POST'),
  fc.oneof(fc.constantFrom('PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'get', 'PRI', 'M-SEARCH'), tokenChars, anyBytes(8)),
);
const pathArb = mostly(
  fc.constantFrom(
    '/health',
    '/metrics',
    '/api/auth/register',
    '/api/auth/login',
    '/api/auth/me',
    '/api/channels/',
    '/api/channels/1',
    '/api/channels/1/members',
    '/api/channels/1/join',
    '/api/channels/1/text-channels',
    '/api/channels/voice/1/members',
    '/api/channels/99999999999999999999/members',
    '/api/channels/-1',
    '/api/channels/1e3',
    '/api/debug/websocket-stats',
    '/ws/chat/1',
  ),
  fc.oneof(fc.constantFrom(
    '*',
    '',
    'http://[/',
    'http://x:99999/health',
    '//health',
    '/%00',
    '/%zz',
    '/health?%',
    '/api/channels/%2e%2e/',
  ), fc.webPath(), anyBytes(40).map((b) => `/${b}`)),
);
const versionArb = mostly(fc.constantFrom('HTTP/1.1', 'HTTP/1.0'), fc.constantFrom('HTTP/2.0', 'HTTP/9.9', 'HTTP/1', 'http/1.1', '', 'HTTP/1.1 extra'), 8);
const goodHeaders = (token: () => string) =>
  fc.constantFrom(
    'Host: x',
    'Content-Type: application/json',
    'Content-Type: application/x-www-form-urlencoded',
    'Connection: keep-alive',
    'Connection: close',
    'Expect: 100-continue',
    'Transfer-Encoding: chunked',
    'Content-Length: 0',
    'Content-Length: 5',
    'Content-Length: 60',
  ).chain((h) => fc.constantFrom(h, `Authorization: Bearer ${token()}`));
const headerArb = mostly(goodHeaders(() => fuzzer.token), fc.oneof(
  fc.constantFrom(
    'Host: x',
    'Content-Type: application/json',
    'Content-Type: application/x-www-form-urlencoded',
    'Content-Type: application/json; charset=utf-16',
    'Content-Length: 0',
    'Content-Length: 5',
    'Content-Length: 4097',
    'Content-Length: -1',
    'Content-Length: 1e3',
    'Content-Length: 99999999999999999999999',
    'Content-Length: 3, 4',
    'Transfer-Encoding: chunked',
    'Transfer-Encoding: gzip, chunked',
    'Transfer-Encoding: identity',
    'Expect: 100-continue',
    'Connection: keep-alive',
    'Connection: close',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Authorization: Bearer x.y.z',
    'Authorization: Bearer ',
    ' folded: continuation',
    'NoColon',
    ': empty-name',
    'Bad Name: x',
  ),
  fc.tuple(tokenChars, anyBytes(30)).map(([n, v]) => `${n}: ${v.replace(/\r|\n/g, ' ')}`),
  anyBytes(40),
  fc.integer({ min: 1, max: 40_000 }).map((n) => `X-Big: ${'a'.repeat(n)}`),
), 8);
const bodyArb = fc.oneof(
  fc.constant(''),
  fc.json().map((j) => j.slice(0, 3000)),
  fc.constantFrom('{"username":"a","email":"a@example.com","password":"p"}', 'username=a&password=b', '0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\nhello\r\n', '{"name":"x","channel_id":1}', '{"name":"x","channel_id":1,"__proto__":{"x":1}}'),
  anyBytes(200),
);
type Framing = 'exact' | 'short' | 'chunked' | 'as-is';
const httpArb = fc.record({
  method: methodArb,
  path: pathArb,
  version: versionArb,
  headers: fc.array(headerArb, { maxLength: 6 }).map((h) => ['Host: x', ...h]),
  body: bodyArb,
  /**
   * exact: a correct Content-Length replaces any framing header; short: it promises more than
   * is sent (the client gives up mid-body); chunked: a correct chunked body; as-is: whatever was drawn
   */
  framing: mostly(fc.constant<Framing>('exact'), fc.constantFrom<Framing>('short', 'short', 'chunked', 'as-is'), 2),
  json: fc.boolean(),
  lineEnd: mostly(fc.constant('\r\n'), fc.constantFrom('\n', '\r'), 8),
  cuts: cutsArb,
  ending: endingArb,
});

describe('fuzz: malformed HTTP requests over raw TCP', () => {
  it('never kills the server, never leaves a connection behind, never disturbs a bystander', async () => {
    await fc.assert(
      fc.asyncProperty(httpArb, async (r) => {
        const e = r.lineEnd;
        let headers = r.json ? [...r.headers, 'Content-Type: application/json'] : r.headers;
        let body = r.body;
        if (r.framing !== 'as-is') {
          headers = headers.filter((h) => !/^(content-length|transfer-encoding):/i.test(h));
          const n = Buffer.byteLength(body, 'latin1');
          if (r.framing === 'exact') headers.push(`Content-Length: ${n}`);
          else if (r.framing === 'short') headers.push(`Content-Length: ${n + 1 + (n % 7)}`);
          else {
            headers.push('Transfer-Encoding: chunked');
            body = (n ? `${n.toString(16)}\r\n${body}\r\n` : '') + '0\r\n\r\n';
          }
        }
        const head = `${r.method} ${r.path} ${r.version}`.trimEnd() + e + headers.join(e) + e + e;
        const conn = await raw();
        await deliver(conn, tear(Buffer.from(head + body, 'latin1'), r.cuts), r.ending);
        const out = conn.out().toString('latin1');
        // whatever the server answered is a well-formed status line (or nothing, after a reset)
        if (out.length) expect(out).toMatch(/^HTTP\/1\.1 \d{3} [^\r\n]+\r\n/);
        expect(out).not.toMatch(/^HTTP\/1\.1 5\d\d/m);
        await invariants(`HTTP ${JSON.stringify(head.slice(0, 120))}`);
      }),
      { seed: SEED, numRuns: 200 * SCALE, endOnFailure: true },
    );
    // and none of it was counted as a server error
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics.split('\n').filter((l) => /^miscord_http_requests_total\{.*status="5\d\d"/.test(l))).toEqual([]);
  });
});

// ---------------------------------------------------------------- WebSocket frames

interface FrameSpec {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** how the length is written: minimal, padded into 16/64 bits, or a lie */
  len: 'minimal' | 'pad16' | 'pad64' | 'over' | 'under' | 'huge' | 'msb';
  payload: Buffer;
}

function encodeFrame(f: FrameSpec): Buffer {
  const n = f.payload.length;
  let declared = f.len === 'over' ? n + 10 : f.len === 'under' ? Math.max(0, n - 3) : f.len === 'huge' ? 2 ** 40 : n;
  let lenBytes: Buffer;
  const mk = (v: number, form: 7 | 16 | 64) => {
    if (form === 7) return Buffer.from([v]);
    if (form === 16) {
      const b = Buffer.alloc(3);
      b[0] = 126;
      b.writeUInt16BE(v, 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b[0] = 127;
    b.writeBigUInt64BE(BigInt(v), 1);
    return b;
  };
  if (f.len === 'msb') {
    lenBytes = Buffer.from([127, 0x80, 0, 0, 0, 0, 0, 0, 1]);
  } else if (f.len === 'pad64' || declared > 0xffff) {
    lenBytes = mk(declared, 64);
  } else if (f.len === 'pad16' || declared > 125) {
    declared = Math.min(declared, 0xffff);
    lenBytes = mk(declared, 16);
  } else {
    lenBytes = mk(declared, 7);
  }
  lenBytes[0]! |= f.masked ? 0x80 : 0;
  const b0 = (f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0xf);
  const key = f.masked ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(f.payload);
  if (f.masked) for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from([b0]), lenBytes, key, body]);
}

const textPayload = fc.oneof(
  fc.constantFrom('{"type":"ping"}', '{"type":"message","content":"hi","text_channel_id":1}', '{"type":"offer","target_id":1,"offer":{"type":"offer","sdp":"x"}}', '{"type":"mute","is_muted":true}', '{', 'null', '[]', '{"type":"__proto__"}'),
  fc.json().map((j) => j.slice(0, 500)),
);
const payloadArb = fc.oneof(
  { arbitrary: textPayload.map((t) => Buffer.from(t)), weight: 6 },
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  // invalid UTF-8 in a text frame
  fc.constantFrom(Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff]), Buffer.from('{"type":"ping"}\xff', 'latin1')),
  // close frames: valid codes, reserved codes, reasons too long or not UTF-8
  fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.uint8Array({ maxLength: 130 })).map(([code, reason]) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return Buffer.concat([b, Buffer.from(reason)]);
  }),
  fc.integer({ min: MAX_PAYLOAD - 10, max: MAX_PAYLOAD + 10 }).map((n) => Buffer.from(`{"type":"ping","p":"${'x'.repeat(Math.max(0, n - 24))}"}`)),
);
const frameArb: fc.Arbitrary<FrameSpec> = fc.record({
  fin: mostly(fc.constant(true), fc.constant(false)),
  rsv: mostly(fc.constant(0), fc.integer({ min: 1, max: 7 }), 12),
  opcode: mostly(fc.constant(0x1), fc.oneof(fc.constantFrom(0x0, 0x2, 0x8, 0x9, 0xa), fc.integer({ min: 0, max: 15 })), 3),
  masked: mostly(fc.constant(true), fc.constant(false), 12),
  len: mostly(fc.constant<FrameSpec['len']>('minimal'), fc.constantFrom<FrameSpec['len']>('pad16', 'pad64', 'over', 'under', 'huge', 'msb'), 8),
  payload: payloadArb,
});
const kindArb = fc.constantFrom<'chat' | 'voice' | 'notifications'>('chat', 'voice', 'notifications');
const wsPath = (kind: 'chat' | 'voice' | 'notifications') => (kind === 'chat' ? `/ws/chat/${serverId}` : kind === 'voice' ? `/ws/voice/${voiceId}` : '/ws/notifications');

function upgradeRequest(path: string, token: string): string {
  return (
    `GET ${path}?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** A raw connection upgraded to a WebSocket (101 received). */
async function rawUpgraded(kind: 'chat' | 'voice' | 'notifications') {
  const conn = await raw();
  conn.sock.write(upgradeRequest(wsPath(kind), fuzzer.token));
  await deadline(
    new Promise<void>((resolve, reject) => {
      const check = () => {
        const text = conn.out().toString('latin1');
        if (!text.includes('\r\n\r\n')) return;
        conn.sock.off('data', check);
        if (text.startsWith('HTTP/1.1 101 ')) resolve();
        else reject(new Error(`upgrade refused: ${text.slice(0, 80)}`));
      };
      conn.sock.on('data', check);
      check();
    }),
    '101',
  );
  return conn;
}

describe('fuzz: raw WebSocket frames after a valid upgrade', () => {
  it('closes or answers every frame sequence, the registry and the bystanders exact afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(
        kindArb,
        fc.array(frameArb, { minLength: 1, maxLength: 5 }),
        cutsArb,
        fc.constantFrom<'end' | 'destroy' | 'reset' | 'close-frame'>('end', 'close-frame', 'destroy', 'reset'),
        async (kind, frames, cuts, ending) => {
          const conn = await rawUpgraded(kind);
          const bytes = Buffer.concat([...frames.map(encodeFrame), ending === 'close-frame' ? encodeFrame({ fin: true, rsv: 0, opcode: 8, masked: true, len: 'minimal', payload: Buffer.from([3, 232]) }) : Buffer.alloc(0)]);
          await deliver(conn, tear(bytes, cuts), ending === 'close-frame' ? 'end' : ending);
          await invariants(`${kind} frames ${JSON.stringify(frames.map((f) => ({ ...f, payload: f.payload.length })))}`);
        },
      ),
      { seed: SEED, numRuns: 200 * SCALE, endOnFailure: true },
    );
  });
});

// ---------------------------------------------------------------- hostile message shapes

const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
const TYPES = ['message', 'typing', 'switch_channel', 'ping', 'pong', 'heartbeat', 'offer', 'answer', 'ice_candidate', 'mute', 'deafen', 'speaking', 'screen_share_start', 'screen_share_stop', ...PROTO_NAMES];
const FIELDS = ['content', 'text_channel_id', 'target_id', 'offer', 'answer', 'candidate', 'is_muted', 'is_deafened', 'is_speaking', ...PROTO_NAMES];

/** A JSON text of a hostile value (built as text, so depths that overflow JSON.stringify can be sent). */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
  { arbitrary: fc.integer({ min: 1, max: 12_000 }).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)), weight: 2 },
  fc.integer({ min: 1, max: 40_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 1, max: 3000 }).map((n) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])))),
  fc.integer({ min: 0, max: MAX_PAYLOAD + 100 }).map((n) => JSON.stringify('y'.repeat(n))),
  fc.constantFrom('-1', '0', '1.5', '1e308', '-0', '9007199254740993', '"1"', 'true', 'null', '[]', '{}', '"\\u0000"', '"\\ud800"', `{"__proto__":{"polluted":1}}`, `{"constructor":{"prototype":{"polluted":1}}}`),
  fc.constant('self').map(() => String(fuzzer.id)),
  fc.constant('owner').map(() => String(owner.id)),
  fc.constant('text').map(() => String(textChannelId)),
);
const idish = fc.oneof({ arbitrary: fc.constant('owner').map(() => String(owner.id)), weight: 3 }, fc.constant('text').map(() => String(textChannelId)), hostileValue);
/** Shaped like the protocol's own messages, one field hostile: these reach the handlers' deep paths. */
const shaped: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(['offer', 'offer'], ['answer', 'answer'], ['ice_candidate', 'candidate']), idish, hostileValue).map(([[t, f], id, v]) => `{"type":"${t}","target_id":${id},"${f}":${v}}`),
  fc.tuple(fc.constantFrom('message', 'typing', 'switch_channel'), hostileValue, idish).map(([t, v, id]) => `{"type":"${t}","content":${v},"text_channel_id":${id}}`),
  fc.tuple(fc.constantFrom(['mute', 'is_muted'], ['deafen', 'is_deafened'], ['speaking', 'is_speaking']), hostileValue).map(([[t, f], v]) => `{"type":"${t}","${f}":${v}}`),
);
const hostileMessage: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: shaped, weight: 3 },
  fc
    .tuple(fc.oneof(fc.constantFrom(...TYPES).map((t) => JSON.stringify(t)), hostileValue), fc.array(fc.tuple(fc.constantFrom(...FIELDS), hostileValue), { maxLength: 4 }))
    .map(([type, fields]) => `{"type":${type}${fields.map(([k, v]) => `,${JSON.stringify(k)}:${v}`).join('')}}`),
  hostileValue,
  fc.string({ maxLength: 50 }),
);

describe('fuzz: hostile message shapes on chat, voice and notifications sockets', () => {
  it('answers each with a frame or an error and keeps the socket, unless the frame is over the cap (1009)', async () => {
    await fc.assert(
      fc.asyncProperty(kindArb, fc.array(hostileMessage, { minLength: 1, maxLength: 6 }), async (kind, msgs) => {
        const p = await Peer.open(wsPath(kind), fuzzer.token, kind === 'voice' ? 'participants' : undefined);
        const tooBig = msgs.some((m) => Buffer.byteLength(m) > MAX_PAYLOAD);
        const closed = once(p.ws, 'close');
        for (const m of msgs) p.ws.send(m);
        if (tooBig) {
          const [code] = (await deadline(closed, 'close 1009')) as [number];
          expect(code).toBe(1009);
        } else {
          await p.ping();
          expect(p.ws.readyState).toBe(WebSocket.OPEN);
          await p.close();
        }
        await invariants(`${kind} messages ${JSON.stringify(msgs.map((m) => m.slice(0, 60)))}`);
      }),
      { seed: SEED, numRuns: 100 * SCALE, endOnFailure: true },
    );
  });
});

// ---------------------------------------------------------------- open / abort / half-open

type Step =
  | { do: 'clean' | 'terminate' | 'abort-before-101' | 'fin-before-101' | 'fin-after-101' | 'partial-headers' | 'silent-then-reset'; kind: 'chat' | 'voice' | 'notifications'; cut: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  do: fc.constantFrom('clean', 'terminate', 'abort-before-101', 'fin-before-101', 'fin-after-101', 'partial-headers', 'silent-then-reset'),
  kind: kindArb,
  cut: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
});

async function runStep(st: Step): Promise<void> {
  switch (st.do) {
    case 'clean': {
      const p = await Peer.open(wsPath(st.kind), fuzzer.token);
      await p.close();
      return;
    }
    case 'terminate': {
      const p = await Peer.open(wsPath(st.kind), fuzzer.token);
      const closed = once(p.ws, 'close');
      p.ws.terminate();
      await closed;
      return;
    }
    case 'abort-before-101':
    case 'fin-before-101': {
      const conn = await raw();
      return deliver(conn, [Buffer.from(upgradeRequest(wsPath(st.kind), fuzzer.token))], st.do === 'fin-before-101' ? 'end' : 'destroy');
    }
    case 'fin-after-101':
    case 'silent-then-reset': {
      const conn = await rawUpgraded(st.kind);
      return deliver(conn, [], st.do === 'fin-after-101' ? 'end' : 'reset');
    }
    case 'partial-headers': {
      const conn = await raw();
      const req = Buffer.from(upgradeRequest(wsPath(st.kind), fuzzer.token));
      return deliver(conn, [req.subarray(0, Math.floor(st.cut * req.length))], st.cut < 0.5 ? 'end' : 'destroy');
    }
  }
}

describe('fuzz: open, abort and half-open sequences', () => {
  it('leaves exactly the bystander registered, whether the steps run one by one or all at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 8 }), fc.boolean(), async (steps, together) => {
        if (together) await Promise.all(steps.map(runStep));
        else for (const st of steps) await runStep(st);
        await invariants(`${together ? 'concurrent' : 'sequential'} ${JSON.stringify(steps.map((x) => `${x.do}:${x.kind}`))}`);
      }),
      { seed: SEED, numRuns: 40 * SCALE, endOnFailure: true },
    );
  });
});
