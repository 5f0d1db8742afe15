import { Columns } from '../metrics/columns.js';

/**
 * What one shard of a run keeps so that `merge` can count the chat deliveries that cross
 * shards (a message sent in one, received in another), as one process would have counted
 * them. All times are this shard's wall clock (ms); the merge puts them on one clock with
 * the offsets below.
 *
 * - `sent`: every message this shard sent: number, server, text channel, send time;
 * - `subs`: every chat socket's subscriptions: socket, server, text channel (-1: every channel
 *   of the server, as before a switch), from, to;
 * - `excuses`: when the client itself closed or switched a socket (what it missed of messages
 *   sent before is excused, as the local accounting does);
 * - `receipts`: the other shards' messages its sockets received: socket, number, and the time
 *   from the send time carried in the message to the receipt, on the two shards' own clocks;
 * - `clock`: bounds of (target clock − this shard's clock), from the round trips of the
 *   shard's own messages: sent at t1, stamped by the target at s, received at t2, so the
 *   offset lies in [s − t2, s − t1]; the tightest bounds over the samples are kept.
 *
 * Rows are numbers in typed arrays, never an object per delivery.
 */
export interface ShardTrafficRecord {
  shard: { index: number; count: number };
  keyPrefix: string;
  /** an expectation not met within this long is lost (the local tracker's timeout) */
  timeoutMs: number;
  clock: { lowMs: number | null; highMs: number | null; samples: number };
  sent: string;
  subs: string;
  excuses: string;
  receipts: string;
  /** rows not kept (past the bound): the join is then short of them, and says so */
  dropped: number;
}

export const TRAFFIC_WIDTH = { sent: 4, subs: 5, excuses: 2, receipts: 3 } as const;

/** Receipts of other shards' messages kept at most (24 bytes each). */
export const MAX_FOREIGN_RECEIPTS = 4_000_000;

interface Open {
  from: number;
  serverId: number;
  filter: number;
}

export class ShardTraffic {
  private readonly sent = new Columns(TRAFFIC_WIDTH.sent);
  private readonly subs = new Columns(TRAFFIC_WIDTH.subs);
  private readonly excuses = new Columns(TRAFFIC_WIDTH.excuses);
  private readonly receipts = new Columns(TRAFFIC_WIDTH.receipts, MAX_FOREIGN_RECEIPTS);
  private readonly unsent = new Set<number>();
  private readonly open = new Map<number, Open>();
  private low = Number.NEGATIVE_INFINITY;
  private high = Number.POSITIVE_INFINITY;
  private samples = 0;
  /** own receipts seen, to sample the clock on a bounded share of them */
  private seen = 0;

  constructor(
    readonly shard: { index: number; count: number },
    readonly keyPrefix: string,
    readonly timeoutMs: number,
  ) {}

  subscribed(socket: number, serverId: number, filter: number | null, at: number): void {
    this.open.set(socket, { from: at, serverId, filter: filter ?? -1 });
  }

  /** The socket's text channel changed (an in-band switch, or a failed one back to every channel). */
  filtered(socket: number, filter: number | null, at: number): void {
    const o = this.open.get(socket);
    if (!o || o.filter === (filter ?? -1)) return;
    this.close(socket, o, at);
    this.open.set(socket, { from: at, serverId: o.serverId, filter: filter ?? -1 });
  }

  unsubscribed(socket: number, at: number): void {
    const o = this.open.get(socket);
    if (!o) return;
    this.close(socket, o, at);
    this.open.delete(socket);
  }

  excused(socket: number, at: number): void {
    this.excuses.push(socket, at);
  }

  messageSent(seq: number, serverId: number, textChannelId: number, at: number): void {
    this.sent.push(seq, serverId, textChannelId, at);
  }

  /** The message was not sent after all. */
  messageUnsent(seq: number): void {
    this.unsent.add(seq);
  }

  foreignReceipt(socket: number, seq: number, rawMs: number): void {
    this.receipts.push(socket, seq, rawMs);
  }

  /** Whether the next own receipt should be read for its server timestamp (all of the first 500, then 1 in 64). */
  wantsClockSample(): boolean {
    return this.seen++ < 500 || (this.seen & 63) === 0;
  }

  clockSample(sentAt: number, serverAt: number, receivedAt: number): void {
    if (!Number.isFinite(serverAt) || receivedAt < sentAt) return;
    // a server stamp in whole ms may be up to 1 ms early
    this.low = Math.max(this.low, serverAt - receivedAt);
    this.high = Math.min(this.high, serverAt + 1 - sentAt);
    this.samples++;
  }

  private close(socket: number, o: Open, at: number): void {
    this.subs.push(socket, o.serverId, o.filter, o.from, at);
  }

  record(): ShardTrafficRecord {
    // sockets still open: subscribed until the end (Infinity survives the Float64 encoding)
    const subs = new Columns(TRAFFIC_WIDTH.subs);
    for (let r = 0; r < this.subs.rows; r++) subs.push(...row(this.subs, r));
    for (const [socket, o] of this.open) subs.push(socket, o.serverId, o.filter, o.from, Number.POSITIVE_INFINITY);
    let sent = this.sent;
    if (this.unsent.size) {
      sent = new Columns(TRAFFIC_WIDTH.sent);
      for (let r = 0; r < this.sent.rows; r++) if (!this.unsent.has(this.sent.get(r, 0))) sent.push(...row(this.sent, r));
    }
    const bounded = this.samples > 0 && this.low <= this.high;
    return {
      shard: this.shard,
      keyPrefix: this.keyPrefix,
      timeoutMs: this.timeoutMs,
      clock: { lowMs: bounded ? round3(this.low) : null, highMs: bounded ? round3(this.high) : null, samples: this.samples },
      sent: sent.encode(),
      subs: subs.encode(),
      excuses: this.excuses.encode(),
      receipts: this.receipts.encode(),
      dropped: this.receipts.dropped,
    };
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

function row(c: Columns, r: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < c.width; i++) out.push(c.get(r, i));
  return out;
}
