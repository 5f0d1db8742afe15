import { describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/index.js';
import { FAULTS } from '../../src/server/index.js';
import { heapLeakRetained } from '../../src/server/connection-manager.js';
import { api, connect, signUp, startServer, statsHttp, statsUntil, world } from './helpers.js';

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
};

const clean: Record<string, unknown> = {
  'zombie-socket': { registered: 0, total: 0 },
  'heap-leak': { retained: 0 },
  'voice-ghost': { roomSize: 1, members: 1, sockets: 1, toldLeft: true },
  'slow-deregister': { stillThereAfterClose: 0 },
  'slot-overwrite': { bothOpen: 2, afterClosingOne: 1, tab1Open: true },
};
const faulty: Record<string, unknown> = {
  'heap-leak': { retained: 1 },
  'zombie-socket': { registered: 1, total: 1 },
  'voice-ghost': { roomSize: 2, members: 2, sockets: 1, toldLeft: false },
  'slow-deregister': { stillThereAfterClose: 1 },
  'slot-overwrite': { bothOpen: 1, afterClosingOne: 0, tab1Open: true },
};

describe('faults', () => {
  it('the catalogue covers every scenario here', () => {
    expect(FAULTS.map((f) => f.name).sort()).toEqual(Object.keys(scenarios).sort());
    for (const f of FAULTS) expect(f.description.length).toBeGreaterThan(10);
  });

  for (const name of Object.keys(scenarios)) {
    it(`${name}: the clean server shows no symptom`, async () => {
      const s = await startServer();
      const got = await scenarios[name]!(s);
      expect(got).toEqual(clean[name]);
    });

    it(`${name}: the fault shows its symptom through the stats route`, async () => {
      const s = await startServer({ faults: [name], ...(name === 'slow-deregister' ? { faultDelayMs: 300 } : {}) });
      const started = performance.now();
      const got = await scenarios[name]!(s);
      expect(got).toEqual(faulty[name]);
      if (name === 'slow-deregister') expect(performance.now() - started).toBeGreaterThanOrEqual(300);
      expect(await statsHttp(s)).toMatchObject({ faults: [name] });
    });
  }
});
