import { clock } from '../clock.js';
import type { SocketRecord } from '../client/ledger.js';
import type { StatsConnection, StatsResponse } from '../protocol/messages.js';
import type { FindingDraft, LeakUserView, Reconciliation } from './types.js';
import { ago, classify, inRoom, label, wallOf } from './views.js';

/**
 * The precise diff, with the [ext] stats: per user, the server's socket entries against the
 * ledger's sockets as a multiset of (kind, channel); per voice room, its member list against
 * the users' voice sockets. Pure: the same stats and ledgers give the same drafts.
 */
export interface ExtReconcileInput {
  stats: StatsResponse;
  users: LeakUserView[];
  /** heartbeat × (missedPongs + 1) + slack, or null when the heartbeat is unknown */
  frozenWindowMs: number | null;
  /** when the detector first saw each frozen socket (a fallback for rec.frozenAt) */
  frozenSince?: Map<string, number>;
  /** the last checkpoint: a client socket still open is the bench's own leak, not a phantom */
  final?: boolean;
  now?: number;
}



const sameChannel = (c: StatsConnection, r: SocketRecord) => c.channel_id === r.channelId || (r.textChannelId != null && c.channel_id === r.textChannelId);

/**
 * How far the server's registration time lies from the client's handshake: the server
 * registers a socket between the client's opening and its open, so a time inside that
 * bracket is a near-certain match (ties go to the nearest opening); outside, the gap counts.
 */
function distance(at: number, r: SocketRecord): number {
  const from = wallOf(r.openingAt) - 1; // ISO times are truncated to the millisecond
  const to = (r.openedAt !== undefined ? wallOf(r.openedAt) : Infinity) + 1;
  const outside = at < from ? from - at : at > to ? at - to : 0;
  return outside * 1e6 + Math.abs(at - from);
}

/**
 * Pairs server entries with client sockets of the same kind and channel; among several
 * candidates the one opened closest to the entry's connected_at, so that the socket a
 * slot-overwrite hid is the one left over.
 */
function pair(entries: StatsConnection[], recs: SocketRecord[]): { matched: Array<[StatsConnection, SocketRecord]>; entries: StatsConnection[]; recs: SocketRecord[] } {
  const left = new Set(recs);
  const unmatched: StatsConnection[] = [];
  const matched: Array<[StatsConnection, SocketRecord]> = [];
  for (const e of entries) {
    const at = Date.parse(e.connected_at);
    let best: SocketRecord | null = null;
    let bestD = Infinity;
    for (const r of left) {
      if (r.kind !== e.kind || !sameChannel(e, r)) continue;
      const d = Number.isFinite(at) ? distance(at, r) : 0;
      if (d < bestD) [best, bestD] = [r, d];
    }
    if (best) {
      left.delete(best);
      matched.push([e, best]);
    } else unmatched.push(e);
  }
  return { matched, entries: unmatched, recs: [...left] };
}

