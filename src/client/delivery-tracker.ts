import { clock } from '../clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { LatencyHistogram } from '../metrics/latency-histogram.js';
import { MessageKeys } from './message-key.js';
import { ShardTraffic } from './shard-traffic.js';

/** A chat connection as the delivery accounting sees it. */
export interface ChatSub {
  /** Conn.id */
  readonly id: number;
  readonly serverId: number;
  /** text channel this socket receives; null = every text channel of its server */
  filter: number | null;
  /** expectations created before this clock.now() are excused if never received (client closed or switched it) */
  excuseBefore: number;
  /** ledger id of the socket, and its own tallies (a socket that stops receiving shows here) */
  readonly socket: string;
  expected: number;
  received: number;
  lost: number;
}

interface Expectation {
  recipients: Set<ChatSub>;
  /** clock.now() when registered */
  at: number;
  /** wall-clock ms (performance.timeOrigin + now) of the intended send */
  intendedWall: number;
  /** wall-clock ms when it was handed to the socket (a round trip for the shard's clock offset) */
  sentWall: number;
}

const TIMESTAMP_FIELD = Buffer.from('"timestamp":"');
/** The target's timestamp of a message frame (ms), or NaN; a time without a zone is UTC (Miscord stores UTC). */
function serverTimeOf(src: Buffer | { timestamp?: unknown }): number {
  let text: string;
  if (Buffer.isBuffer(src)) {
    const at = src.indexOf(TIMESTAMP_FIELD);
    if (at < 0) return NaN;
    const from = at + TIMESTAMP_FIELD.length;
    const end = src.indexOf(0x22, from);
    if (end < 0 || end - from > 40) return NaN;
    text = src.toString('latin1', from, end);
  } else if (typeof src.timestamp === 'string') text = src.timestamp;
  else return NaN;
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`);
}

const TIME_ORIGIN = performance.timeOrigin; // a getter that calls into C++ each time: read once
/** wall-clock ms with sub-ms precision, comparable across processes on one machine */
export const wallNow = (): number => TIME_ORIGIN + performance.now();

/**
 * Delivery accounting. The sender registers each message with the set of chat sockets
 * expected to receive it (every simulated socket subscribed to that text channel at send
 * time, its own included). A receipt counts once per expected socket. A socket the client
 * itself closes or switches has its missing receipts excused; a server drop does not
 * excuse. Outstanding expectations are bounded and time out as lost. A clean run thus
 * gives delivered == expected − excused, a delivery ratio of exactly 1.
 */
export class DeliveryTracker {
  sent = 0;
  expected = 0;
  delivered = 0;
  excused = 0;
  lost = 0;
  overflow = 0;
  /** receipts of known messages on sockets not expected (or already counted) */
  unexpected = 0;
  private readonly subs = new Map<number, Set<ChatSub>>();
  /** expectations by message number */
  private readonly pending = new Map<number, Expectation>();
  private readonly deliver: LatencyHistogram;
  /** the contents of the messages this tracker accounts for */
  readonly keys: MessageKeys;
  /** a shard of a run split in several: what the merge needs to count deliveries across shards */
  readonly traffic: ShardTraffic | null;
  readonly timeoutMs: number;
  readonly maxPending: number;

  constructor(
    private readonly metrics: Metrics,
    opts: { keyPrefix?: string; shard?: { index: number; count: number }; timeoutMs?: number; maxPending?: number } = {},
  ) {
    this.deliver = metrics.histogram('chat.deliver');
    this.keys = new MessageKeys(opts.keyPrefix ?? 'mb-', opts.shard);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxPending = opts.maxPending ?? 200_000;
    this.traffic = opts.shard && opts.shard.count > 1 ? new ShardTraffic(opts.shard, opts.keyPrefix ?? 'mb-', this.timeoutMs) : null;
  }

  get outstanding(): number {
    return this.pending.size;
  }

  subscribe(sub: ChatSub): void {
    let set = this.subs.get(sub.serverId);
    if (!set) this.subs.set(sub.serverId, (set = new Set()));
    set.add(sub);
    this.traffic?.subscribed(sub.id, sub.serverId, sub.filter, wallNow());
  }

  /** The socket stops receiving; `excuse` when the client closed/switched/froze/abandoned it. */
  unsubscribe(sub: ChatSub, excuse: boolean): void {
    this.subs.get(sub.serverId)?.delete(sub);
    if (excuse) sub.excuseBefore = clock.now() + 1e-3;
    if (this.traffic) {
      const at = wallNow();
      this.traffic.unsubscribed(sub.id, at);
      if (excuse) this.traffic.excused(sub.id, at);
    }
  }

  /** An in-band switch: receipts for the old channel may stop at any moment until the server confirms. */
  switching(sub: ChatSub, textChannelId: number): void {
    sub.filter = textChannelId;
    sub.excuseBefore = Number.POSITIVE_INFINITY;
    this.traffic?.filtered(sub.id, textChannelId, wallNow());
  }

  switched(sub: ChatSub): void {
    sub.excuseBefore = clock.now() + 1e-3;
    this.traffic?.excused(sub.id, wallNow());
  }

  /** A switch that failed: the socket receives every text channel of its server again. */
  unfiltered(sub: ChatSub): void {
    sub.filter = null;
    this.traffic?.filtered(sub.id, null, wallNow());
  }

  /** Registers a message about to be sent; `seq` is its number (`keys.next()`). */
  expect(seq: number, serverId: number, textChannelId: number, intendedWall: number): void {
    this.sent++;
    const sentWall = wallNow();
    this.traffic?.messageSent(seq, serverId, textChannelId, sentWall);
    const set = this.subs.get(serverId);
    const recipients = new Set<ChatSub>();
    if (set)
      for (const s of set)
        if (s.filter === null || s.filter === textChannelId) {
          recipients.add(s);
          s.expected++;
        }
    this.expected += recipients.size;
    if (recipients.size === 0) return;
    if (this.pending.size >= this.maxPending) this.evictOldest();
    this.pending.set(seq, { recipients, at: clock.now(), intendedWall, sentWall });
  }

  /** The message was not sent after all (no usable socket): nothing is expected of it. */
  unexpect(seq: number): void {
    const e = this.pending.get(seq);
    this.sent--;
    this.traffic?.messageUnsent(seq);
    if (!e) return;
    this.expected -= e.recipients.size;
    for (const s of e.recipients) s.expected--;
    this.pending.delete(seq);
  }

  /**
   * Our message `seq` arrived on `sub`. Returns true when it was still expected somewhere.
   * `src` (the frame's bytes, or its parsed payload) gives another shard's message its send
   * time, and the shard's own messages the target's timestamp for the clock offset.
   */
  receipt(sub: ChatSub, seq: number, src?: Buffer | { content?: unknown; timestamp?: unknown }): boolean {
    const e = this.pending.get(seq);
    if (!e) {
      const t = this.traffic;
      if (!t || this.keys.shardOf(seq) === t.shard.index) return false;
      const sent = src === undefined ? NaN : this.keys.wallOf(Buffer.isBuffer(src) ? src : String(src.content ?? ''));
      t.foreignReceipt(sub.id, seq, wallNow() - sent);
      return true;
    }
    if (this.traffic && src !== undefined && this.traffic.wantsClockSample()) this.traffic.clockSample(e.sentWall, serverTimeOf(src), wallNow());
    if (!e.recipients.delete(sub)) {
      this.unexpected++;
      return true;
    }
    this.delivered++;
    sub.received++;
    this.deliver.record(wallNow() - e.intendedWall);
    if (e.recipients.size === 0) this.pending.delete(seq);
    return true;
  }

  private resolve(seq: number, e: Expectation, timedOut: boolean): boolean {
    let open = 0;
    for (const s of e.recipients) {
      // an in-band switch still waiting for its answer decides nothing yet, unless time is up
      if (e.at < s.excuseBefore && (s.excuseBefore !== Number.POSITIVE_INFINITY || timedOut)) {
        this.excused++;
        e.recipients.delete(s);
      } else open++;
    }
    if (open === 0) {
      this.pending.delete(seq);
      return true;
    }
    if (timedOut) {
      for (const s of e.recipients) s.lost++;
      this.lost += open;
      this.pending.delete(seq);
      return true;
    }
    return false;
  }

  private evictOldest(): void {
    for (const [seq, e] of this.pending) {
      this.overflow++;
      if (!this.resolve(seq, e, false)) {
        this.lost += e.recipients.size;
        this.pending.delete(seq);
      }
      return;
    }
  }

  /** Resolves excused and timed-out expectations; call periodically (cheap when little is pending). */
  sweep(now = clock.now()): void {
    for (const [seq, e] of this.pending) this.resolve(seq, e, now - e.at >= this.timeoutMs);
  }

  /** Waits until nothing is outstanding or `timeoutMs` passed, then counts what is left as lost. */
  async drain(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const until = clock.now() + timeoutMs;
    while (this.pending.size > 0 && clock.now() < until && !signal?.aborted) {
      this.sweep();
      if (this.pending.size === 0) break;
      await new Promise<void>((r) => clock.setTimeout(r, 20));
    }
    this.sweep(Number.POSITIVE_INFINITY);
  }

  /** Copies the counts into the run's counters. */
  flush(): void {
    const c = this.metrics.counters;
    c.set('chat.sent', this.sent);
    c.set('chat.expected', this.expected);
    c.set('chat.delivered', this.delivered);
    c.set('chat.excused', this.excused);
    c.set('chat.lost', this.lost);
    if (this.overflow) c.set('chat.overflow', this.overflow);
    if (this.unexpected) c.set('chat.unexpected', this.unexpected);
  }
}
