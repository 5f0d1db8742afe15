import { describe, expect, it } from 'vitest';
import type { WireEvent } from '../../src/client/client-env.js';
import { VoicePromises } from '../../src/leak/voice-promises.js';
import { clock } from '../../src/clock.js';

/** The promise checks from recorded histories (data only, no sockets): each fault's history, and a clean one. */
const ROOM = 7;
function history(startAgoMs = 0) {
  const vp = new VoicePromises({ deadlineMs: 50, reapWindowMs: () => 100 });
  let t = clock.now() - startAgoMs;
  const ev = (kind: WireEvent['kind'], user: number, socket: string, more: Partial<WireEvent> = {}) => vp.onEvent({ kind, t: (t += 1), user, userId: 100 + user, socket, room: ROOM, ...more });
  /** user u joins on socket s, listed the given members */
  const join = (u: number, s: string, listed: number[], openingAt?: number) => {
    ev('open', u, s, openingAt === undefined ? {} : { since: openingAt });
    ev('recv', u, s, { type: 'participants', participants: listed.map((x) => 100 + x) });
  };
  const recv = (u: number, s: string, type: string, subject: number) => ev('recv', u, s, { type, subject: 100 + subject });
  const settle = async () => {
    await vp.settled(500);
    return vp.take();
  };
  /** a notifications socket event */
  const notif = (kind: WireEvent['kind'], u: number, socket: string, more: Partial<WireEvent> = {}) => vp.onEvent({ kind, on: 'notifications', t: (t += 1), user: u, userId: 100 + u, socket, room: -1, ...more });
  const skip = (ms: number) => (t += ms);
  return { vp, ev, join, recv, settle, notif, skip };
}

