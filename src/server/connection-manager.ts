import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { clock } from '../clock.js';
import type { Logger } from '../log.js';
import { CLOSE, type SocketKind, type StatsConnection, type StatsCounters } from '../protocol/messages.js';
import type { FaultName } from './faults.js';

/** One accepted socket and what the server knows of it. */
/** the heap-leak fault's hoard */
const heapLeak: number[][] = [];
/** arrays the heap-leak fault holds (process-wide), for its test */
export function heapLeakRetained(): number {
  return heapLeak.length;
}

export interface Conn {
  id: string;
  userId: number;
  username: string;
  kind: SocketKind;
  /** the URL id: server id for chat, voice channel id for voice, null for notifications */
  channelId: number | null;
  /** chat only: the text channel after an in-band switch (null: every text channel) */
  textChannelId: number | null;
  connectedAt: number;
  lastSeenAt: number;
  ws: WebSocket;
  /** pings sent since the last one answered */
  missed: number;
  /** the heartbeat's pings carry this nonce and their sequence number; a pong must echo one outstanding */
  pingNonce: Buffer;
  pingsSent: number;
  /** sequence number of the latest ping answered */
  pingsAnswered: number;
  /** closed for a send queue over maxSendQueueBytes */
  dropped: boolean;
  /** terminated by the heartbeat */
  reaped: boolean;
  /** the close was handled (guards against double deregistration) */
  closed: boolean;
  /** crash-kept fault: its socket died without a close frame and the server never handled it */
  kept: boolean;
}

export interface Refusal {
  code: number;
  reason: string;
}

export interface ConnectionManagerOptions {
  heartbeatMs: number;
  missedPongs: number;
  maxPerUser: number;
  maxTotal: number;
  maxSendQueueBytes: number;
  faults: ReadonlySet<FaultName>;
  faultDelayMs: number;
  log: Logger;
}

const TAG = '[ConnectionManager]';

/**
 * The registry the stats route reports, the limits, and the heartbeat. Delivery does not go
 * through the registry (each socket kind keeps its own subscriber sets), so a registry bug
 * such as slot-overwrite hides a socket from the stats while it still receives, as in Miscord.
 *
 * Invariant on a clean server: every accepted socket is registered once on accept and
 * deregistered exactly once when its `close` event fires (clean close, terminate or reap).
 */
export class ConnectionManager {
  private readonly registry = new Map<string, Conn>();
  private readonly perUser = new Map<number, number>();
  /** every open registered socket, whatever the registry says (heartbeat and shutdown) */
  readonly live = new Set<Conn>();
  /** stale-presence fault: every user that ever held a socket (is_online never goes back to false) */
  readonly everOnline = new Set<number>();
  /** slot-overwrite: (user, kind, channel) → the conn id the registry holds for it */
  private readonly slots = new Map<string, string>();
  private readonly delayed = new Set<NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | undefined;
  private seq = 0;
  readonly counters: Required<StatsCounters> = { connections_opened: 0, connections_closed: 0, rejected: 0, reaped: 0, slow_consumers_dropped: 0 };

  constructor(private readonly o: ConnectionManagerOptions) {}

  /**
   * Checks the limits for one more socket of `userId`. `pending` counts the sockets the
   * gateway holds outside the registry (handshakes in flight, refused sockets still closing):
   * they take their share of the total limit.
   */
  admit(userId: number, pending = 0): Refusal | null {
    if (this.registry.size + pending >= this.o.maxTotal) {
      return { code: CLOSE.tryAgainLater, reason: `server full: ${this.o.maxTotal} connections (MAX_TOTAL_CONNECTIONS)` };
    }
    const n = this.perUser.get(userId) ?? 0;
    // per-user-off-by-one fault: `>` where `>=` belongs, so max_per_user + 1 sockets get in
    const over = this.o.faults.has('per-user-off-by-one') ? n > this.o.maxPerUser : n >= this.o.maxPerUser;
    if (over) {
      return { code: CLOSE.perUserLimit, reason: `too many connections for user ${userId}: ${n} of ${this.o.maxPerUser} (MAX_CONNECTIONS_PER_USER)` };
    }
    return null;
  }

