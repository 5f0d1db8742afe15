import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { clock } from '../clock.js';

/**
 * The bench's own WebSocket client (RFC 6455, no extensions): the receive path of tens of
 * thousands of deliveries a second, where `ws` spent most of the generator's time.
 *
 * Plain `ws://` sockets read through Node's `onread`: the kernel's bytes land in one buffer
 * shared by every socket of the process and are parsed in place, with no Buffer, stream push
 * or event per read, and no Buffer per frame but the view handed to `message`. `wss://` reads
 * the TLS socket's chunks through the same parser. Whatever is left of a frame split across
 * reads is copied out, and only then.
 *
 * It does what a client must: masks what it sends, validates the upgrade (status, Upgrade,
 * Sec-WebSocket-Accept, no extension or subprotocol it did not ask for), reassembles fragments,
 * answers pings (unless `autoPong` is off: a frozen client), echoes the close handshake, and
 * fails the connection on a protocol error with the RFC's status (1002 a bad frame, 1007
 * invalid UTF-8, 1009 too big), which `close` then reports as the code.
 */

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
export type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSING | typeof CLOSED;

export interface WireSocketHandlers {
  /** the upgrade succeeded */
  open(): void;
  /** the server answered the upgrade with another status: the status, its text, the start of the body */
  refused(status: number, statusText: string, body: string): void;
  /** a whole message; `data` is a view of a shared buffer, valid only during the call */
  message(data: Buffer): void;
  pong(): void;
  error(err: Error): void;
  /** last, exactly once: the close frame's code and reason, a protocol error's status, or 1006 */
  close(code: number, reason: string): void;
}

export interface WireSocketOptions {
  /** abort the upgrade after this long (default DEFAULT_HANDSHAKE_TIMEOUT_MS, 60 s: longer than a server's own stall) */
  handshakeTimeoutMs?: number;
  /** the largest message accepted, fragments included (default 64 MiB); beyond it the socket fails with 1009 */
  maxPayload?: number;
  /** for `wss://`: extra TLS options (a private CA, say) */
  tls?: tls.ConnectionOptions;
}

/** A server that stalls an upgrade (a pool exhausted, say) often answers after 30 s: wait longer, so it is a refusal, not our timeout. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 60_000;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD = 16 * 1024;
const MAX_REFUSAL_BODY = 512;
/** how long a refused upgrade's body may take to arrive */
const REFUSAL_BODY_WAIT_MS = 1000;
/** after our close frame (or a failure), how long the server has to close the TCP connection */
const CLOSE_TIMEOUT_MS = 10_000;
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const MASKS = Buffer.allocUnsafe(4096);
let maskAt = MASKS.length;
const EMPTY = Buffer.alloc(0);
const noop = (): void => {};

/** A protocol error: `status` is the close code it fails the connection with. */
export class WireSocketError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'WireSocketError';
  }
}

const validCloseCode = (c: number): boolean => (c >= 1000 && c <= 1014 && c !== 1004 && c !== 1005 && c !== 1006) || (c >= 3000 && c <= 4999);

