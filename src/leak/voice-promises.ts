import { clock } from '../clock.js';
import type { WireEvent } from '../client/client-env.js';
import type { FindingDraft } from './types.js';

/**
 * The voice protocol's promises, checked against the history of what the bench's own users
 * did and received (never against the server's own word). Fed one event at a time; keeps
 * only what is pending, so a soak's memory stays flat.
 *
 * - an action the protocol says the server announces (mute, deafen, speaking, screen share;
 *   a join; a member's socket closing) must reach every other socket of the room that was
 *   joined before it, within the deadline: else `missed-event`;
 * - an offer, answer or ICE candidate must reach one of its target's joined sockets: else
 *   `missed-event`;
 * - a joiner's `participants` must list every bench user joined in the room before it opened
 *   (`phantom-voice-member` when one is left out), each once (`duplicate-member`);
 * - a `user_left_voice` must follow a close: more leaves of a user than closes of its sockets
 *   since the receiver joined is a `spurious-event`;
 * - a user's joining a room (its first socket there) and leaving it (its last) must reach the
 *   notifications socket of every other bench user (each a member of the room's server: a
 *   scenario with voice joins every user to every server) as `voice_channel_join` /
 *   `voice_channel_leave`, within the deadline (after the reap window for a crash or freeze).
 * Only the bench's own users are judged: another client on a shared deployment is neither
 * expected nor counted.
 */
export interface VoicePromisesOptions {
  /** how long an announcement may take (default 2 s) */
  deadlineMs?: number;
  /** the server's reap window for a crashed socket (heartbeat × (missed pongs + 1)), when known */
  reapWindowMs?(): number | null;
}

/** the announcement each client message promises to the room's other sockets */
export const ANNOUNCED: Readonly<Record<string, string>> = {
  mute: 'user_muted',
  deafen: 'user_deafened',
  speaking: 'user_speaking',
  screen_share_start: 'screen_share_started',
  screen_share_stop: 'screen_share_stopped',
};
const RELAYED = new Set(['offer', 'answer', 'ice_candidate']);

interface SocketState {
  user: number;
  userId: number;
  room: number;
  openedAt: number;
  /** when its client started opening it: an announcement of it cannot be older */
  openingAt: number;
  joinedAt?: number;
  /** when the client started closing it, or it ended */
  endingAt?: number;
  /** user_left_voice received per subject user id */
  leaves: Map<number, number>;
  /** the user ids its participants listed */
  listed: Set<number>;
  /** the last messages it received: an announcement may overtake the event that causes it on another socket */
  recent: Receipt[];
}

interface Receipt {
  type: string;
  subject: number;
  t: number;
  used: boolean;
}
const RECENT = 64;
/** a notifications socket is owed a room's news once it has been open this long (the server may register it just after the upgrade) */
const NOTIF_SETTLE_MS = 500;

interface NotifState {
  user: number;
  userId: number;
  openedAt: number;
  recent: Receipt[];
}

interface Expectation {
  /** receiver sockets that have not yet got it; any one of them fulfils it when `any` */
  receivers: Set<string>;
  any: boolean;
  type: string;
  subject: number;
  /** whose action, for the finding */
  actor: { user: number; userId: number; socket: string };
  action: string;
  room: number;
  at: number;
  due: number;
}

export class VoicePromises {
  private readonly deadline: number;
  private readonly sockets = new Map<string, SocketState>();
  /** the bench's open notifications sockets */
  private readonly notif = new Map<string, NotifState>();
  private readonly pending = new Set<Expectation>();
  /** close times of each (room, user id)'s sockets, the last few */
  private readonly closes = new Map<string, number[]>();
  private readonly drafts: FindingDraft[] = [];
  private readonly waiters = new Set<() => void>();
  /** user_left_voice receipts that no close explains yet: judged once the deadline has passed */
  private readonly leaveSuspects: Array<{ e: WireEvent; me: SocketState; receipt: Receipt }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** checks the history could not judge, with why (e.g. a receiver that closed first) */
  readonly counts = { expectations: 0, fulfilled: 0, missed: 0, unjudged: 0 };

  constructor(private readonly opts: VoicePromisesOptions = {}) {
    this.deadline = opts.deadlineMs ?? 2000;
  }

  /** The subscriber: one call per voice socket event. */
  readonly onEvent = (e: WireEvent): void => {
    if (e.on === 'chat') return;
    if (e.on === 'notifications') {
      this.onNotif(e);
      this.wake();
      return;
    }
    switch (e.kind) {
      case 'open':
        this.sockets.set(e.socket, { user: e.user, userId: e.userId, room: e.room, openedAt: e.t, openingAt: e.since ?? e.t, leaves: new Map(), listed: new Set(), recent: [] });
        break;
      case 'recv':
        this.onRecv(e);
        break;
      case 'sent':
        this.onSent(e);
        break;
      case 'closing':
      case 'closed':
      case 'crashed':
      case 'frozen':
        this.onEnd(e);
        break;
    }
    this.wake();
  };

