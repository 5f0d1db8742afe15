import { clock } from '../clock.js';
import type { SocketRecord } from '../client/ledger.js';
import type { SocketKind } from '../protocol/messages.js';
import type { LeakUserView } from './types.js';

/** Small readers over the client view shared by the checks. */

export const label = (v: LeakUserView): string => `user ${v.ledger.index} (${v.ledger.username})`;

export function ago(since: number | undefined, now = clock.now()): string {
  if (since === undefined) return '';
  const ms = Math.max(0, now - since);
  return ms >= 1000 ? ` ${(ms / 1000).toFixed(1)} s ago` : ` ${Math.round(ms)} ms ago`;
}

/** Sockets by what the server must (required), may (optional) or must not (closed) list. */
export interface SocketClasses {
  /** open and answering: the server must list them */
  required: SocketRecord[];
  /** open but frozen on purpose: the server should reap them within its heartbeat window */
  frozen: SocketRecord[];
  /** mid-handshake or mid-close: either answer is right */
  optional: SocketRecord[];
  /** closed (by either side): the server must have forgotten them */
  closed: SocketRecord[];
}

export function classify(v: LeakUserView): SocketClasses {
  const out: SocketClasses = { required: [], frozen: [], optional: [], closed: [] };
  for (const s of v.ledger.sockets.values()) {
    if (s.state === 'open') (s.frozen ? out.frozen : out.required).push(s);
    else if (s.state === 'connecting' || s.state === 'closing') out.optional.push(s);
    else if (s.state === 'closed') out.closed.push(s);
  }
  return out;
}

export function countByKind(recs: SocketRecord[]): Record<SocketKind, number> {
  const c: Record<SocketKind, number> = { chat: 0, voice: 0, notifications: 0 };
  for (const r of recs) c[r.kind]++;
  return c;
}

/** The voice room the user is in now, by its voice state or else its open voice socket. */
export function roomOf(v: LeakUserView): number | null {
  if (v.voice && v.voice.roomId !== null && v.voice.roomId !== undefined) return v.voice.roomId;
  for (const s of v.ledger.sockets.values()) if (s.kind === 'voice' && (s.state === 'open' || s.state === 'connecting') && !s.frozen) return s.channelId;
  return null;
}

/** Has the user a voice socket that is (or may still be) in this room? */
export function inRoom(v: LeakUserView, roomId: number): boolean {
  for (const s of v.ledger.sockets.values()) {
    if (s.kind === 'voice' && s.channelId === roomId && (s.state === 'open' || s.state === 'connecting' || s.state === 'closing')) return true;
  }
  return false;
}

/** When the user's last voice socket in the room closed (undefined if none closed). */
export function leftRoomAt(v: LeakUserView, roomId: number): number | undefined {
  let at: number | undefined;
  for (const s of v.ledger.sockets.values()) {
    if (s.kind === 'voice' && s.channelId === roomId && s.closedAt !== undefined && (s.state === 'closed' || s.state === 'refused')) at = at === undefined ? s.closedAt : Math.max(at, s.closedAt);
  }
  return at;
}

/** Monotonic clock.now() value to wall ms, for matching against the server's ISO times. */
export const wallOf = (mono: number): number => clock.wall() - (clock.now() - mono);
