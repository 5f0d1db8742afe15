import { ROUTES } from '../protocol/messages.js';
import { benchFetch } from '../client/bench-fetch.js';
import { timedSignal } from '../client/http-client.js';
import type { FindingDraft, LeakUserView } from './types.js';
import { inRoom } from './views.js';
import { staleMember } from './ext-reconciler.js';

/**
 * The members route (`GET /api/channels/voice/{id}/members`) reads the server's store, not
 * its sockets: a member kept there after its socket died is a stale-voice-member even when
 * the socket registry is clean. Works with v1 servers too.
 */
export type FetchMembers = (roomId: number, token: string, signal?: AbortSignal) => Promise<number[]>;

export function memberIdsOf(body: unknown): number[] {
  const list = Array.isArray(body) ? body : body && typeof body === 'object' && Array.isArray((body as { members?: unknown }).members) ? (body as { members: unknown[] }).members : [];
  const ids: number[] = [];
  for (const m of list) {
    if (typeof m === 'number') ids.push(m);
    else if (m && typeof m === 'object') {
      const o = m as { id?: unknown; user_id?: unknown; user?: { id?: unknown } };
      const id = typeof o.user_id === 'number' ? o.user_id : typeof o.id === 'number' ? o.id : typeof o.user?.id === 'number' ? o.user.id : null;
      if (id !== null) ids.push(id);
    }
  }
  return ids;
}

/** GET a route as a user (5 s at most): its JSON, or an error naming the route and status. Any port, as benchFetch. */
export async function getAsUser(httpUrl: string, route: string, token: string, signal?: AbortSignal): Promise<unknown> {
  const t = timedSignal([signal], 5000);
  try {
    const res = await benchFetch(httpUrl + route, { headers: { authorization: `Bearer ${token}` }, signal: t.signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${route} answered HTTP ${res.status}`);
    }
    return await res.json();
  } finally {
    t.dispose();
  }
}

export function httpFetchMembers(httpUrl: string): FetchMembers {
  return async (roomId, token, signal) => memberIdsOf(await getAsUser(httpUrl, ROUTES.voiceMembers(roomId), token, signal));
}

/** Rooms any simulated user ever had a voice socket in. */
export function roomsOf(users: LeakUserView[]): number[] {
  const rooms = new Set<number>();
  for (const v of users) {
    for (const s of v.ledger.sockets.values()) if (s.kind === 'voice' && s.channelId !== null) rooms.add(s.channelId);
    if (v.voice?.roomId != null) rooms.add(v.voice.roomId);
  }
  return [...rooms].sort((a, b) => a - b);
}

export function reconcileMembers(roomId: number, memberIds: number[], users: LeakUserView[]): FindingDraft[] {
  const drafts: FindingDraft[] = [];
  const byUserId = new Map<number, LeakUserView>();
  for (const v of users) if (v.ledger.userId !== null) byUserId.set(v.ledger.userId, v);
  const times = new Map<number, number>();
  for (const id of memberIds) times.set(id, (times.get(id) ?? 0) + 1);
  for (const [id, n] of times) {
    const v = byUserId.get(id);
    if (!v) continue; // not one of ours: another client's business
    if (n > 1) drafts.push(duplicateMember(v, roomId, n, memberIds));
    if (inRoom(v, roomId)) continue;
    drafts.push(staleMember(v, roomId, 'members route', memberIds));
  }
  // both ways: a member the bench knows is joined (its participants arrived, its socket is open) must be listed
  for (const v of users) {
    if (v.voice?.roomId !== roomId || v.ledger.userId === null || times.has(v.ledger.userId)) continue;
    const sock = [...v.ledger.sockets.values()].find((s) => s.kind === 'voice' && s.channelId === roomId && s.state === 'open' && !s.frozen);
    if (!sock) continue;
    drafts.push({
      class: 'phantom-voice-member',
      message: `user ${v.ledger.index} (#${v.ledger.userId}) is joined in voice room ${roomId} on open socket ${sock.id}, but the members route does not list it`,
      subject: { user: v.ledger.index, userId: v.ledger.userId, username: v.ledger.username, kind: 'voice', roomId, socket: sock.id },
      expected: { listed: v.ledger.userId },
      observed: { source: 'members route', members: memberIds },
      since: sock.openedAt,
      details: { membersRoute: memberIds, ledgerRecord: sock },
    });
  }
  return drafts;
}

function duplicateMember(v: LeakUserView, roomId: number, n: number, members: number[]): FindingDraft {
  return {
    class: 'duplicate-member',
    message: `voice room ${roomId} lists user ${v.ledger.index} (#${v.ledger.userId}) ${n} times in its members route`,
    subject: { user: v.ledger.index, userId: v.ledger.userId ?? undefined, username: v.ledger.username, kind: 'voice', roomId },
    expected: 'each member once',
    observed: { source: 'members route', members },
    details: { membersRoute: members },
  };
}
