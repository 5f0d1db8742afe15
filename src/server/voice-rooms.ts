import type { Conn } from './connection-manager.js';

export interface VoiceMember {
  conn: Conn;
  userId: number;
  username: string;
  isMuted: boolean;
  isDeafened: boolean;
  /** voice-ghost fault: its socket died but the room still lists it */
  ghost: boolean;
}

/**
 * Who is in which voice room: the store's view, which the members route and `voice_rooms`
 * report. One entry per socket, so a user in a room from two tabs is listed twice.
 *
 * With the voice-slot-overwrite fault (`byUser`), entries are keyed by user id as in
 * Miscord: a user's second socket replaces the first, and looking a socket up finds whichever
 * socket of its user holds the slot.
 */
export class VoiceRooms {
  private readonly rooms = new Map<number, Map<string, VoiceMember>>();

  constructor(private readonly byUser = false) {}

  private key(conn: Conn): string {
    // voice-slot-overwrite: one slot per user; the newest socket takes it
    return this.byUser ? `u${conn.userId}` : conn.id;
  }

  join(voiceChannelId: number, m: VoiceMember): void {
    let room = this.rooms.get(voiceChannelId);
    if (!room) this.rooms.set(voiceChannelId, (room = new Map()));
    room.set(this.key(m.conn), m);
  }

  leave(voiceChannelId: number, conn: Conn): VoiceMember | undefined {
    const room = this.rooms.get(voiceChannelId);
    const key = this.key(conn);
    const m = room?.get(key);
    if (!room || !m) return undefined;
    room.delete(key);
    if (room.size === 0) this.rooms.delete(voiceChannelId);
    return m;
  }

  get(voiceChannelId: number, conn: Conn): VoiceMember | undefined {
    return this.rooms.get(voiceChannelId)?.get(this.key(conn));
  }

  members(voiceChannelId: number): VoiceMember[] {
    return [...(this.rooms.get(voiceChannelId)?.values() ?? [])];
  }

  /** Distinct users in the room: a second tab of a member takes no extra seat. */
  userIds(voiceChannelId: number): Set<number> {
    return new Set(this.members(voiceChannelId).map((m) => m.userId));
  }

  snapshot(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [id, room] of this.rooms) out[String(id)] = [...room.values()].map((m) => m.userId);
    return out;
  }

  memberCount(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.size;
    return n;
  }

  clear(): void {
    this.rooms.clear();
  }
}