  private onNotif(e: WireEvent): void {
    if (e.kind === 'open') {
      this.notif.set(e.socket, { user: e.user, userId: e.userId, openedAt: e.t, recent: [] });
      return;
    }
    const me = this.notif.get(e.socket);
    if (!me) return;
    if (e.kind === 'recv') {
      if (!e.type || typeof e.subject !== 'number' || !Number.isFinite(e.subject)) return;
      const receipt: Receipt = { type: `${e.type}@${e.channel}`, subject: e.subject, t: e.t, used: false };
      me.recent.push(receipt);
      if (me.recent.length > RECENT) me.recent.shift();
      receipt.used = this.fulfil(e.socket, receipt.type, e.subject);
      return;
    }
    if (e.kind === 'sent') return;
    // closing, closed, crashed, frozen: owed nothing more
    this.notif.delete(e.socket);
    this.release(e.socket);
  }

  /** the user's other joined sockets in the room, still open */
  private othersJoined(room: number, userId: number, socket: string): boolean {
    for (const [id, s] of this.sockets) if (id !== socket && s.room === room && s.userId === userId && s.joinedAt !== undefined && s.endingAt === undefined) return true;
    return false;
  }

  /** `type` (voice_channel_join or _leave) of `e`'s user and room, owed to every other user's notifications socket open since well before `openedBefore` */
  private expectNotif(e: WireEvent, type: string, action: string, o: { openedBefore: number; since: number; due?: number }): void {
    const receivers = new Set<string>();
    for (const [id, n] of this.notif) if (n.userId !== e.userId && n.openedAt <= o.openedBefore - NOTIF_SETTLE_MS) receivers.add(id);
    this.expect({ receivers, any: false, type: `${type}@${e.room}`, subject: e.userId, actor: { user: e.user, userId: e.userId, socket: e.socket }, action, room: e.room, at: e.t, due: o.due }, o.since);
  }

  /** a receiver that goes away cannot be owed anything any more */
  private release(socket: string): void {
    for (const x of this.pending) {
      if (!x.receivers.delete(socket)) continue;
      if (x.receivers.size === 0) {
        this.pending.delete(x);
        this.counts.unjudged++;
      }
    }
  }

  private joinedIn(room: number, before: number): Array<[string, SocketState]> {
    return [...this.sockets].filter(([, s]) => s.room === room && s.joinedAt !== undefined && s.joinedAt < before && s.endingAt === undefined);
  }

  private expect(x: Omit<Expectation, 'due'> & { due?: number }, since = x.at): void {
    // an announcement that arrived before its cause was seen here (another socket, another order)
    for (const id of [...x.receivers]) {
      const r = (this.sockets.get(id) ?? this.notif.get(id))?.recent.find((q) => !q.used && q.type === x.type && q.subject === x.subject && q.t >= since);
      if (!r) continue;
      r.used = true;
      if (x.any) x.receivers.clear();
      else x.receivers.delete(id);
    }
    if (x.receivers.size === 0) {
      this.counts.expectations++;
      this.counts.fulfilled++;
      return;
    }
    const due = x.due ?? x.at + this.deadline;
    this.pending.add({ ...x, due });
    this.counts.expectations++;
    this.arm();
  }

  /** an announcement of `e`'s user to every other user's joined socket in the room */
  private expectFromRoom(e: WireEvent, type: string, action: string, o: { excludeUser: boolean; joinedBefore: number; due?: number; since?: number }): void {
    const receivers = new Set(
      this.joinedIn(e.room, o.joinedBefore)
        .filter(([, s]) => (!o.excludeUser || s.userId !== e.userId) && !(type === 'user_joined_voice' && s.listed.has(e.userId)))
        .map(([id]) => id),
    );
    this.expect({ receivers, any: false, type, subject: e.userId, actor: { user: e.user, userId: e.userId, socket: e.socket }, action, room: e.room, at: e.t, due: o.due }, o.since);
  }

  private onSent(e: WireEvent): void {
    const me = this.sockets.get(e.socket);
    if (!me || me.joinedAt === undefined || !e.type) return;
    const announced = ANNOUNCED[e.type];
    if (announced) {
      this.expectFromRoom(e, announced, e.type, { excludeUser: true, joinedBefore: e.t });
      return;
    }
    if (RELAYED.has(e.type) && typeof e.subject === 'number') {
      const target = this.joinedIn(e.room, e.t).filter(([, s]) => s.userId === e.subject);
      this.expect({ receivers: new Set(target.map(([id]) => id)), any: true, type: e.type, subject: e.userId, actor: { user: e.user, userId: e.userId, socket: e.socket }, action: `${e.type} to user ${e.subject}`, room: e.room, at: e.t });
    }
  }