  /** Counts a socket refused at accept (bad token, unknown id, full room or a limit). */
  countRejected(): void {
    this.counters.rejected++;
  }

  register(ws: WebSocket, userId: number, username: string, kind: SocketKind, channelId: number | null): Conn {
    const now = clock.wall();
    const conn: Conn = {
      id: `c${++this.seq}`,
      userId,
      username,
      kind,
      channelId,
      textChannelId: null,
      connectedAt: now,
      lastSeenAt: now,
      ws,
      missed: 0,
      pingNonce: randomBytes(8),
      pingsSent: 0,
      pingsAnswered: 0,
      dropped: false,
      reaped: false,
      closed: false,
      kept: false,
    };
    this.live.add(conn);
    this.counters.connections_opened++;
    if (this.o.faults.has('stale-presence')) this.everOnline.add(userId);
    if (this.o.faults.has('slot-overwrite')) {
      const key = slotKey(conn);
      const prev = this.slots.get(key);
      if (prev) this.removeEntry(prev);
      this.slots.set(key, conn.id);
    }
    this.addEntry(conn);
    if (this.o.faults.has('heap-leak')) {
      // fault: each socket leaves ~4 KB of JS heap behind, held for the server's lifetime
      heapLeak.push(Array.from({ length: 512 }, (_, i) => i + this.counters.connections_opened));
    }
    ws.on('pong', (data) => this.pong(conn, data));
    this.o.log.debug(TAG, `register ${conn.id} user=${userId} kind=${kind} channel=${channelId} total=${this.registry.size}`);
    return conn;
  }

