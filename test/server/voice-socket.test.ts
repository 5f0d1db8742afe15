import { describe, expect, it } from 'vitest';
import { allClosed, api, connect, signUp, startServer, statsUntil, world } from './helpers.js';

describe('voice signaling socket', () => {
  it('sends participants, announces joins and leaves, and notifies the server members', async () => {
    const s = await startServer();
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const vc = w.voiceChannelId;
    const notif = await connect(s, '/ws/notifications', bob.token);
    const a = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    expect(await a.next('participants')).toEqual({ type: 'participants', participants: [], ice_servers: [] });
    expect(await notif.next('voice_channel_join')).toEqual({
      type: 'voice_channel_join',
      user_id: w.owner.id,
      username: w.owner.username,
      voice_channel_id: vc,
      voice_channel_name: 'General',
    });
    a.send({ type: 'mute', is_muted: true });
    a.send({ type: 'ping' });
    await a.next('pong'); // frames are handled in order: the mute is stored by now
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    expect(await b.next('participants')).toEqual({
      type: 'participants',
      participants: [{ user_id: w.owner.id, username: w.owner.username, is_muted: true, is_deafened: false }],
      ice_servers: [],
    });
    expect(await a.next('user_joined_voice')).toEqual({ type: 'user_joined_voice', user_id: bob.id, username: bob.username });

    const members = await api(s, bob.token).get(`/api/channels/voice/${vc}/members`);
    expect(members.body.map((m: { user_id: number }) => m.user_id).sort()).toEqual([w.owner.id, bob.id].sort());
    expect((await s.stats()).voice_rooms).toEqual({ [vc]: [w.owner.id, bob.id] });

    await b.close();
    expect(await a.next('user_left_voice')).toEqual({ type: 'user_left_voice', user_id: bob.id });
    expect(await notif.next('voice_channel_leave')).toEqual({ type: 'voice_channel_leave', user_id: bob.id, username: bob.username, voice_channel_id: vc });
    expect((await api(s, bob.token).get(`/api/channels/voice/${vc}/members`)).body.map((m: { user_id: number }) => m.user_id)).toEqual([w.owner.id]);
    await a.close();
    await notif.close();
    await statsUntil(s, allClosed);
  });

  it('relays offer, answer and ice_candidate by target_id with from_id, and status and screen-share events to the others', async () => {
    const s = await startServer();
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const vc = w.voiceChannelId;
    const a = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    await a.next('user_joined_voice');
    const offer = { type: 'offer', sdp: 'v=0 offer' };
    a.send({ type: 'offer', target_id: bob.id, offer });
    expect(await b.next('offer')).toEqual({ type: 'offer', from_id: w.owner.id, offer });
    b.send({ type: 'answer', target_id: w.owner.id, answer: { type: 'answer', sdp: 'v=0 answer' } });
    expect(await a.next('answer')).toEqual({ type: 'answer', from_id: bob.id, answer: { type: 'answer', sdp: 'v=0 answer' } });
    const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    b.send({ type: 'ice_candidate', target_id: w.owner.id, candidate });
    expect(await a.next('ice_candidate')).toEqual({ type: 'ice_candidate', from_id: bob.id, candidate });

    const cases: Array<[object, object]> = [
      [{ type: 'mute', is_muted: true }, { type: 'user_muted', user_id: w.owner.id, is_muted: true }],
      [{ type: 'deafen', is_deafened: true }, { type: 'user_deafened', user_id: w.owner.id, is_deafened: true }],
      [{ type: 'speaking', is_speaking: true }, { type: 'user_speaking', user_id: w.owner.id, is_speaking: true }],
      [{ type: 'screen_share_start' }, { type: 'screen_share_started', user_id: w.owner.id, username: w.owner.username }],
      [{ type: 'screen_share_stop' }, { type: 'screen_share_stopped', user_id: w.owner.id, username: w.owner.username }],
    ];
    for (const [sent, got] of cases) {
      a.send(sent);
      expect(await b.next((got as { type: string }).type)).toEqual(got);
    }
    a.send({ type: 'ping' });
    await a.next('pong');
    expect(a.received.filter((m) => m.type.startsWith('user_') || m.type.startsWith('screen'))).toEqual([]); // not echoed to the sender

    a.send({ type: 'offer', target_id: 999, offer });
    expect((await a.next('error')).message).toBe(`offer: user 999 is not in voice channel ${vc}`);
    a.send({ type: 'offer', target_id: w.owner.id, offer });
    expect((await a.next('error')).message).toMatch(/is not in voice channel/);
    a.send({ type: 'dance' });
    expect((await a.next('error')).message).toBe('unknown message type "dance"');
  });

  it('a user in one room from two tabs: each socket its own entry, closing one keeps the other', async () => {
    const s = await startServer();
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const vc = w.voiceChannelId;
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    const a1 = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    const a2 = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    expect((await a2.next('participants')).participants).toEqual([expect.objectContaining({ user_id: bob.id })]);
    expect(await a1.next('user_joined_voice')).toMatchObject({ user_id: w.owner.id }); // others = every socket but the sender's
    b.send({ type: 'offer', target_id: w.owner.id, offer: { type: 'offer', sdp: 'x' } });
    await a1.next('offer');
    await a2.next('offer');
    expect((await s.stats()).voice_rooms![vc]).toEqual([bob.id, w.owner.id, w.owner.id]);
    await a1.close();
    await statsUntil(s, (st) => st.voice_rooms![vc]!.length === 2 && st.connections!.length === 2);
    expect((await api(s, bob.token).get(`/api/channels/voice/${vc}/members`)).body).toHaveLength(2);
  });

  it('closes with 4001 for a bad token, 4004 for an unknown channel and 4005 when full', async () => {
    const s = await startServer();
    const users = [await signUp(s), await signUp(s)];
    const w = await world(s, { members: users });
    const small = await api(s, w.owner.token).post(`/api/channels/${w.serverId}/voice-channels`, { name: 'Duo', channel_id: w.serverId, max_users: 2 });
    const vc = small.body.id as number;
    expect((await (await connect(s, `/ws/voice/${vc}`, 'garbage')).closed).code).toBe(4001);
    expect((await (await connect(s, '/ws/voice/999', w.owner.token)).closed).code).toBe(4004);
    await connect(s, `/ws/voice/${vc}`, w.owner.token);
    await connect(s, `/ws/voice/${vc}`, users[0]!.token);
    const third = await connect(s, `/ws/voice/${vc}`, users[1]!.token);
    expect(await third.closed).toEqual({ code: 4005, reason: `voice channel ${vc} is full (2 users)` });
    const st = await s.stats();
    expect(st.counters).toMatchObject({ rejected: 3, connections_opened: 2 });
    expect(st.voice_rooms![vc]).toHaveLength(2);
  });
});