export class WireSocket {
  readyState: ReadyState = CONNECTING;
  /** answer pings (ws's autoPong); a frozen client turns it off */
  autoPong = true;
  private readonly socket: net.Socket;
  private readonly key = randomBytes(16).toString('base64');
  private readonly maxPayload: number;
  /** bytes kept from earlier reads: a frame or head not yet whole, and how many it needs */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private need = 0;
  private fragments: Buffer[] | null = null;
  private fragmentsLength = 0;
  private fragmentsOp = 0;
  /** a refused upgrade whose body is still coming */
  private refusal: { status: number; text: string; raw: string; chunked: boolean; left: number } | null = null;
  private closeSent = false;
  private closeReceived = false;
  private closeCode = 1006;
  private closeReason = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    url: string,
    public handlers: WireSocketHandlers,
    opts: WireSocketOptions = {},
  ) {
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a WebSocket URL: ${url}`);
    this.maxPayload = opts.maxPayload ?? 64 * 1024 * 1024;
    const secure = u.protocol === 'wss:';
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    const port = Number(u.port) || (secure ? 443 : 80);
    if (secure) {
      this.socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...opts.tls });
      this.socket.on('data', (chunk: Buffer) => this.onBytes(chunk, chunk.length));
    } else {
      this.socket = net.connect({ host, port, onread: { buffer: READ_BUFFER, callback: (n, buf) => (this.onBytes(buf as Buffer, n), true) } });
    }
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => this.emitError(err));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.onSocketClose());
    this.socket.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    this.timer = clock.setTimeout(() => this.abort('opening handshake has timed out'), opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
  }

  /** Sends a text message; dropped unless open. */
  send(text: string): void {
    if (this.readyState !== OPEN) return;
    const length = Buffer.byteLength(text);
    const at = headerLength(length);
    const frame = Buffer.allocUnsafe(at + length);
    frame.write(text, at);
    this.write(0x1, frame, at, length);
  }

  /** A protocol-level ping; `handlers.pong` hears the answer. */
  ping(): void {
    if (this.readyState === OPEN) this.sendControl(0x9, EMPTY);
  }

  /** Starts the closing handshake (or aborts an upgrade in flight); `handlers.close` follows. */
  close(code = 1000, reason = ''): void {
    if (this.readyState === CLOSED) return;
    if (this.readyState === CONNECTING) return this.abort('closed before the connection was established');
    if (this.closeSent) return;
    this.readyState = CLOSING;
    this.sendClose(code, reason);
    if (this.closeReceived) this.socket.end();
    this.armCloseTimer();
  }

  /** Drops the connection at once, no closing handshake. */
  terminate(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSING;
    this.socket.destroy();
  }

  // ---- receiving

  /** `buf[0, n)` just arrived. */
  private onBytes(buf: Buffer, n: number): void {
    if (this.pendingLength > 0) {
      // copy now: a shared read buffer is overwritten by the next read of any socket
      this.pending.push(Buffer.from(buf.subarray(0, n)));
      this.pendingLength += n;
      if (this.pendingLength < this.need) return;
      buf = Buffer.concat(this.pending, this.pendingLength);
      n = buf.length;
      this.pending = [];
      this.pendingLength = 0;
    }
    if (this.refusal) return this.readRefusalBody(buf, 0, n);
    let i = 0;
    if (this.readyState === CONNECTING) {
      i = this.readHead(buf, n);
      if (i < 0) return this.keep(buf, 0, n);
    }
    while (i < n && !this.socket.destroyed) {
      const next = this.readFrame(buf, i, n);
      if (next < 0) return this.keep(buf, i, n);
      i = next;
    }
  }

  /** Keeps `buf[from, n)` when a head or frame there is not whole yet (`need` says how much it needs). */
  private keep(buf: Buffer, from: number, n: number): void {
    if (this.need === 0 || this.socket.destroyed) return;
    this.pending.push(Buffer.from(buf.subarray(from, n)));
    this.pendingLength = n - from;
  }

  /** The upgrade's answer; the index after it, or -1 (incomplete, refused or failed). */
  private readHead(buf: Buffer, n: number): number {
    const end = buf.subarray(0, n).indexOf('\r\n\r\n');
    if (end < 0) {
      if (n > MAX_HEAD) return this.abort('upgrade response head too large'), -1;
      this.need = n + 1;
      return -1;
    }
    const [statusLine = '', ...lines] = buf.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) return this.abort(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 60))}`), -1;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const status = Number(m[1]);
    if (status !== 101) {
      const declared = Number(headers.get('content-length') ?? NaN);
      const chunked = /chunked/i.test(headers.get('transfer-encoding') ?? '');
      const left = chunked ? MAX_REFUSAL_BODY * 4 : Number.isFinite(declared) ? Math.min(declared, MAX_REFUSAL_BODY) : MAX_REFUSAL_BODY;
      this.refusal = { status, text: m[2] ?? '', raw: '', chunked, left };
      // a body with no length ends when the server closes; do not wait on it for long
      clock.clearTimeout(this.timer);
      this.timer = clock.setTimeout(() => this.finishRefusal(), REFUSAL_BODY_WAIT_MS);
      this.readRefusalBody(buf, end + 4, n);
      return -1;
    }
    const accept = createHash('sha1').update(this.key + GUID).digest('base64');
    if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') return this.abort('invalid Upgrade header'), -1;
    if (headers.get('sec-websocket-accept') !== accept) return this.abort('invalid Sec-WebSocket-Accept header'), -1;
    if (headers.has('sec-websocket-extensions')) return this.abort('server sent an extension that was not requested'), -1;
    if (headers.has('sec-websocket-protocol')) return this.abort('server sent a subprotocol that was not requested'), -1;
    clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.readyState = OPEN;
    this.need = 0;
    this.handlers.open();
    return end + 4;
  }

  private readRefusalBody(buf: Buffer, from: number, n: number): void {
    const r = this.refusal!;
    const take = Math.min(r.left, n - from);
    r.raw += buf.toString('latin1', from, from + take);
    r.left -= take;
    this.need = 0;
    if (r.left <= 0 || (r.chunked && dechunk(r.raw).done)) this.finishRefusal();
  }

  private finishRefusal(): void {
    const r = this.refusal;
    if (!r || this.readyState === CLOSED) return;
    this.refusal = null;
    this.need = 0;
    clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.readyState = CLOSING;
    const body = Buffer.from(r.chunked ? dechunk(r.raw).body : r.raw, 'latin1').toString('utf8');
    this.handlers.refused(r.status, r.text, body);
    this.socket.destroy();
  }

  /** One frame at `buf[i]`; the index after it, or -1 (incomplete, or the connection failed). */
  private readFrame(buf: Buffer, i: number, n: number): number {
    const avail = n - i;
    if (avail < 2) return (this.need = 2), -1;
    const b0 = buf[i]!;
    const b1 = buf[i + 1]!;
    const op = b0 & 0x0f;
    if (b0 & 0x70) return this.fail(1002, 'RSV bits set without an extension');
    if (b1 & 0x80) return this.fail(1002, 'a server frame must not be masked');
    if (op >= 0x8 && ((b0 & 0x80) === 0 || (b1 & 0x7f) > 125)) return this.fail(1002, 'a control frame must be whole and at most 125 bytes');
    let length = b1 & 0x7f;
    let at = i + 2;
    if (length === 126) {
      if (avail < 4) return (this.need = 4), -1;
      length = buf.readUInt16BE(i + 2);
      at += 2;
    } else if (length === 127) {
      if (avail < 10) return (this.need = 10), -1;
      const high = buf.readUInt32BE(i + 2);
      if (high > 0x1fffff) return this.fail(1009, 'frame length beyond 2^53');
      length = high * 2 ** 32 + buf.readUInt32BE(i + 6);
      at += 8;
    }
    if (length + (op === 0 ? this.fragmentsLength : 0) > this.maxPayload) return this.fail(1009, `message larger than ${this.maxPayload} bytes`);
    const end = at + length;
    if (end > n) return (this.need = end - i), -1;
    this.need = 0;
    return this.onFrame(b0, op, buf, at, end) ? end : -1;
  }

  /** false when the frame failed the connection */
  private onFrame(b0: number, op: number, buf: Buffer, at: number, end: number): boolean {
    const fin = (b0 & 0x80) !== 0;
    switch (op) {
      case 0x1:
      case 0x2:
        if (this.fragments) return this.fail(1002, 'a new message inside a fragmented one') >= 0;
        if (fin) return this.deliver(op, buf.subarray(at, end));
        this.fragments = [Buffer.from(buf.subarray(at, end))];
        this.fragmentsLength = end - at;
        this.fragmentsOp = op;
        return true;
      case 0x0: {
        if (!this.fragments) return this.fail(1002, 'a continuation frame with no message to continue') >= 0;
        this.fragments.push(Buffer.from(buf.subarray(at, end)));
        this.fragmentsLength += end - at;
        if (!fin) return true;
        const data = Buffer.concat(this.fragments, this.fragmentsLength);
        this.fragments = null;
        this.fragmentsLength = 0;
        return this.deliver(this.fragmentsOp, data);
      }
      case 0x8:
        return this.onCloseFrame(buf, at, end);
      case 0x9:
        if (this.autoPong && this.readyState === OPEN) this.sendControl(0xa, buf.subarray(at, end));
        return true;
      case 0xa:
        this.handlers.pong();
        return true;
      default:
        return this.fail(1002, `unknown opcode ${op}`) >= 0;
    }
  }

  private deliver(op: number, data: Buffer): boolean {
    if (op === 0x1 && !isUtf8(data)) return this.fail(1007, 'invalid UTF-8 in a text message') >= 0;
    this.handlers.message(data);
    return !this.socket.destroyed;
  }

  private onCloseFrame(buf: Buffer, at: number, end: number): boolean {
    if (end - at === 1) return this.fail(1002, 'a close frame of one byte') >= 0;
    let code = 1005;
    let reason = '';
    if (end - at >= 2) {
      code = buf.readUInt16BE(at);
      if (!validCloseCode(code)) return this.fail(1002, `invalid close code ${code}`) >= 0;
      if (!isUtf8(buf.subarray(at + 2, end))) return this.fail(1007, 'invalid UTF-8 in a close reason') >= 0;
      reason = buf.toString('utf8', at + 2, end);
    }
    this.closeReceived = true;
    this.closeCode = code;
    this.closeReason = reason;
    this.need = 0;
    if (!this.closeSent) {
      this.readyState = CLOSING;
      this.sendClose(code === 1005 ? 0 : code, '');
    }
    this.socket.end();
    this.armCloseTimer();
    return false;
  }

  // ---- sending

  private sendControl(op: number, payload: Buffer): void {
    const at = headerLength(payload.length);
    const frame = Buffer.allocUnsafe(at + payload.length);
    payload.copy(frame, at);
    this.write(op, frame, at, payload.length);
  }

  /** a close frame; code 0 sends one with no body */
  private sendClose(code: number, reason: string): void {
    this.closeSent = true;
    const body = code === 0 ? EMPTY : Buffer.allocUnsafe(2 + Buffer.byteLength(reason));
    if (code !== 0) {
      body.writeUInt16BE(code, 0);
      body.write(reason, 2);
    }
    this.sendControl(0x8, body);
  }

  /** Fills in the header and mask of `frame` (payload at `at`) and writes it. */
  private write(op: number, frame: Buffer, at: number, length: number): void {
    if (this.socket.destroyed) return;
    frame[0] = 0x80 | op;
    if (length < 126) frame[1] = 0x80 | length;
    else if (length < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
      frame.writeUInt32BE(length >>> 0, 6);
    }
    if (maskAt + 4 > MASKS.length) {
      randomFillSync(MASKS);
      maskAt = 0;
    }
    const m = at - 4;
    MASKS.copy(frame, m, maskAt, maskAt + 4);
    maskAt += 4;
    for (let i = 0; i < length; i++) frame[at + i]! ^= frame[m + (i & 3)]!;
    this.socket.write(frame);
  }

  // ---- ending

  /** Fails the connection with a protocol error: tell the server why, then drop it. Returns -1. */
  private fail(status: number, message: string): number {
    this.need = 0;
    if (this.socket.destroyed) return -1;
    this.emitError(new WireSocketError(message, status));
    this.closeCode = status;
    this.fragments = null;
    if (!this.closeSent) this.sendClose(status, '');
    this.readyState = CLOSING;
    this.socket.destroy();
    return -1;
  }

  /** An upgrade that cannot go on (bad answer, timeout, closed before open). */
  private abort(message: string): void {
    this.need = 0;
    if (this.socket.destroyed) return;
    this.emitError(new Error(message));
    this.readyState = CLOSING;
    this.socket.destroy();
  }

  private emitError(err: Error): void {
    if (this.readyState === CLOSED) return;
    this.handlers.error(err);
  }

  private onEnd(): void {
    // the server closed its side: a refusal without a length ends its body here
    if (this.refusal) return this.finishRefusal();
    this.socket.end();
  }

  private armCloseTimer(): void {
    clock.clearTimeout(this.timer);
    this.timer = clock.setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
  }

  private onSocketClose(): void {
    if (this.refusal) this.finishRefusal();
    clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.readyState = CLOSED;
    this.pending = [];
    this.pendingLength = 0;
    this.fragments = null;
    const handlers = this.handlers;
    this.handlers = { open: noop, refused: noop, message: noop, pong: noop, error: noop, close: noop };
    handlers.close(this.closeCode, this.closeReason);
  }
}

/** The body of a chunked transfer (as far as it came), and whether its last chunk came. */
export function dechunk(raw: string): { body: string; done: boolean } {
  let body = '';
  let i = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', i);
    if (eol < 0) return { body, done: false };
    const size = parseInt(raw.slice(i, eol), 16);
    if (!(size >= 0)) return { body, done: true }; // not chunked after all: keep what was read
    if (size === 0) return { body, done: true };
    body += raw.slice(eol + 2, eol + 2 + size);
    if (raw.length < eol + 2 + size + 2) return { body, done: false };
    i = eol + 2 + size + 2;
  }
}

/** header and mask bytes of a client frame with this payload length */
function headerLength(length: number): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + 4;
}