describe('VoicePromises', () => {
  it('a clean history: joins, a mute, relayed offers and a leave, each announced once: no finding', async () => {
    const h = history();
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.ev('sent', 1, 'b', { type: 'mute' });
    h.recv(0, 'a', 'user_muted', 1);
    h.ev('sent', 0, 'a', { type: 'offer', subject: 101 });
    h.recv(1, 'b', 'offer', 0);
    h.ev('closing', 1, 'b');
    h.recv(0, 'a', 'user_left_voice', 1);
    h.ev('closed', 1, 'b');
    expect(await h.settle()).toEqual([]);
    expect(h.vp.counts).toMatchObject({ missed: 0, fulfilled: h.vp.counts.expectations });
    h.vp.close();
  });

  it('an announcement that overtakes its cause (seen on another socket first) still counts', async () => {
    const h = history();
    h.join(0, 'a', []);
    // b starts opening; the server announces b's join to a before b's own open event is seen here
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.join(1, 'b', [0], 0);
    expect(await h.settle()).toEqual([]);
    h.vp.close();
  });

  it('a dropped mute announcement is a missed-event naming the actor and the receiver', async () => {
    const h = history();
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.ev('sent', 1, 'b', { type: 'mute' });
    const f = await h.settle();
    expect(f.map((d) => d.class)).toEqual(['missed-event']);
    expect(f[0]!.subject).toMatchObject({ user: 1, roomId: ROOM, socket: 'b' });
    expect(f[0]!.expected).toMatchObject({ type: 'user_muted', receivers: ['a'] });
    h.vp.close();
  });

  it('a receiver that closes before the deadline is owed nothing (unjudged, not missed)', async () => {
    const h = history();
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.ev('sent', 1, 'b', { type: 'deafen' });
    h.ev('closing', 0, 'a');
    h.ev('closed', 0, 'a');
    const f = await h.settle();
    // b must hear that a left; nothing else is owed
    expect(f.map((d) => `${d.class}:${(d.expected as { type: string }).type}`)).toEqual(['missed-event:user_left_voice']);
    h.vp.close();
  });

  it('participants that leave out a joined member, or list one twice', async () => {
    const h = history();
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    // c is told only about user 1, twice: user 0 is a phantom, user 1 a duplicate
    h.join(2, 'c', [1, 1]);
    h.recv(0, 'a', 'user_joined_voice', 2);
    h.recv(1, 'b', 'user_joined_voice', 2);
    const f = await h.settle();
    expect(f.map((d) => d.class).sort()).toEqual(['duplicate-member', 'phantom-voice-member']);
    expect(f.find((d) => d.class === 'phantom-voice-member')!.subject).toMatchObject({ user: 0, userId: 100 });
    h.vp.close();
  });

  it('a user_left_voice with no close behind it is a spurious-event; one per close is not', async () => {
    const h = history();
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.ev('closing', 1, 'b');
    h.recv(0, 'a', 'user_left_voice', 1);
    h.ev('closed', 1, 'b');
    h.join(1, 'b2', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    // the rejoined user is announced as gone again: nothing closed
    h.recv(0, 'a', 'user_left_voice', 1);
    const f = await h.settle();
    expect(f.map((d) => d.class)).toEqual(['spurious-event']);
    expect(f[0]!.observed).toMatchObject({ userLeftVoice: 2, subjectStillOpen: true });
    h.vp.close();
  });

  it('a crash is owed its user_left_voice only after the reap window', async () => {
    const h = history();
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.ev('crashed', 1, 'b');
    // deadline 50 ms alone has passed, the reap window (100 ms) has not: still pending
    expect(h.vp.pendingFor()).toBeGreaterThan(100);
    const f = await h.settle();
    expect(f.map((d) => d.class)).toEqual(['missed-event']);
    expect((f[0]!.details as { action: string }).action).toBe('crashed');
    h.vp.close();
  });

  it('offers to a user reach one of its sockets, or it is missed', async () => {
    const h = history();
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.ev('sent', 0, 'a', { type: 'offer', subject: 101 });
    h.ev('sent', 0, 'a', { type: 'ice_candidate', subject: 101 });
    h.recv(1, 'b', 'offer', 0);
    const f = await h.settle();
    expect(f.map((d) => `${d.class}:${(d.expected as { type: string }).type}`)).toEqual(['missed-event:ice_candidate']);
    h.vp.close();
  });

  it("a user's first join and last leave reach every other user's notifications socket; a second tab owes nothing", async () => {
    const h = history(2000);
    h.notif('open', 0, 'n0');
    h.notif('open', 1, 'n1');
    h.notif('open', 2, 'n2');
    h.skip(600);
    h.join(0, 'a', []);
    h.notif('recv', 1, 'n1', { type: 'voice_channel_join', subject: 100, channel: ROOM });
    h.notif('recv', 2, 'n2', { type: 'voice_channel_join', subject: 100, channel: ROOM + 1 }); // another room's news meets nothing
    h.join(0, 'a2', []); // a second tab: no new join to announce
    h.ev('closing', 0, 'a2');
    h.ev('closed', 0, 'a2'); // the first tab stays: no leave yet
    h.ev('closing', 0, 'a');
    h.notif('recv', 1, 'n1', { type: 'voice_channel_leave', subject: 100, channel: ROOM });
    h.notif('recv', 2, 'n2', { type: 'voice_channel_leave', subject: 100, channel: ROOM });
    h.ev('closed', 0, 'a');
    const drafts = await h.settle();
    expect(drafts.map((d) => [d.class, d.subject.resource, (d.expected as { receivers: string[] }).receivers])).toEqual([['missed-event', 'voice_channel_join', ['n2']]]);
    h.vp.close();
  });

  it('a notifications socket that closes, or opened just before the join, is owed nothing', async () => {
    const h = history(2000);
    h.notif('open', 1, 'n1');
    h.notif('open', 2, 'n2');
    h.skip(600);
    h.notif('open', 3, 'n3'); // the server may not have registered it yet
    h.join(0, 'a', []);
    h.notif('closing', 2, 'n2');
    h.notif('recv', 1, 'n1', { type: 'voice_channel_join', subject: 100, channel: ROOM });
    expect(await h.settle()).toEqual([]);
    h.vp.close();
  });

  it("a frozen member's leave is owed after the reap window, to the room and the notifications sockets", async () => {
    const h = history(2000);
    h.notif('open', 1, 'n1');
    h.skip(600);
    h.join(0, 'a', []);
    h.join(1, 'b', [0]);
    h.notif('recv', 1, 'n1', { type: 'voice_channel_join', subject: 100, channel: ROOM });
    h.recv(0, 'a', 'user_joined_voice', 1);
    h.ev('frozen', 1, 'b');
    h.ev('frozen', 0, 'a'); // nobody is left to hear of it in the room; n1 is another user's: owed the leave
    const drafts = await h.settle();
    expect(drafts.map((d) => [d.subject.resource, d.details?.action])).toEqual([['voice_channel_leave', 'frozen']]);
    h.vp.close();
  });
});
