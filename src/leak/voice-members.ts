import { ROUTES } from '../protocol/messages.js';
import { benchFetch } from '../client/bench-fetch.js';
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

export function httpFetchMembers(httpUrl: string): FetchMembers {
  return async (roomId, token, signal) => {
    const res = await benchFetch(httpUrl + ROUTES.voiceMembers(roomId), {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.any([AbortSignal.timeout(5000), ...(signal ? [signal] : [])]),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${ROUTES.voiceMembers(roomId)} answered HTTP ${res.status}`);
    }
    return memberIdsOf(await res.json());
  };
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
  for (const id of memberIds) {
    const v = byUserId.get(id);
    if (!v || inRoom(v, roomId)) continue;
    drafts.push(staleMember(v, roomId, 'members route', memberIds));
  }
  return drafts;
}