export function reconcileExt(input: ExtReconcileInput): Reconciliation {
  const now = input.now ?? clock.now();
  const drafts: FindingDraft[] = [];
  const notes: string[] = [];
  let pending = false;
  const conns = input.stats.connections ?? [];
  const byUser = new Map<number, StatsConnection[]>();
  for (const c of conns) {
    let l = byUser.get(c.user_id);
    if (!l) byUser.set(c.user_id, (l = []));
    l.push(c);
  }
  const byUserId = new Map<number, LeakUserView>();
  for (const v of input.users) if (v.ledger.userId !== null) byUserId.set(v.ledger.userId, v);

  let frozenSkipped = 0;
  for (const v of byUserId.values()) {
    const userId = v.ledger.userId!;
    const who = label(v);
    const cls = classify(v);
    let entries = byUser.get(userId) ?? [];
    const base = { user: v.ledger.index, userId, username: v.ledger.username };

    const req = pair(entries, cls.required);
    entries = req.entries;
    const frz = pair(entries, cls.frozen);
    entries = frz.entries;
    const opt = pair(entries, cls.optional);
    entries = opt.entries;

    // the server still lists sockets the client has closed
    const closed = [...cls.closed].sort((a, b) => (a.closedAt ?? 0) - (b.closedAt ?? 0));
    for (const e of entries) {
      const i = closed.findIndex((r) => r.kind === e.kind && sameChannel(e, r));
      const rec = i >= 0 ? closed.splice(i, 1)[0] : undefined;
      const where = e.channel_id === null ? '' : ` (channel ${e.channel_id})`;
      drafts.push({
        class: 'zombie-socket',
        message: rec
          ? `the server still holds ${who}'s ${e.kind} socket${where} that the ${rec.closedBy ?? 'client'} closed${ago(rec.closedAt, now)} (${rec.id})`
          : `the server holds a ${e.kind} socket${where} of ${who} that the client never had open`,
        subject: { ...base, kind: e.kind, channelId: e.channel_id, socket: rec?.id ?? `server:${e.id}` },
        expected: 'not registered',
        observed: e,
        since: rec?.closedAt,
        details: { serverEntry: e, ledgerRecord: rec ?? null },
      });
    }

    // the client holds sockets the server has forgotten (at the end they are the bench's own leak)
    if (!input.final) {
      for (const r of req.recs) {
        const where = r.channelId === null ? '' : ` (channel ${r.channelId})`;
        drafts.push({
          class: 'phantom-socket',
          message: `${who} holds an open ${r.kind} socket${where} that the server does not list (${r.id})`,
          subject: { ...base, kind: r.kind, channelId: r.channelId, socket: r.id },
          expected: 'registered',
          observed: 'absent from the server',
          since: r.openedAt,
          details: { ledgerRecord: r, serverEntriesOfUser: byUser.get(userId) ?? [] },
        });
      }
      // a user whose registry holds zombies is refused and misrouted because of them: name the cause once
      const silent = entries.length ? [] : (v.silentSockets ?? []);
      if (entries.length && v.silentSockets?.length) notes.push(`${who}: ${v.silentSockets.length} silent socket(s) put down to its zombie socket(s)`);
      for (const s of silent) {
        const r = v.ledger.sockets.get(s.socket);
        if (!r || r.state !== 'open') continue;
        drafts.push({
          class: 'phantom-socket',
          message: `${who}'s ${r.kind} socket ${r.id} is open but received ${s.received} of ${s.expected} messages sent to its channel`,
          subject: { ...base, kind: r.kind, channelId: r.channelId, socket: r.id },
          expected: { received: s.expected },
          observed: { received: s.received },
          since: r.openedAt,
          details: { ledgerRecord: r },
        });
      }
    }

    // a frozen socket the server still lists after its heartbeat window
    for (const [e, r] of frz.matched) {
      const rec = r;
      const since = rec.frozenAt ?? input.frozenSince?.get(rec.id);
      if (input.frozenWindowMs === null) {
        frozenSkipped++;
        continue;
      }
      if (since === undefined || now - since < input.frozenWindowMs) {
        pending = true;
        continue;
      }
      drafts.push({
        class: 'frozen-not-reaped',
        message: `the server still holds ${who}'s frozen ${r.kind} socket ${r.id}${ago(since, now).replace(' ago', '')} after the freeze, past its heartbeat window of ${input.frozenWindowMs} ms`,
        subject: { ...base, kind: r.kind, channelId: r.channelId, socket: r.id },
        expected: { reapedWithinMs: input.frozenWindowMs },
        observed: { registeredForMs: Math.round(now - since) },
        since,
        details: { serverEntry: e, ledgerRecord: r },
      });
    }
  }
  if (frozenSkipped) notes.push(`frozen-not-reaped skipped for ${frozenSkipped} frozen socket(s): the server's heartbeat is unknown (no [ext] config, none given)`);

  // voice rooms that list a user with no voice socket in that room on either side
  for (const [roomKey, members] of Object.entries(input.stats.voice_rooms ?? {})) {
    const roomId = Number(roomKey);
    for (const userId of members) {
      const v = byUserId.get(userId);
      if (!v || inRoom(v, roomId)) continue;
      const registered = (byUser.get(userId) ?? []).some((c) => c.kind === 'voice' && c.channel_id === roomId);
      if (registered) continue; // the socket itself is a zombie: that finding names it
      drafts.push(staleMember(v, roomId, 'voice_rooms', members, now));
    }
  }
  return { drafts, pending, notes };
}

/** A room (in the stats or the members route) lists a user whose voice socket is gone. */
export function staleMember(v: LeakUserView, roomId: number, source: 'voice_rooms' | 'members route', members: unknown, now = clock.now()): FindingDraft {
  let closedAt: number | undefined;
  let rec: SocketRecord | undefined;
  for (const s of v.ledger.sockets.values()) {
    if (s.kind === 'voice' && s.channelId === roomId && s.closedAt !== undefined && (closedAt === undefined || s.closedAt > closedAt)) [closedAt, rec] = [s.closedAt, s];
  }
  return {
    class: 'stale-voice-member',
    message: `voice room ${roomId} still lists ${label(v)} (in ${source}) though its voice socket ${rec ? `closed${ago(closedAt, now)} (${rec.id})` : 'is gone'}`,
    subject: { user: v.ledger.index, userId: v.ledger.userId ?? undefined, username: v.ledger.username, kind: 'voice', roomId, socket: rec?.id },
    expected: 'not a member',
    observed: { source, members },
    since: closedAt,
    details: { [source === 'voice_rooms' ? 'voiceRooms' : 'membersRoute']: members, ledgerRecord: rec ?? null },
  };
}
