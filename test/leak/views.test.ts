import { describe, expect, it } from 'vitest';
import { ago, classify, countByKind, inRoom, label, leftRoomAt, roomOf } from '../../src/leak/views.js';
import { close, open, user } from './fixtures.js';

describe('classify / countByKind', () => {
  it('open sockets must be listed, frozen ones reaped, half-open ones may go either way, closed ones forgotten; refused ones are none of these', () => {
    const v = user(0);
    const chat = open(v, 'chat', 1);
    const frozen = open(v, 'notifications', null, { frozen: true });
    const connecting = v.ledger.socketOpening('voice', 9);
    const closing = open(v, 'chat', 1);
    v.ledger.socketClosing(closing);
    const closed = close(v, open(v, 'voice', 9));
    v.ledger.socketRefused(v.ledger.socketOpening('chat', 1), { status: 403 });
    expect(classify(v)).toEqual({ required: [chat], frozen: [frozen], optional: [connecting, closing], closed: [closed] });
    expect(countByKind(classify(v).optional)).toEqual({ chat: 1, voice: 1, notifications: 0 });
  });
});

describe('roomOf / inRoom / leftRoomAt', () => {
  it('the room is the voice state’s, else the open (not frozen) voice socket’s', () => {
    const v = user(0);
    expect(roomOf(v)).toBeNull();
    const s = open(v, 'voice', 9);
    expect(roomOf(v)).toBe(9);
    s.frozen = true;
    expect(roomOf(v)).toBeNull();
    expect(roomOf({ ...v, voice: { roomId: 4, remoteUserIds: [] } })).toBe(4);
  });

  it('in a room while a voice socket there is open, connecting or closing; left at the last close', () => {
    const v = user(0);
    const a = open(v, 'voice', 9);
    expect(inRoom(v, 9)).toBe(true);
    expect(inRoom(v, 8)).toBe(false);
    expect(leftRoomAt(v, 9)).toBeUndefined();
    close(v, a, 500);
    const b = close(v, open(v, 'voice', 9), 100);
    expect(inRoom(v, 9)).toBe(false);
    expect(leftRoomAt(v, 9)).toBe(b.closedAt);
  });
});

describe('label / ago', () => {
  it('names the user and says how long ago, in ms under a second and s above', () => {
    expect(label(user(3))).toBe('user 3 (mb-test-3)');
    expect(ago(undefined)).toBe('');
    expect(ago(1000, 1250)).toBe(' 250 ms ago');
    expect(ago(1000, 3500)).toBe(' 2.5 s ago');
    expect(ago(2000, 1000)).toBe(' 0 ms ago');
  });
});
