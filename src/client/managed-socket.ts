import { clock } from '../clock.js';
import { errorDetail, parseFrame, type SocketKind } from '../protocol/messages.js';
import type { ClientEnv, UserIdentity } from './client-env.js';
import type { SocketRecord, UserLedger } from './ledger.js';
import type { Refusal, SocketEvent } from './socket-events.js';
import type { Capabilities } from './capabilities.js';
import { CLOSED, OPEN, WireSocket } from './wire-socket.js';

/** Close codes that mean "refused" (bad token, unknown or full room, a limit), never retried. */
export const REFUSAL_CLOSE_CODES: ReadonlySet<number> = new Set([1008, 1013, 4001, 4004, 4005, 4008]);

const RECONNECT_BASE_MS = 250;
const RECONNECT_CAP_MS = 5000;
const RECONNECT_MAX_ATTEMPTS = 6;
const CLOSE_GRACE_MS = 3000;

export type { ConnectOutcome } from './metrics-subscriber.js';
export type { Refusal } from './socket-events.js';

/** Distributes over the union, so each kind keeps its own fields. */
type EventBody = SocketEvent extends infer E ? (E extends SocketEvent ? Omit<E, 'socket' | 'ledger' | 'identity' | 'rec' | 't'> : never) : never;

/** What a socket needs from the simulated user that owns it. */
export interface SocketOwner {
  readonly env: ClientEnv;
  readonly ledger: UserLedger;
  readonly caps: Capabilities;
  /** the logged-in identity (sockets are only opened after login) */
  readonly identity: UserIdentity | null;
  /** the user's seeded stream (reconnect jitter) */
  random(): number;
}

/** One WebSocket connection, from open to close. A ManagedSocket goes through several on reconnects. */
export interface Conn {
  /** unique in the process: the delivery tracker keys on it */
  readonly id: number;
  readonly ws: WireSocket;
  readonly rec: SocketRecord;
  closingByClient: boolean;
  frozen: boolean;
  abandoned: boolean;
  /** clock.now() of the ping in flight (its intended time), 0 when none */
  pingAt: number;
  readonly closed: Promise<void>;
}

export interface SocketHandlers {
  onFrame(conn: Conn, frame: { type: string; [k: string]: unknown }): void;
  /**
   * Sees each frame's bytes first; true when it handled the frame, so it is not parsed.
   * The hot path of chat deliveries: recognising our own messages costs no JSON.parse.
   */
  onRaw?(conn: Conn, data: Buffer): boolean;
  onOpen?(conn: Conn): void;
  onClosed?(conn: Conn, byClient: boolean): void;
}

let nextConnId = 1;

/** Why the server refused an upgrade: Miscord's `{detail}`, else the status text, else the status. */
export function upgradeRefusal(status: number, statusText: string, body: string): Refusal {
  return { status, reason: errorDetail(body) ?? (statusText || `HTTP ${status}`) };
}

/**
 * A socket of one kind that a simulated user keeps open: opens (recording refusals on the
 * upgrade and refusal close codes alike), reconnects with capped exponential backoff and
 * seeded jitter when the server drops it, pings, freezes, abandons, and closes.
 */
export class ManagedSocket {
  conn: Conn | null = null;
  lastRefusal: Refusal | null = null;
  /** froze on purpose: stays true after the server reaps the connection */
  frozen = false;
  private closed = false;
  private opening: WireSocket | null = null;
  private readonly abandoned = new Set<Conn>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;

  constructor(
    private readonly owner: SocketOwner,
    readonly kind: SocketKind,
    private readonly path: string,
    readonly channelId: number | null,
    private readonly handlers: SocketHandlers,
    private readonly reconnect = true,
  ) {}

  get isOpen(): boolean {
    return !!this.conn && !this.conn.frozen && this.conn.ws.readyState === OPEN;
  }