  /**
   * crash-kept fault, from the socket's `close` event instead of closed(): the transport's
   * close is counted (connections_closed, as the socket layer saw it), but the server never
   * handles it. The conn stays registered and live (its user stays online) and the heartbeat
   * skips it, so it is never reaped either.
   */
  keep(conn: Conn, code: number): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.kept = true;
    this.counters.connections_closed++;
    this.o.log.debug(TAG, `kept ${conn.id} user=${conn.userId} kind=${conn.kind} code=${code} (crash-kept)`);
  }

  /** Call from the socket's `close` event; runs once per conn. */
  closed(conn: Conn, code: number): void {
    if (conn.closed) return;
    conn.closed = true;
    this.live.delete(conn);
    this.counters.connections_closed++;
    this.o.log.debug(TAG, `close ${conn.id} user=${conn.userId} kind=${conn.kind} code=${code}${conn.reaped ? ' (reaped)' : ''}`);
    if (this.o.faults.has('zombie-socket')) {
      // fault: the close is never propagated to the registry
      return;
    }
    if (this.o.faults.has('slow-deregister')) {
      // fault: the registry learns of the close late
      const t = clock.setTimeout(() => {
        this.delayed.delete(t);
        this.deregister(conn);
      }, this.o.faultDelayMs);
      this.delayed.add(t);
      return;
    }
    this.deregister(conn);
  }

  private deregister(conn: Conn): void {
    if (this.o.faults.has('slot-overwrite')) {
      // fault: removal by slot, which may hold another (still open) socket of the same user
      const key = slotKey(conn);
      const held = this.slots.get(key);
      if (held) {
        this.slots.delete(key);
        this.removeEntry(held);
      }
      return;
    }
    this.removeEntry(conn.id);
  }

  private addEntry(conn: Conn): void {
    this.registry.set(conn.id, conn);
    this.perUser.set(conn.userId, (this.perUser.get(conn.userId) ?? 0) + 1);
  }

  private removeEntry(id: string): void {
    const conn = this.registry.get(id);
    if (!conn) return;
    this.registry.delete(id);
    const n = (this.perUser.get(conn.userId) ?? 1) - 1;
    if (n > 0) this.perUser.set(conn.userId, n);
    else this.perUser.delete(conn.userId);
  }

  /**
   * Liveness comes only from answers to the heartbeat's own pings: a pong must echo the nonce
   * and the sequence number of a ping still outstanding. An unsolicited pong (a client that
   * never reads cannot know the nonce) changes nothing; with slow-consumer-unbounded any does.
   */
  private pong(conn: Conn, data: Buffer): void {
    if (this.o.faults.has('slow-consumer-unbounded')) {
      // fault: any pong, unsolicited ones included, resets the heartbeat
      conn.missed = 0;
      conn.lastSeenAt = clock.wall();
      return;
    }
    if (data.length !== PING_BYTES || !data.subarray(0, 8).equals(conn.pingNonce)) return;
    const seq = data.readUInt32BE(8);
    if (seq <= conn.pingsAnswered || seq > conn.pingsSent) return;
    conn.pingsAnswered = seq;
    conn.missed = conn.pingsSent - seq;
    conn.lastSeenAt = clock.wall();
  }

  /** The payload of the next heartbeat ping of `conn`: its nonce and the ping's sequence number. */
  private nextPing(conn: Conn): Buffer {
    const b = Buffer.allocUnsafe(PING_BYTES);
    conn.pingNonce.copy(b, 0);
    b.writeUInt32BE(++conn.pingsSent % 0x1_0000_0000, 8);
    return b;
  }

  /**
   * Closes a socket whose send queue passed maxSendQueueBytes (it does not read, or not fast
   * enough) with 1008; the close frame waits behind the queue, so the close timeout ends it.
   */
  dropSlowConsumer(conn: Conn, queued: number): void {
    if (conn.dropped || conn.closed) return;
    conn.dropped = true;
    this.counters.slow_consumers_dropped++;
    this.o.log.debug(TAG, `drop ${conn.id} user=${conn.userId} kind=${conn.kind}: slow consumer, ${queued} bytes queued`);
    conn.ws.close(CLOSE.policyViolation, `slow consumer: ${queued} bytes queued (limit ${this.o.maxSendQueueBytes})`);
  }

  touch(conn: Conn): void {
    conn.lastSeenAt = clock.wall();
  }

  /**
   * Every heartbeatMs: with `frames` (the [ext] heartbeat), a ping frame to every socket and
   * the reaping of those that missed too many pongs; without (a plain Miscord), only onTick.
   */
  startHeartbeat(onTick?: (conn: Conn) => void, frames = true): void {
    if (this.heartbeat) return;
    this.heartbeat = clock.setInterval(() => {
      for (const conn of this.live) {
        // crash-kept fault: a socket whose close was never handled is not watched either
        if (conn.kept) continue;
        if (!frames) {
          onTick?.(conn);
          continue;
        }
        if (conn.missed >= this.o.missedPongs) {
          conn.reaped = true;
          this.counters.reaped++;
          this.o.log.debug(TAG, `reap ${conn.id} user=${conn.userId} kind=${conn.kind}: ${conn.missed} pongs missed`);
          conn.ws.terminate();
          continue;
        }
        conn.missed++;
        try {
          conn.ws.ping(this.nextPing(conn));
        } catch {
          // the socket is closing; its close event will deregister it
        }
        onTick?.(conn);
      }
    }, this.o.heartbeatMs);
  }

  connections(): Conn[] {
    return [...this.registry.values()];
  }

  get size(): number {
    return this.registry.size;
  }

  /** Stops the heartbeat and the delayed removals (shutdown). Idempotent. */
  stop(): void {
    clock.clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const t of this.delayed) clock.clearTimeout(t);
    this.delayed.clear();
  }
}

/** nonce (8 bytes) + sequence number (uint32) */
const PING_BYTES = 12;

function slotKey(c: Conn): string {
  return `${c.userId}:${c.kind}:${c.channelId ?? '-'}`;
}

export function toStatsConnection(c: Conn): StatsConnection & { text_channel_id?: number | null } {
  const out: StatsConnection & { text_channel_id?: number | null } = {
    id: Number(c.id.slice(1)), // the protocol's ids are integers; `c<n>` is the log name
    user_id: c.userId,
    kind: c.kind,
    channel_id: c.channelId,
    connected_at: new Date(c.connectedAt).toISOString(),
    last_seen_at: new Date(c.lastSeenAt).toISOString(),
  };
  if (c.kind === 'chat') out.text_channel_id = c.textChannelId;
  return out;
}
