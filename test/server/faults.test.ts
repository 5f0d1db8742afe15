import { describe, expect, it, onTestFinished } from 'vitest';
import type { ReferenceServer, ReferenceServerOptions } from '../../src/server/index.js';
import { FAULTS, resolveOptions } from '../../src/server/index.js';
import { CLOSE } from '../../src/protocol/messages.js';
import { heapLeakRetained } from '../../src/server/connection-manager.js';
import WebSocket from 'ws';
import { api, connect, signUp, startServer, statsHttp, statsUntil, world, type TestSocket, type TestUser } from './helpers.js';

/** Names for user ids, sorted, so expectations can be written before the ids exist. */
function who(ids: number[], names: Record<number, string>): string[] {
  return ids.map((id) => names[id] ?? `#${id}`).sort();
}

/** Answers a ping with a pong, so every frame the server sent this socket before is in. */
async function drained(t: TestSocket): Promise<TestSocket> {
  t.send({ type: 'ping' });
  await t.next('pong');
  return t;
}

/** 'open' for an accepted socket (left open), a close code for one refused after accept, an HTTP status for a refused upgrade. */
function outcome(s: ReferenceServer, path: string, token: string): Promise<'open' | number> {
  const ws = new WebSocket(`${s.wsUrl}${path}?token=${encodeURIComponent(token)}`);
  onTestFinished(() => ws.terminate());
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    ws.once('close', (code) => resolve(code));
    // a refused socket is closed right after the open: a pong proves it was admitted
    ws.once('open', () => ws.send(JSON.stringify({ type: 'ping' })));
    ws.on('message', (d) => JSON.parse(d.toString()).type === 'pong' && resolve('open'));
  });
}

async function loginStatus(s: ReferenceServer, u: TestUser): Promise<number> {
  const r = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: u.username, password: 'secret-pw' }) });
  await r.arrayBuffer();
  return r.status;
}

