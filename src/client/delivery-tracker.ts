import { clock, wallNow } from '../clock.js';
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
  /** the simulated user's index and server-side id (a receiver is never owed its own user's typing) */
  user?: number;
  userId?: number;
  /** clock.now() when the server dropped it (a client close excuses instead) */
  endedAt?: number;
}

/** who sent a message or typed: the subject of a missed-event */
export interface ChatActor {
  user: number;
  userId: number;
  socket: string;
}

/**
 * An announcement the protocol promises (a `message` to every socket of its channel, a
 * `typing` to the others') that some receivers, open through the whole deadline, never got.
 */
export interface MissedDelivery {
  type: 'message' | 'typing';
  from: ChatActor | null;
  serverId: number;
  textChannelId: number;
  /** clock.now() of the send */
  at: number;
  /** how long the receivers had: the deadline for typing, the delivery timeout for messages */
  withinMs: number;
  receivers: Array<{ user?: number; userId?: number; socket: string }>;
}

/** Where the promise checks hear of what was owed and what was missed. */
export interface ChatPromiseSink {
  expected(type: MissedDelivery['type'], receivers: number): void;
  missed(m: MissedDelivery): void;
}

interface Expectation {
  recipients: Set<ChatSub>;
  /** clock.now() when registered */
  at: number;
  /** wallNow() of the intended send */
  intendedWall: number;
  serverId: number;
  textChannelId: number;
  from: ChatActor | null;
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

interface TypingExpectation {
  recipients: Set<ChatSub>;
  at: number;
  serverId: number;
  textChannelId: number;
  from: ChatActor;
}

/**
 * Delivery accounting. The sender registers each message with the set of chat sockets
 * expected to receive it (every simulated socket subscribed to that text channel at send
 * time, its own included). A receipt counts once per expected socket. A socket the client
 * itself closes or switches has its missing receipts excused; a server drop does not
 * excuse. Outstanding expectations are bounded and time out as lost. A clean run thus
 * gives delivered == expected − excused, a delivery ratio of exactly 1.
 *
 * The same subscriptions judge `typing`: every other user's socket of the channel must get
 * it within the deadline. A loss (a message timed out, a typing past its deadline) on a
 * socket that stayed open through the deadline goes to `onMissed`: the promise checks'
 * `missed-event`.
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
  /** typing announcements still owed, oldest first */
  private readonly typingPending: TypingExpectation[] = [];
  readonly typing = { expected: 0, delivered: 0, excused: 0, missed: 0 };
  private readonly deliver: LatencyHistogram;
  /** the contents of the messages this tracker accounts for */
  readonly keys: MessageKeys;
  /** a shard of a run split in several: what the merge needs to count deliveries across shards */
  readonly traffic: ShardTraffic | null;
  readonly timeoutMs: number;
  readonly maxPending: number;

  constructor(
    private readonly metrics: Metrics,
    opts: { keyPrefix?: string; shard?: { index: number; count: number }; timeoutMs?: number; maxPending?: number; deadlineMs?: number; promises?: ChatPromiseSink } = {},
  ) {
    this.deliver = metrics.histogram('chat.deliver');
    this.keys = new MessageKeys(opts.keyPrefix ?? 'mb-', opts.shard);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxPending = opts.maxPending ?? 200_000;
    this.deadlineMs = opts.deadlineMs ?? 2000;
    this.promises = opts.promises;
    this.traffic = opts.shard && opts.shard.count > 1 ? new ShardTraffic(opts.shard, opts.keyPrefix ?? 'mb-', this.timeoutMs) : null;
  }

  /** how long an announcement may take (the scenario's announceDeadline) */
  readonly deadlineMs: number;
  private readonly promises?: ChatPromiseSink;