  private onRecv(e: WireEvent): void {
    const me = this.sockets.get(e.socket);
    if (!me) return;
    if (e.type === 'participants') {
      me.joinedAt = e.t;
      for (const id of e.participants ?? []) me.listed.add(id);
      this.checkParticipants(e, me);
      // admitted (a refused socket never gets here): the room's earlier members must hear of it,
      // unless their own participants listed this user already
      this.expectFromRoom({ ...e }, 'user_joined_voice', 'joined', { excludeUser: true, joinedBefore: e.t, since: me.openingAt });
      // the user's first socket in the room: the server's members hear of it on their notifications sockets
      if (!this.othersJoined(e.room, e.userId, e.socket)) this.expectNotif(e, 'voice_channel_join', 'joined', { openedBefore: me.openingAt, since: me.openingAt });
      // being listed is how a joiner learns of a member: it fulfils that member's join announcement
      for (const id of e.participants ?? []) this.fulfil(e.socket, 'user_joined_voice', id);
      return;
    }
    if (!e.type || typeof e.subject !== 'number') return;
    const receipt: Receipt = { type: e.type, subject: e.subject, t: e.t, used: false };
    me.recent.push(receipt);
    if (me.recent.length > RECENT) me.recent.shift();
    receipt.used = this.fulfil(e.socket, e.type, e.subject);
    if (e.type === 'user_left_voice') {
      me.leaves.set(e.subject, (me.leaves.get(e.subject) ?? 0) + 1);
      if (!receipt.used) {
        this.leaveSuspects.push({ e, me, receipt });
        this.arm();
      }
    }
  }

  /** Marks the oldest pending expectation of this receiver, type and subject as met. */
  private fulfil(socket: string, type: string, subject: number): boolean {
    for (const x of this.pending) {
      if (x.type !== type || x.subject !== subject || !x.receivers.has(socket)) continue;
      if (x.any) x.receivers.clear();
      else x.receivers.delete(socket);
      if (x.receivers.size === 0) {
        this.pending.delete(x);
        this.counts.fulfilled++;
      }
      return true;
    }
    return false;
  }

  private checkParticipants(e: WireEvent, me: SocketState): void {
    const listed = e.participants ?? [];
    const seen = new Map<number, number>();
    for (const id of listed) seen.set(id, (seen.get(id) ?? 0) + 1);
    for (const [id, n] of seen) {
      if (n < 2) continue;
      this.drafts.push({
        class: 'duplicate-member',
        message: `voice room ${e.room} listed user #${id} ${n} times in the participants user ${e.user} received on joining`,
        subject: { user: e.user, userId: e.userId, kind: 'voice', roomId: e.room, socket: e.socket },
        expected: 'each member once',
        observed: { participants: listed },
        since: e.t,
        evidenceOf: { user: e.user, socket: e.socket },
      });
    }
    // a member joined (its own participants received) before this socket opened, and not leaving since
    const members = new Map<number, SocketState>();
    for (const [, s] of this.joinedIn(e.room, me.openedAt)) if (s.userId !== e.userId) members.set(s.userId, s);
    for (const [id, s] of members) {
      if (seen.has(id)) continue;
      this.drafts.push({
        class: 'phantom-voice-member',
        message: `user ${s.user} (#${id}) is joined in voice room ${e.room} on an open socket, but the participants user ${e.user} received on joining leave it out`,
        subject: { user: s.user, userId: id, kind: 'voice', roomId: e.room },
        expected: { listed: id },
        observed: { participants: listed },
        since: s.joinedAt,
        details: { joiner: { user: e.user, userId: e.userId, socket: e.socket } },
        evidenceOf: { user: e.user, socket: e.socket },
      });
    }
  }

  private checkSpuriousLeave(e: WireEvent, me: SocketState): void {
    const subject = e.subject as number;
    const leaves = me.leaves.get(subject) ?? 0;
    // closes of the subject's sockets in this room that this socket may hear of: since just before it joined
    const from = (me.joinedAt ?? me.openedAt) - this.deadline;
    const closes = (this.closes.get(`${e.room}:${subject}`) ?? []).filter((t) => t >= from).length;
    const open = [...this.sockets.values()].some((s) => s.userId === subject && s.room === e.room && s.endingAt === undefined);
    // a user we do not run, or one whose closes we may have pruned: not ours to judge
    if (!open && closes === 0 && ![...this.sockets.values()].some((s) => s.userId === subject)) return;
    if (leaves <= closes) return;
    this.drafts.push({
      class: 'spurious-event',
      message: `user ${me.user}'s voice socket ${e.socket} was told user #${subject} left room ${e.room} (${leaves} time(s)), though only ${closes} of that user's sockets there closed since it joined${open ? ' and one is still open' : ''}`,
      subject: { user: me.user, userId: me.userId, kind: 'voice', roomId: e.room, socket: e.socket },
      expected: { userLeftVoice: closes },
      observed: { userLeftVoice: leaves, subjectStillOpen: open },
      since: e.t,
      evidenceOf: { user: me.user, socket: e.socket },
    });
  }

