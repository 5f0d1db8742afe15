import { describe, expect, it } from 'vitest';
import { VoiceRooms, type VoiceMember } from '../../src/server/voice-rooms.js';
import type { Conn } from '../../src/server/connection-manager.js';

const member = (id: string, userId: number): VoiceMember => ({ conn: { id, userId } as unknown as Conn, userId, username: `u${userId}`, isMuted: false, isDeafened: false, ghost: false });

describe('VoiceRooms', () => {
  it('one entry per socket: a second tab is listed twice but takes no extra seat; leaving one keeps the other', () => {
    const rooms = new VoiceRooms();
    const a1 = member('c1', 1);
    const a2 = member('c2', 1);
    const b = member('c3', 2);
    rooms.join(7, a1);
    rooms.join(7, a2);
    rooms.join(8, b);
    expect(rooms.members(7)).toEqual([a1, a2]);
    expect(rooms.userIds(7)).toEqual(new Set([1]));
    expect(rooms.snapshot()).toEqual({ '7': [1, 1], '8': [2] });
    expect(rooms.memberCount()).toBe(3);
    expect(rooms.leave(7, a1.conn)).toBe(a1);
    expect(rooms.get(7, a2.conn)).toBe(a2);
    expect(rooms.get(7, a1.conn)).toBeUndefined();
    expect(rooms.leave(7, a1.conn)).toBeUndefined();
  });

  it('an emptied room is gone from the snapshot; clear empties all', () => {
    const rooms = new VoiceRooms();
    const b = member('c3', 2);
    rooms.join(8, b);
    rooms.leave(8, b.conn);
    expect(rooms.snapshot()).toEqual({});
    expect(rooms.members(8)).toEqual([]);
    rooms.join(9, b);
    rooms.clear();
    expect(rooms.memberCount()).toBe(0);
  });

  it('keyed by user (the voice-slot-overwrite fault): the second socket replaces the first, and either socket finds it', () => {
    const rooms = new VoiceRooms(true);
    const a1 = member('c1', 1);
    const a2 = member('c2', 1);
    rooms.join(7, a1);
    rooms.join(7, a2);
    expect(rooms.members(7)).toEqual([a2]);
    expect(rooms.get(7, a1.conn)).toBe(a2);
    // closing the first tab removes the second's entry: the classic leak's mirror image
    expect(rooms.leave(7, a1.conn)).toBe(a2);
    expect(rooms.members(7)).toEqual([]);
  });
});
