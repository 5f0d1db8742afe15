import { clock } from '../clock.js';
import { ROUTES } from '../protocol/messages.js';
import type { SocketRecord } from '../client/ledger.js';
import type { FindingDraft, LeakUserView } from './types.js';
import { getAsUser } from './voice-members.js';

/**
 * Presence (`is_online`, "true while the user holds at least one open socket, false once the
 * last one is gone: closed, or reaped after the heartbeat window"), read from the server
 * members route as the world's owner sees it, against what each bench user holds. A user with
 * nothing open that the server still shows online past its window is a `stale-presence`.
 */
export type FetchServerMembers = (serverId: number, token: string, signal?: AbortSignal) => Promise<Array<{ id: number; is_online?: unknown }>>;

export function httpFetchServerMembers(httpUrl: string): FetchServerMembers {
  return async (serverId, token, signal) => {
    const body = await getAsUser(httpUrl, ROUTES.serverMembers(serverId), token, signal);
    return Array.isArray(body) ? (body as Array<{ id: number; is_online?: unknown }>).filter((m) => m && typeof m.id === 'number') : [];
  };
}

const held = (s: SocketRecord) => (s.state === 'open' || s.state === 'connecting' || s.state === 'closing') && !s.frozen;

/**
 * When the user's last socket went away and how (a clean close, or a crash or freeze the
 * server only learns of from its heartbeat); null while it holds one.
 */
export function goneSince(v: LeakUserView): { at: number; silent: boolean } | null {
  let at = -Infinity;
  let silent = false;
  for (const s of v.ledger.sockets.values()) {
    if (held(s)) return null;
    const t = s.frozen && s.state === 'open' ? (s.frozenAt ?? s.openedAt ?? 0) : (s.closedAt ?? -Infinity);
    if (t > at) {
      at = t;
      silent = !!s.frozen || !!s.crashed;
    }
  }
  return at === -Infinity ? null : { at, silent };
}

export interface PresenceInput {
  serverIds: number[];
  token: string | null;
  users: LeakUserView[];
  fetch: FetchServerMembers;
  /** how long a clean close may take to clear presence */
  graceMs: number;
  /** the server's reap window, for crashed and frozen users; null when unknown */
  reapWindowMs: number | null;
  signal?: AbortSignal;
}

/**
 * Reads presence and judges every bench user past its window. With `waitMs`, a user still
 * shown online within its window is read again until it goes offline or its window passes
 * (bounded by waitMs): a correct server costs no wait, a lagging one is judged, not skipped.
 */
export async function checkPresence(i: PresenceInput & { waitMs?: number }): Promise<{ drafts: FindingDraft[]; notes: string[]; checked: number }> {
  const t0 = clock.now();
  for (;;) {
    const r = await presenceOnce(i);
    const waitFor = r.pendingMs;
    if (waitFor <= 0 || !i.waitMs || clock.now() - t0 + Math.min(waitFor, 250) > i.waitMs) return r;
    await new Promise<void>((resolve) => {
      const t = clock.setTimeout(resolve, Math.min(waitFor + 10, 250));
      i.signal?.addEventListener('abort', () => (clock.clearTimeout(t), resolve()), { once: true });
    });
    if (i.signal?.aborted) return r;
  }
}

async function presenceOnce(i: PresenceInput): Promise<{ drafts: FindingDraft[]; notes: string[]; checked: number; pendingMs: number }> {
  const drafts: FindingDraft[] = [];
  const notes: string[] = [];
  if (!i.token || !i.serverIds.length) return { drafts, notes: ['stale-presence not checked: no server or token to read members with'], checked: 0, pendingMs: 0 };
  const byId = new Map<number, LeakUserView>();
  for (const v of i.users) if (v.ledger.userId !== null) byId.set(v.ledger.userId, v);
  const online = new Map<number, boolean>();
  let shown = false;
  for (const id of i.serverIds) {
    try {
      for (const m of await i.fetch(id, i.token, i.signal)) {
        if (typeof m.is_online !== 'boolean') continue;
        shown = true;
        online.set(m.id, (online.get(m.id) ?? false) || m.is_online);
      }
    } catch (e) {
      notes.push(`stale-presence not checked on server ${id}: ${(e as Error).message}`);
    }
  }
  if (!shown) {
    if (!notes.length) notes.push('stale-presence not checked: the target shows no is_online in its members route');
    return { drafts, notes, checked: 0, pendingMs: 0 };
  }
  const now = clock.now();
  let checked = 0;
  let unknownWindow = 0;
  let pendingMs = 0;
  for (const [userId, isOnline] of online) {
    const v = byId.get(userId);
    if (!v) continue;
    const gone = goneSince(v);
    if (!gone) continue;
    const window = gone.silent ? i.reapWindowMs : i.graceMs;
    if (window === null) {
      unknownWindow++;
      continue;
    }
    if (now - gone.at <= window) {
      if (isOnline) pendingMs = Math.max(pendingMs, window - (now - gone.at));
      else checked++; // offline already: the promise is kept
      continue;
    }
    checked++;
    if (!isOnline) continue;
    drafts.push({
      class: 'stale-presence',
      message: `user ${v.ledger.index} (#${userId}) holds no open socket since ${Math.round(now - gone.at)} ms (${gone.silent ? 'crashed or frozen' : 'closed'}), but the server still shows it online (window ${window} ms)`,
      subject: { user: v.ledger.index, userId, username: v.ledger.username },
      expected: { is_online: false, withinMs: window },
      observed: { is_online: true, goneForMs: Math.round(now - gone.at) },
      since: gone.at,
    });
  }
  if (unknownWindow) notes.push(`stale-presence not judged for ${unknownWindow} crashed or frozen user(s): the server's heartbeat window is unknown (no [ext] config; give --expect-reap-ms)`);
  return { drafts, notes, checked, pendingMs };
}