let registered = 0;
async function registerStatus(s: ReferenceServer): Promise<number> {
  const name = `pool${++registered}`;
  const r = await fetch(`${s.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, email: `${name}@example.com`, password: 'secret-pw' }),
  });
  await r.arrayBuffer();
  return r.status;
}

/** Each scenario returns the symptom it saw through the stats (and members) routes. */
const scenarios: Record<string, (s: ReferenceServer) => Promise<unknown>> = {
  async 'heap-leak'(s) {
    const w = await world(s);
    const before = heapLeakRetained();
    const c = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    await c.close();
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    return { retained: heapLeakRetained() - before };
  },
  async 'zombie-socket'(s) {
    const w = await world(s);
    const c = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    await c.close();
    const st = await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    return { registered: (await statsHttp(s)).connections!.length, total: st.total_connections };
  },
  async 'voice-ghost'(s) {
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const a = await connect(s, `/ws/voice/${w.voiceChannelId}`, w.owner.token);
    const b = await connect(s, `/ws/voice/${w.voiceChannelId}`, bob.token);
    await a.next('user_joined_voice');
    b.ws.terminate(); // dies without a close frame: the server sees 1006
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    a.send({ type: 'ping' });
    await a.next('pong');
    const members = await api(s, w.owner.token).get(`/api/channels/voice/${w.voiceChannelId}/members`);
    const st = await statsHttp(s);
    return {
      roomSize: st.voice_rooms![w.voiceChannelId]?.length,
      members: members.body.length,
      sockets: st.connections!.length,
      toldLeft: a.has('user_left_voice'),
    };
  },
  async 'slow-deregister'(s) {
    const w = await world(s);
    const c = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    await c.close();
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    const stillThere = (await statsHttp(s)).connections!.length;
    await statsUntil(s, (x) => x.total_connections === 0);
    return { stillThereAfterClose: stillThere };
  },
  async 'slow-consumer-unbounded'(s) {
    // the attack: a chat socket that never reads, floods, and sends unsolicited pongs
    const w = await world(s);
    const path = `/ws/chat/${w.serverId}`;
    const attacker = await connect(s, path, w.owner.token);
    attacker.ws.pause();
    const pongs = setInterval(() => attacker.ws.readyState === attacker.ws.OPEN && attacker.ws.pong(), 20);
    try {
      const big = JSON.stringify({ type: 'message', content: 'x'.repeat(4000), text_channel_id: w.textChannels[0] });
      for (let i = 0; i < 200; i++) attacker.ws.send(big);
      // an honest socket opened after it: once it has had missedPongs + 1 pings, a socket
      // that answers none has had as many heartbeat ticks and must be gone
      const honest = await connect(s, '/ws/notifications', w.owner.token);
      let pings = 0;
      await new Promise<void>((resolve) => honest.ws.on('ping', () => ++pings === s.options.missedPongs + 1 && resolve()));
      const c = (await statsHttp(s)).counters!;
      const lost = c.reaped + (c.slow_consumers_dropped ?? 0);
      // dropped: its close frame waits behind the queue it never reads, until the close timeout
      if (lost > 0) await statsUntil(s, (x) => x.counters!.connections_closed === 1);
      return { lost, registered: (await statsHttp(s)).connections!.filter((x) => x.kind === 'chat').length };
    } finally {
      clearInterval(pongs);
      // it never reads the server's close frame: a clean close would wait 30 s
      attacker.ws.terminate();
    }
  },
  async 'slot-overwrite'(s) {
    const w = await world(s);
    const path = `/ws/chat/${w.serverId}`;
    const tab1 = await connect(s, path, w.owner.token);
    const tab2 = await connect(s, path, w.owner.token);
    const bothOpen = (await statsHttp(s)).connections!.length;
    tab2.send({ type: 'message', content: 'hi', text_channel_id: w.textChannels[0] });
    await tab1.next('message'); // the hidden tab still receives
    await tab2.close();
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    const afterClosingOne = (await statsHttp(s)).connections!.length;
    return { bothOpen, afterClosingOne, tab1Open: tab1.ws.readyState === tab1.ws.OPEN };
  },
  async 'voice-slot-overwrite'(s) {
    const bob = await signUp(s);
    const carol = await signUp(s);
    const w = await world(s, { members: [bob, carol] });
    const names = { [w.owner.id]: 'owner', [bob.id]: 'bob', [carol.id]: 'carol' };
    const vc = w.voiceChannelId;
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    const a1 = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    await b.next('user_joined_voice');
    const a2 = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    await b.next('user_joined_voice');
    const room = who((await statsHttp(s)).voice_rooms![vc]!, names);
    b.send({ type: 'offer', target_id: w.owner.id, offer: { type: 'offer', sdp: 'x' } });
    await a2.next('offer');
    const firstTabGotOffer = (await drained(a1)).has('offer');
    await a2.close(); // the newest tab goes; the first is still open and joined
    await b.next('user_left_voice');
    const members = await api(s, bob.token).get(`/api/channels/voice/${vc}/members`);
    const c = await connect(s, `/ws/voice/${vc}`, carol.token);
    const participants = (await c.next('participants')).participants as Array<{ user_id: number }>;
    return {
      room,
      firstTabGotOffer,
      membersAfterNewestClosed: who(members.body.map((m: { user_id: number }) => m.user_id), names),
      laterJoinerSees: who(participants.map((p) => p.user_id), names),
      firstTabOpen: a1.ws.readyState === WebSocket.OPEN,
    };
  },
  async 'drop-announcement'(s) {
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const a = await connect(s, `/ws/voice/${w.voiceChannelId}`, w.owner.token);
    const b = await connect(s, `/ws/voice/${w.voiceChannelId}`, bob.token);
    await a.next('user_joined_voice');
    a.send({ type: 'mute', is_muted: true });
    a.send({ type: 'deafen', is_deafened: true });
    await b.next('user_deafened'); // relayed in order: a user_muted would be in by now
    return { muted: b.has('user_muted'), deafened: true };
  },
  async 'duplicate-member'(s) {
    const bob = await signUp(s);
    const carol = await signUp(s);
    const w = await world(s, { members: [bob, carol] });
    const vc = w.voiceChannelId;
    await connect(s, `/ws/voice/${vc}`, bob.token);
    await connect(s, `/ws/voice/${vc}`, w.owner.token);
    await connect(s, `/ws/voice/${vc}`, w.owner.token); // a second tab
    const c = await connect(s, `/ws/voice/${vc}`, carol.token);
    const names = { [w.owner.id]: 'owner', [bob.id]: 'bob', [carol.id]: 'carol' };
    const participants = (await c.next('participants')).participants as Array<{ user_id: number }>;
    const members = await api(s, bob.token).get(`/api/channels/voice/${vc}/members`);
    return {
      participants: who(participants.map((p) => p.user_id), names),
      members: who(members.body.map((m: { user_id: number }) => m.user_id), names),
    };
  },
  async 'crash-kept'(s) {
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const vc = w.voiceChannelId;
    const a = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    await a.next('user_joined_voice');
    a.ws.terminate(); // the client crashes: its connection dies without a close frame (1006)
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    // missedPongs + 2 heartbeats: a socket still watched would have been reaped by now
    let pings = 0;
    await new Promise<void>((resolve) => b.ws.on('ping', () => ++pings === s.options.missedPongs + 2 && resolve()));
    await drained(b);
    const st = await statsHttp(s);
    const members = await api(s, bob.token).get(`/api/channels/${w.serverId}/members`);
    const ownerOnline = members.body.find((u: { id: number }) => u.id === w.owner.id).is_online;
    const crashed = {
      registered: st.connections!.filter((c) => c.user_id === w.owner.id).length,
      inRoom: st.voice_rooms![vc]!.includes(w.owner.id),
      ownerOnline,
      toldLeft: b.has('user_left_voice'),
      reaped: st.counters!.reaped,
    };
    await b.close(); // a clean close still deregisters
    const after = await statsUntil(s, (x) => x.counters!.connections_closed === 2);
    return { ...crashed, afterCleanClose: after.connections!.filter((c) => c.user_id === bob.id).length };
  },
  async 'stale-presence'(s) {
    const w = await world(s);
    const me = () => api(s, w.owner.token).get('/api/auth/me');
    const n = await connect(s, '/ws/notifications', w.owner.token);
    const whileOpen = (await me()).body.is_online;
    await n.close();
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    const members = await api(s, w.owner.token).get(`/api/channels/${w.serverId}/members`);
    return { whileOpen, afterClose: (await me()).body.is_online, inMembers: members.body[0].is_online };
  },
  async 'spurious-leave'(s) {
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const vc = w.voiceChannelId;
    const a = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    await a.next('user_joined_voice');
    await b.close();
    expect(await a.next('user_left_voice')).toEqual({ type: 'user_left_voice', user_id: bob.id });
    const b2 = await connect(s, `/ws/voice/${vc}`, bob.token); // rejoins at once
    await b2.next('participants');
    await a.next('user_joined_voice');
    await drained(a);
    await drained(b2);
    const leftOf = (t: TestSocket) => t.received.filter((m) => m.type === 'user_left_voice');
    const members = await api(s, bob.token).get(`/api/channels/voice/${vc}/members`);
    return { others: leftOf(a).map((m) => m.user_id === bob.id), self: leftOf(b2).map((m) => m.user_id === bob.id), stillMember: members.body.length === 2 };
  },
  async 'per-user-off-by-one'(s) {
    const w = await world(s);
    const got: Array<'open' | number> = [];
    for (let i = 0; i < s.options.maxPerUser + 2 && got.at(-1) !== CLOSE.perUserLimit; i++) got.push(await outcome(s, '/ws/notifications', w.owner.token));
    return { got, registered: (await statsHttp(s)).connections!.length };
  },
  async 'room-counts-sockets'(s) {
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const duo = await api(s, w.owner.token).post(`/api/channels/${w.serverId}/voice-channels`, { name: 'Duo', channel_id: w.serverId, max_users: 2 });
    const path = `/ws/voice/${duo.body.id}`;
    const firstTab = await outcome(s, path, w.owner.token);
    const secondTab = await outcome(s, path, w.owner.token);
    const secondUser = await outcome(s, path, bob.token);
    return { firstTab, secondTab, secondUser };
  },
  async 'pooled-resource'(s) {
    const users = [await signUp(s), await signUp(s), await signUp(s)];
    const extra = await signUp(s);
    for (const u of users) await connect(s, '/ws/notifications', u.token); // 3 sockets: a pool of 3 is exhausted
    const [upgrade, login, register] = await Promise.all([outcome(s, '/ws/notifications', extra.token), loginStatus(s, extra), registerStatus(s)]);
    return { upgrade, login, register, health: (await fetch(`${s.url}/health`)).status };
  },
};

const clean: Record<string, unknown> = {
  'zombie-socket': { registered: 0, total: 0 },
  'heap-leak': { retained: 0 },
  'voice-ghost': { roomSize: 1, members: 1, sockets: 1, toldLeft: true },
  'slow-deregister': { stillThereAfterClose: 0 },
  'slot-overwrite': { bothOpen: 2, afterClosingOne: 1, tab1Open: true },
  'slow-consumer-unbounded': { lost: 1, registered: 0 },
  'voice-slot-overwrite': { room: ['bob', 'owner', 'owner'], firstTabGotOffer: true, membersAfterNewestClosed: ['bob', 'owner'], laterJoinerSees: ['bob', 'owner'], firstTabOpen: true },
  'drop-announcement': { muted: true, deafened: true },
  'duplicate-member': { participants: ['bob', 'owner'], members: ['bob', 'carol', 'owner'] },
  'crash-kept': { registered: 0, inRoom: false, ownerOnline: false, toldLeft: true, reaped: 0, afterCleanClose: 0 },
  'stale-presence': { whileOpen: true, afterClose: false, inMembers: false },
  'spurious-leave': { others: [], self: [], stillMember: true },
  'per-user-off-by-one': { got: ['open', 'open', CLOSE.perUserLimit], registered: 2 },
  'room-counts-sockets': { firstTab: 'open', secondTab: 'open', secondUser: 'open' },
  'pooled-resource': { upgrade: 'open', login: 200, register: 200, health: 200 },
};
const faulty: Record<string, unknown> = {
  'heap-leak': { retained: 1 },
  'zombie-socket': { registered: 1, total: 1 },
  'voice-ghost': { roomSize: 2, members: 2, sockets: 1, toldLeft: false },
  'slow-deregister': { stillThereAfterClose: 1 },
  'slot-overwrite': { bothOpen: 1, afterClosingOne: 0, tab1Open: true },
  'slow-consumer-unbounded': { lost: 0, registered: 1 },
  'voice-slot-overwrite': { room: ['bob', 'owner'], firstTabGotOffer: false, membersAfterNewestClosed: ['bob'], laterJoinerSees: ['bob'], firstTabOpen: true },
  'drop-announcement': { muted: false, deafened: true },
  'duplicate-member': { participants: ['bob', 'owner', 'owner'], members: ['bob', 'carol', 'owner', 'owner'] },
  'crash-kept': { registered: 1, inRoom: true, ownerOnline: true, toldLeft: false, reaped: 0, afterCleanClose: 0 },
  'stale-presence': { whileOpen: true, afterClose: true, inMembers: true },
  'spurious-leave': { others: [true], self: [true], stillMember: true },
  'per-user-off-by-one': { got: ['open', 'open', 'open', CLOSE.perUserLimit], registered: 3 },
  'room-counts-sockets': { firstTab: 'open', secondTab: 'open', secondUser: CLOSE.voiceFull },
  'pooled-resource': { upgrade: 403, login: 500, register: 500, health: 200 },
};
/** server options a scenario needs, with the fault and without */
const serverOptions: Record<string, ReferenceServerOptions> = {
  'slow-consumer-unbounded': { heartbeatMs: 100, missedPongs: 2, maxSendQueueBytes: 64 * 1024, closeTimeoutMs: 200 },
  'crash-kept': { heartbeatMs: 200, missedPongs: 2 },
  'per-user-off-by-one': { maxPerUser: 2 },
};
/** options of the fault itself, only with the fault */
const faultOptions: Record<string, ReferenceServerOptions> = {
  'slow-deregister': { faultDelayMs: 300 },
  // a window far longer than an immediate rejoin takes on a loaded machine
  'spurious-leave': { faultDelayMs: 20_000 },
  'pooled-resource': { faultPoolSize: 3, faultPoolStallMs: 500 },
};

describe('faults', () => {
  it('the catalogue covers every scenario here', () => {
    expect(FAULTS.map((f) => f.name).sort()).toEqual(Object.keys(scenarios).sort());
    for (const f of FAULTS) expect(f.description.length).toBeGreaterThan(10);
  });

  for (const name of Object.keys(scenarios)) {
    it(`${name}: the clean server shows no symptom`, async () => {
      const s = await startServer(serverOptions[name]);
      const got = await scenarios[name]!(s);
      expect(got).toEqual(clean[name]);
    });

    it(`${name}: the fault shows its symptom through the stats route`, async () => {
      const s = await startServer({ ...serverOptions[name], faults: [name], ...faultOptions[name] });
      const started = performance.now();
      const got = await scenarios[name]!(s);
      expect(got).toEqual(faulty[name]);
      // both waited out: the lag, the pool's stall
      if (name === 'slow-deregister' || name === 'pooled-resource') expect(performance.now() - started).toBeGreaterThanOrEqual(name === 'slow-deregister' ? 300 : 500);
      expect(await statsHttp(s)).toMatchObject({ faults: [name] });
    });
  }
});

describe('fault details', () => {
  it('drop-announcement drops the kind --fault-event names and announces the others', async () => {
    const s = await startServer({ faults: ['drop-announcement'], faultEvent: 'user_deafened' });
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const a = await connect(s, `/ws/voice/${w.voiceChannelId}`, w.owner.token);
    const b = await connect(s, `/ws/voice/${w.voiceChannelId}`, bob.token);
    await a.next('user_joined_voice');
    a.send({ type: 'deafen', is_deafened: true });
    a.send({ type: 'mute', is_muted: true });
    expect(await b.next('user_muted')).toEqual({ type: 'user_muted', user_id: w.owner.id, is_muted: true });
    expect(b.has('user_deafened')).toBe(false);
    expect(s.options.faultEvent).toBe('user_deafened');
  });

  it('fault options are refused without their fault, and an unknown event is refused', () => {
    expect(() => resolveOptions({ faultEvent: 'user_muted' })).toThrow(/faultEvent only applies to the drop-announcement fault/);
    expect(() => resolveOptions({ faults: ['drop-announcement'], faultEvent: 'user_danced' })).toThrow(/unknown announced event "user_danced"/);
    expect(() => resolveOptions({ faultPoolSize: 3 })).toThrow(/faultPoolSize only applies to the pooled-resource fault/);
    expect(() => resolveOptions({ faultPoolStallMs: 3 })).toThrow(/faultPoolStallMs only applies/);
    expect(() => resolveOptions({ faults: ['pooled-resource'], faultPoolSize: 0 })).toThrow(/faultPoolSize must be an integer between 1/);
    expect(() => resolveOptions({ faultDelayMs: 10 })).toThrow(/slow-deregister and spurious-leave/);
    expect(resolveOptions({ faults: ['spurious-leave'], faultDelayMs: 10 }).faultDelayMs).toBe(10);
    expect(resolveOptions({ faults: ['pooled-resource'] })).toMatchObject({ faultPoolSize: 15, faultPoolStallMs: 30_000, faultEvent: 'user_muted' });
  });

  it('spurious-leave: a rejoin after the window gets no spurious leave', async () => {
    // a window of 0 ms: any real rejoin comes later than that
    const s = await startServer({ faults: ['spurious-leave'], faultDelayMs: 0 });
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const vc = w.voiceChannelId;
    const a = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    await a.next('user_joined_voice');
    await b.close();
    await a.next('user_left_voice');
    const b2 = await connect(s, `/ws/voice/${vc}`, bob.token);
    await a.next('user_joined_voice');
    await drained(a);
    await drained(b2);
    expect([...a.received, ...b2.received].filter((m) => m.type === 'user_left_voice')).toEqual([]);
  });

  it('voice-slot-overwrite: closing the first, replaced, tab forgets the user too, and the newest is then not in the room', async () => {
    const s = await startServer({ faults: ['voice-slot-overwrite'] });
    const bob = await signUp(s);
    const w = await world(s, { members: [bob] });
    const vc = w.voiceChannelId;
    const b = await connect(s, `/ws/voice/${vc}`, bob.token);
    const a1 = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    const a2 = await connect(s, `/ws/voice/${vc}`, w.owner.token);
    await b.next('user_joined_voice');
    await b.next('user_joined_voice');
    await a1.close();
    expect(await b.next('user_left_voice')).toEqual({ type: 'user_left_voice', user_id: w.owner.id });
    expect((await s.stats()).voice_rooms![vc]).toEqual([bob.id]);
    expect((await api(s, bob.token).get(`/api/channels/voice/${vc}/members`)).body.map((m: { user_id: number }) => m.user_id)).toEqual([bob.id]);
    // the open, joined tab is a stranger to its room now
    a2.send({ type: 'mute', is_muted: true });
    expect(await a2.next('error')).toEqual({ type: 'error', message: 'not in a voice room' });
    b.send({ type: 'offer', target_id: w.owner.id, offer: { type: 'offer', sdp: 'x' } });
    expect((await b.next('error')).message).toBe(`offer: user ${w.owner.id} is not in voice channel ${vc}`);
  });

  it('crash-kept: the kept socket holds its per-user slot; a clean close on the same server deregisters', async () => {
    const s = await startServer({ faults: ['crash-kept'], maxPerUser: 1 });
    const w = await world(s);
    const n = await connect(s, '/ws/notifications', w.owner.token);
    n.ws.terminate();
    await statsUntil(s, (x) => x.counters!.connections_closed === 1);
    const again = await connect(s, '/ws/notifications', w.owner.token);
    expect((await again.closed).code).toBe(CLOSE.perUserLimit);
    expect((await statsHttp(s)).connections).toHaveLength(1);
  });
});