  get outstanding(): number {
    return this.pending.size + this.typingPending.length;
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
    else sub.endedAt ??= clock.now();
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
  expect(seq: number, serverId: number, textChannelId: number, intendedWall: number, from: ChatActor | null = null): void {
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
    this.promises?.expected('message', recipients.size);
    if (this.pending.size >= this.maxPending) this.evictOldest();
    this.pending.set(seq, { recipients, at: clock.now(), intendedWall, sentWall, serverId, textChannelId, from });
  }

  /** A typing was sent: every other user's socket of that channel must hear of it within the deadline. */
  expectTyping(from: ChatActor, serverId: number, textChannelId: number): void {
    const recipients = new Set<ChatSub>();
    for (const s of this.subs.get(serverId) ?? [])
      if ((s.filter === null || s.filter === textChannelId) && s.userId !== undefined && s.userId !== from.userId) recipients.add(s);
    if (recipients.size === 0) return;
    this.typing.expected += recipients.size;
    this.promises?.expected('typing', recipients.size);
    // bounded as the messages are: the oldest is judged early rather than kept
    if (this.typingPending.length >= this.maxPending) this.judgeTyping(this.typingPending.shift()!, true);
    this.typingPending.push({ recipients, at: clock.now(), serverId, textChannelId, from });
  }

  /** A typing of user `fromUserId` in `textChannelId` arrived on `sub`: it meets the oldest one owed there. */
  typingReceipt(sub: ChatSub, fromUserId: number, textChannelId: number): void {
    for (let i = 0; i < this.typingPending.length; i++) {
      const x = this.typingPending[i]!;
      if (x.from.userId !== fromUserId || x.textChannelId !== textChannelId || !x.recipients.delete(sub)) continue;
      this.typing.delivered++;
      if (x.recipients.size === 0) this.typingPending.splice(i, 1);
      return;
    }
  }

  /** the receivers of `e` that were open, subscribed and not excused through `within` ms after it */
  private owed(e: { recipients: Set<ChatSub>; at: number }, within: number): ChatSub[] {
    const out: ChatSub[] = [];
    for (const s of e.recipients) if (!(s.endedAt !== undefined && s.endedAt < e.at + within)) out.push(s);
    return out;
  }

  private judgeTyping(x: TypingExpectation, force: boolean): void {
    for (const s of [...x.recipients])
      if (x.at < s.excuseBefore && (s.excuseBefore !== Number.POSITIVE_INFINITY || force)) {
        x.recipients.delete(s);
        this.typing.excused++;
      }
    const owed = this.owed(x, this.deadlineMs);
    this.typing.excused += x.recipients.size - owed.length;
    if (!owed.length) return;
    this.typing.missed += owed.length;
    this.promises?.missed({ type: 'typing', from: x.from, serverId: x.serverId, textChannelId: x.textChannelId, at: x.at, withinMs: this.deadlineMs, receivers: owed.map(who) });
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
      // missed: past the deadline (a drain's cut-off may come earlier: not judged), on a socket open through it
      const owed = clock.now() - e.at >= this.deadlineMs ? this.owed(e, this.deadlineMs) : [];
      if (owed.length) this.promises?.missed({ type: 'message', from: e.from, serverId: e.serverId, textChannelId: e.textChannelId, at: e.at, withinMs: Math.round(clock.now() - e.at), receivers: owed.map(who) });
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
    // typing past its deadline; a drain's cut-off (now = Infinity) judges only those already due
    const due = Math.min(now, clock.now()) - this.deadlineMs;
    while (this.typingPending.length && (this.typingPending[0]!.at <= due || now === Number.POSITIVE_INFINITY)) {
      const x = this.typingPending.shift()!;
      if (x.at <= due) this.judgeTyping(x, true);
      else this.typing.excused += x.recipients.size;
    }
  }

  /** Waits until nothing is outstanding or `timeoutMs` passed, then counts what is left as lost. */
  async drain(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const until = clock.now() + timeoutMs;
    while (this.outstanding > 0 && clock.now() < until && !signal?.aborted) {
      this.sweep();
      if (this.outstanding === 0) break;
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
    if (this.typing.expected) {
      c.set('chat.typing_expected', this.typing.expected);
      c.set('chat.typing_delivered', this.typing.delivered);
      if (this.typing.missed) c.set('chat.typing_missed', this.typing.missed);
    }
  }
}

const who = (s: ChatSub) => ({ user: s.user, userId: s.userId, socket: s.socket });