  /**
   * Opens a new connection; resolves null when refused, unreachable or the kind is unavailable.
   * One connection is current at a time: an explicit open supersedes a pending reconnect (and
   * closes one that landed first); a reconnect that lands after an explicit open closes itself.
   */
  open(intendedAt = clock.now(), reconnect = false): Promise<Conn | null> {
    const { env, ledger, caps, identity } = this.owner;
    if (this.closed || env.signal.aborted) return Promise.resolve(null);
    if (!reconnect && this.reconnectTimer !== undefined) {
      clock.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
    if (!caps.available(this.kind)) {
      env.metrics.inc(`skipped.${this.kind}`);
      return Promise.resolve(null);
    }
    const rec = ledger.newSocket(this.kind, this.channelId);
    this.emit(rec, { kind: 'opening' });
    return new Promise<Conn | null>((resolve) => {
      let conn: Conn | null = null;
      let resolveClosed!: () => void;
      let settled = false;
      const fail = (refusal: Refusal | null, error?: string) => {
        if (settled) return;
        settled = true;
        if (this.opening === ws) this.opening = null;
        if (refusal) {
          this.lastRefusal = refusal;
          const what = refusal.status !== undefined ? `HTTP ${refusal.status}` : `close ${refusal.code}`;
          this.emit(rec, { kind: 'refused', refusal, connectMs: clock.now() - intendedAt });
          caps.socketRefused(this.kind, `${what}${refusal.reason ? ` ${refusal.reason}` : ''}`);
        } else {
          this.emit(rec, { kind: 'failed', error, connectMs: clock.now() - intendedAt });
        }
        resolve(null);
      };
      const onOpen = () => {
        settled = true;
        if (this.opening === ws) this.opening = null;
        const connectMs = clock.now() - intendedAt;
        caps.socketOpened(this.kind);
        this.emit(rec, { kind: 'open', connectMs });
        const closed = new Promise<void>((r) => (resolveClosed = r));
        const c: Conn = { id: nextConnId++, ws, rec, closingByClient: false, frozen: false, abandoned: false, pingAt: 0, closed };
        conn = c;
        const current = this.conn;
        if (this.closed || (reconnect && current && !current.frozen)) {
          // the session closed meanwhile, or an explicit open made another connection current
          void this.closeConn(c);
          resolve(null);
          return;
        }
        if (current && !current.frozen) void this.closeConn(current);
        this.conn = c;
        this.attempts = 0;
        this.handlers.onOpen?.(c);
        resolve(c);
      };
      const onRaw = this.handlers.onRaw;
      const ws = new WireSocket(`${env.wsUrl}${this.path}?token=${encodeURIComponent(identity?.token ?? '')}`, {
        open: onOpen,
        refused: (status, text, body) => fail(upgradeRefusal(status, text, body)),
        message: (data) => {
          if (conn === null || (onRaw !== undefined && onRaw(conn, data))) return;
          const frame = parseFrame(data);
          if (frame) this.handlers.onFrame(conn, frame);
          else env.metrics.inc('errors.frame');
        },
        pong: () => {
          if (conn?.pingAt) {
            env.metrics.record('ws.ping_rtt', clock.now() - conn.pingAt);
            conn.pingAt = 0;
          }
        },
        error: (err) => {
          if (conn === null) return fail(null, err.message);
          this.emit(rec, { kind: 'error', error: err.message });
        },
        close: (code, reason) => {
          if (conn === null) return fail(null, `closed ${code} before open`);
          this.onClose(conn, code, reason);
          resolveClosed();
        },
      }, env.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: env.handshakeTimeoutMs } : {});
      this.opening = ws;
    });
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    const { env } = this.owner;
    const by = conn.closingByClient ? 'client' : 'server';
    // an accepted socket closed at once for a limit or a bad token is a refusal all the same
    const refused = by === 'server' && REFUSAL_CLOSE_CODES.has(code);
    if (refused) this.lastRefusal = { code, reason };
    this.emit(conn.rec, { kind: 'closed', code, reason, by, refused, crashed: conn.rec.crashed === true });
    this.handlers.onClosed?.(conn, by === 'client');
    this.abandoned.delete(conn);
    if (this.conn !== conn) return;
    this.conn = null;
    if (by === 'server' && !refused && !conn.frozen && this.reconnect && !this.closed && !env.signal.aborted) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const { env, ledger } = this.owner;
    if (this.attempts >= RECONNECT_MAX_ATTEMPTS) {
      ledger.error('reconnect', `${this.kind}: gave up after ${this.attempts} attempts`);
      env.metrics.inc('errors.reconnect_gave_up');
      return;
    }
    const wait = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** this.attempts) * (0.5 + 0.5 * this.owner.random());
    this.attempts++;
    ledger.reconnectAttempt();
    env.metrics.inc('ws.reconnects');
    this.reconnectTimer = clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.conn && !this.conn.frozen) return;
      void this.open(clock.now(), true).then((c) => {
        if (!c && !this.closed && !this.conn && !this.lastRefusalIsFinal()) this.scheduleReconnect();
      });
    }, wait);
  }

  private lastRefusalIsFinal(): boolean {
    return !!this.lastRefusal || !this.owner.caps.available(this.kind);
  }

  /** A protocol-level ping; the round trip (from `intendedAt`) goes to ws.ping_rtt. One in flight at a time. */
  ping(intendedAt = clock.now()): void {
    const c = this.conn;
    if (!c || c.frozen || c.pingAt !== 0 || c.ws.readyState !== OPEN) return;
    c.pingAt = intendedAt;
    c.ws.ping();
  }

  /** One event of this socket on the users' stream. */
  private emit(rec: SocketRecord, body: EventBody): void {
    const { env, ledger, identity } = this.owner;
    env.stream.publish({ ...body, socket: this.kind, ledger, identity, rec, t: clock.now() } as SocketEvent);
  }

  /** A message received, on the stream while someone listens (the notifications session's voice events). */
  publish(kind: 'recv', rec: SocketRecord, more: { type: string; subject: number | null; channel?: number }): void {
    if (this.owner.env.stream.listens(kind)) this.emit(rec, { kind, ...more });
  }

  /** Sends a text frame; false when there is no usable connection. */
  send(text: string): boolean {
    const c = this.conn;
    if (!c || c.frozen || c.ws.readyState !== OPEN) return false;
    c.ws.send(text);
    return true;
  }

  /** Stops answering pings and sending, without closing: the server must reap it. */
  freeze(): Conn | null {
    const c = this.conn;
    if (!c || c.frozen) return null;
    c.frozen = true;
    this.frozen = true;
    c.ws.autoPong = false;
    this.emit(c.rec, { kind: 'frozen' });
    return c;
  }

  /**
   * A killed tab: the TCP connection is destroyed with no close frame, and never reopened.
   * The server must notice (the connection, or its heartbeat) and forget it.
   */
  crash(): Conn | null {
    const c = this.conn;
    if (!c || c.ws.readyState !== OPEN) return null;
    this.closed = true;
    clock.clearTimeout(this.reconnectTimer);
    c.closingByClient = true;
    this.emit(c.rec, { kind: 'crashed' });
    c.ws.terminate();
    return c;
  }

  /** Forgets the current connection without closing it (the leaky client); it stays open until close(). */
  abandon(): Conn | null {
    const c = this.conn;
    if (!c) return null;
    c.abandoned = true;
    this.conn = null;
    this.abandoned.add(c);
    // it reads nothing from now on: as good as frozen for whoever expects it to hear something
    this.emit(c.rec, { kind: 'abandoned' });
    return c;
  }

  /** Closes one connection from the client side and waits for the close to finish. */
  async closeConn(c: Conn, code = 1000): Promise<void> {
    if (c.ws.readyState === CLOSED) return c.closed;
    if (!c.closingByClient) {
      c.closingByClient = true;
      this.emit(c.rec, { kind: 'closing', code });
      c.ws.close(code);
    }
    const t = clock.setTimeout(() => c.ws.terminate(), CLOSE_GRACE_MS);
    try {
      await c.closed;
    } finally {
      clock.clearTimeout(t);
    }
  }

  /** Closes the current connection (keeping the session usable for a later open()). */
  async closeCurrent(code = 1000): Promise<void> {
    const c = this.conn;
    if (c) await this.closeConn(c, code);
  }

  /** Closes everything this socket ever opened and stops reconnecting; idempotent. */
  async close(code = 1000): Promise<void> {
    this.closed = true;
    clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.opening?.terminate();
    const all = [...this.abandoned];
    if (this.conn) all.push(this.conn);
    await Promise.all(all.map((c) => this.closeConn(c, code)));
  }
}
