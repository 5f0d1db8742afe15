import { describe, it, expect } from 'vitest';
import { harness, classesOf } from './harness.js';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';

/** The reference server with each of its faults: the matching finding, and no other. */
describe('leak detector against the reference server', () => {
  it('names a zombie socket, with the close the server ignored as evidence', async () => {
    const h = await harness({ users: 2, server: { faults: ['zombie-socket'] } });
    const [a, b] = h.users;
    await a!.open('notifications');
    const chat = await a!.open('chat');
    await b!.open('chat');
    const clean = await h.checkpoint('connected');
    expect(clean.findings).toEqual([]);
    await a!.close(chat);
    await a!.open('chat'); // a reconnect
    await h.checkpoint('switched');
    expect(classesOf(h.detector)).toEqual(['zombie-socket']);
    const f = h.detector.findings().find((x) => x.subject.socket === chat.id)!;
    expect(f.subject).toMatchObject({ user: 0, userId: a!.identity.id, kind: 'chat', channelId: h.world.serverId });
    expect(f.checkpoint).toBe('switched');
    expect(f.evidence.trace!.map((l) => l.ev)).toEqual(expect.arrayContaining(['socket.open', 'socket.closing', 'socket.close']));
    await h.finish();
    expect(classesOf(h.detector)).toEqual(['zombie-socket']);
    expect(h.detector.findings().length).toBe(4); // every socket closed stays registered, one finding each
  });

  it('names a stale voice member, in the stats and the members route', async () => {
    const h = await harness({ users: 2, server: { faults: ['voice-ghost'] } });
    const [a, b] = h.users;
    await a!.open('voice');
    const vb = await b!.open('voice');
    await h.checkpoint('joined');
    await b!.kill(vb);
    const cp = await h.checkpoint('ghost');
    expect(classesOf(h.detector)).toEqual(['stale-voice-member']);
    const f = h.detector.findings()[0]!;
    expect(f.subject).toMatchObject({ userId: b!.identity.id, roomId: h.world.voiceChannelId, socket: vb.id });
    expect(f.evidence.details).toHaveProperty('voiceRooms');
    expect(f.evidence.details).toHaveProperty('membersRoute');
    expect(cp.findings).toEqual([f.id]);
    await h.finish();
    expect(classesOf(h.detector)).toEqual(['stale-voice-member']);
  });

  it('measures close → deregister and names the slow one', async () => {
    const h = await harness({ users: 1, server: { faults: ['slow-deregister'], faultDelayMs: 600 }, detector: { slowDeregisterMs: 400, settleMs: 2000 } });
    const [a] = h.users;
    const chat = await a!.open('chat');
    await a!.open('notifications');
    await h.checkpoint('connected');
    await a!.close(chat);
    await h.checkpoint('closed');
    expect(classesOf(h.detector)).toEqual(['slow-deregister']);
    await h.finish();
    expect(classesOf(h.detector)).toEqual(['slow-deregister']);
    const hist = LatencyHistogram.decode(h.detector.histograms().close_to_deregister!);
    expect(hist.count).toBe(2);
    expect(hist.percentile(0)).toBeGreaterThanOrEqual(550);
    const f = h.detector.findings().find((x) => x.subject.kind === 'chat')!;
    expect(f.subject).toMatchObject({ resource: 'close_to_deregister' });
    expect(f.evidence.trace!.some((l) => l.socket === chat.id)).toBe(true);
  });

  it('names the phantom the slot overwrite leaves behind', async () => {
    const h = await harness({ users: 1, server: { faults: ['slot-overwrite'] } });
    const [a] = h.users;
    const tab1 = await a!.open('chat');
    const tab2 = await a!.open('chat');
    await h.checkpoint('two-tabs');
    expect(classesOf(h.detector)).toEqual(['phantom-socket']);
    expect(h.detector.findings()[0]!.subject.socket).toBe(tab1.id);
    await a!.close(tab2); // removes the shared entry: tab1 stays invisible
    await h.checkpoint('one-tab');
    await h.finish();
    expect(classesOf(h.detector)).toEqual(['phantom-socket']);
    expect(h.detector.findings()).toHaveLength(1);
  });

  it('names a frozen socket a server keeps past the heartbeat window it promises', async () => {
    // the server heartbeats every 60 s but claims 100 ms: it breaks its promise
    const h = await harness({
      users: 1,
      server: { heartbeatMs: 60_000 },
      rewrite: (r) => ((r.stats.config = { ...r.stats.config!, heartbeat_ms: 100, missed_pongs: 1 }), r),
    });
    const [a] = h.users;
    const chat = await a!.open('chat');
    void a!.freeze(chat);
    const cp = await h.checkpoint('frozen'); // settles until the window (200 + 500 ms slack) has passed
    expect(classesOf(h.detector)).toEqual(['frozen-not-reaped']);
    expect(h.detector.findings()[0]!.subject.socket).toBe(chat.id);
    expect(cp.settledMs).toBeGreaterThanOrEqual(600);
  });

  it('lets a frozen socket go that the server reaps in time', async () => {
    const h = await harness({ users: 1, server: { heartbeatMs: 150, missedPongs: 1 } });
    const [a] = h.users;
    const chat = await a!.open('chat');
    await a!.open('notifications');
    await a!.freeze(chat); // resolves when the server drops it
    expect(chat.closedBy).toBe('server');
    await h.checkpoint('reaped');
    await h.finish();
    expect(h.detector.findings()).toEqual([]);
  });

  it('names socket growth when a client switches leakily', async () => {
    const h = await harness({ users: 1 });
    const [a] = h.users;
    let chat = await a!.open('chat');
    for (let i = 0; i < 3; i++) chat = await a!.leakySwitch(chat);
    await h.checkpoint('switched');
    expect(classesOf(h.detector)).toEqual(['socket-growth']);
    expect(h.detector.findings()[0]!.observed).toBe(4);
    await h.finish();
    expect(classesOf(h.detector)).toEqual(['socket-growth']);
  });

  it('names the bench leak of a socket a user never closed', async () => {
    const h = await harness({ users: 1 });
    const [a] = h.users;
    const n = await a!.open('notifications');
    await h.checkpoint('connected');
    const cp = await h.detector.checkpoint('final', h.views(), { final: true });
    expect(classesOf(h.detector)).toEqual(['bench-leak']);
    expect(h.detector.findings()[0]!.subject.socket).toBe(n.id);
    expect(cp.findings).toHaveLength(1);
  });
});
