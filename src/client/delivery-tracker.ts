import { clock } from '../clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { LatencyHistogram } from '../metrics/latency-histogram.js';
import { MessageKeys } from './message-key.js';

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
  }

  get outstanding(): number {
    return this.pending.size;
  }

  subscribe(sub: ChatSub): void {
    let set = this.subs.get(sub.serverId);
    if (!set) this.subs.set(sub.serverId, (set = new Set()));
    set.add(sub);
  }

  /** The socket stops receiving; `excuse` when the client closed/switched/froze/abandoned it. */
  unsubscribe(sub: ChatSub, excuse: boolean): void {
    this.subs.get(sub.serverId)?.delete(sub);
    if (excuse) sub.excuseBefore = clock.now() + 1e-3;
  }

  /** An in-band switch: receipts for the old channel may stop at any moment until the server confirms. */
  switching(sub: ChatSub, textChannelId: number): void {
    sub.filter = textChannelId;
    sub.excuseBefore = Number.POSITIVE_INFINITY;
  }

  switched(sub: ChatSub): void {
    sub.excuseBefore = clock.now() + 1e-3;
  }

  /** Registers a message about to be sent; `seq` is its number (`keys.next()`). */
  expect(seq: number, serverId: number, textChannelId: number, intendedWall: number): void {
    this.sent++;
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
    this.pending.set(seq, { recipients, at: clock.now(), intendedWall });
  }

  /** The message was not sent after all (no usable socket): nothing is expected of it. */
  unexpect(seq: number): void {
    const e = this.pending.get(seq);
    this.sent--;
    if (!e) return;
    this.expected -= e.recipients.size;
    for (const s of e.recipients) s.expected--;
    this.pending.delete(seq);
  }

  /** Our message `seq` arrived on `sub`. Returns true when it was still expected somewhere. */
  receipt(sub: ChatSub, seq: number): boolean {
    const e = this.pending.get(seq);
    if (!e) return false;
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