  private onEnd(e: WireEvent): void {
    const me = this.sockets.get(e.socket);
    if (!me) return;
    const first = me.endingAt === undefined;
    me.endingAt ??= e.t;
    this.release(e.socket);
    if (!first) {
      if (e.kind !== 'closing') this.sockets.delete(e.socket);
      return;
    }
    const key = `${e.room}:${e.userId}`;
    const list = this.closes.get(key) ?? [];
    list.push(e.t);
    if (list.length > 32) list.shift();
    this.closes.set(key, list);
    if (me.joinedAt !== undefined) {
      // the others must hear that this member left: at once for a close, after the reap window for a crash or a freeze
      const silent = e.kind === 'crashed' || e.kind === 'frozen';
      const reap = silent ? this.opts.reapWindowMs?.() : 0;
      if (reap === null || reap === undefined) this.counts.unjudged++;
      else {
        const o = { due: e.t + reap + this.deadline, since: me.joinedAt };
        // the announcement may come before the client sees its own socket end (a reap, a drop): any unused one since the join counts
        this.expectFromRoom(e, 'user_left_voice', silent ? e.kind : 'left', { excludeUser: false, joinedBefore: e.t, ...o });
        // the user's last socket in the room: the server's members hear it left
        if (!this.othersJoined(e.room, e.userId, e.socket)) this.expectNotif(e, 'voice_channel_leave', silent ? e.kind : 'left', { openedBefore: e.t, ...o });
      }
    }
    if (e.kind !== 'closing') this.sockets.delete(e.socket);
  }

  /** Expired expectations become findings; leaves no close has explained by now are judged. */
  private sweep(now = clock.now()): void {
    while (this.leaveSuspects.length && this.leaveSuspects[0]!.e.t + this.deadline <= now) {
      const { e, me, receipt } = this.leaveSuspects.shift()!;
      if (!receipt.used) this.checkSpuriousLeave(e, me);
    }
    for (const x of this.pending) {
      if (x.due > now) continue;
      this.pending.delete(x);
      this.counts.missed++;
      const receivers = [...x.receivers];
      const type = x.type.split('@')[0]!;
      const where = type === x.type ? '' : ' notifications';
      this.drafts.push({
        class: 'missed-event',
        message: `${type} for user ${x.actor.user}'s ${x.action} in voice room ${x.room} never reached ${x.any ? 'any of its target sockets' : `${receivers.length}${where} socket(s)`} (${receivers.join(', ')}) within ${Math.round(x.due - x.at)} ms`,
        subject: { user: x.actor.user, userId: x.actor.userId, kind: 'voice', roomId: x.room, socket: x.actor.socket, resource: type },
        expected: { type, subject: x.subject, withinMs: Math.round(x.due - x.at), receivers },
        observed: { received: false },
        since: x.at,
        details: { action: x.action },
      });
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.timer = undefined;
    let next = this.leaveSuspects.length ? this.leaveSuspects[0]!.e.t + this.deadline : Infinity;
    for (const x of this.pending) next = Math.min(next, x.due);
    if (next !== Infinity) {
      this.timer = clock.setTimeout(() => {
        this.timer = undefined;
        this.sweep();
        this.wake();
      }, Math.max(1, next - clock.now() + 1));
      this.timer.unref?.();
    }
  }

  private wake(): void {
    if (this.pending.size > 0 || this.leaveSuspects.length > 0) return;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once nothing is pending (every announcement arrived or its deadline passed), or after `maxMs`. */
  settled(maxMs: number, signal?: AbortSignal): Promise<void> {
    if (this.pending.size === 0 && this.leaveSuspects.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clock.clearTimeout(t);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = clock.setTimeout(done, maxMs);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The findings drafted since the last call. */
  take(): FindingDraft[] {
    this.sweep();
    return this.drafts.splice(0);
  }

  /** the longest wait a pending expectation may still need */
  pendingFor(now = clock.now()): number {
    let max = 0;
    for (const x of this.pending) max = Math.max(max, x.due - now);
    return max;
  }

  close(): void {
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.leaveSuspects.length = 0;
    for (const w of [...this.waiters]) w();
  }
}
