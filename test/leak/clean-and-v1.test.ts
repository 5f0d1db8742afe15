import { describe, it, expect } from 'vitest';
import { harness, classesOf, type Harness } from './harness.js';
import { connect } from '../server/helpers.js';
import type { StatsReading } from '../../src/protocol/stats-reading.js';
import type { StatsResponse } from '../../src/protocol/messages.js';

/** A plain Miscord's stats: v1 fields only, chat sockets filed under "voice", voice sockets not counted. */
function asV1(r: StatsReading): StatsReading {
  const conns = r.stats.connections ?? [];
  const chat = conns.filter((c) => c.kind === 'chat').length;
  const notifications = conns.filter((c) => c.kind === 'notifications').length;
  const stats: StatsResponse = {
    total_users: r.stats.total_users,
    total_connections: chat + notifications,
    active_channels: r.stats.active_channels,
    users_by_type: {},
    connections_by_type: { voice: chat, notifications },
    redis_connected: true,
  };
  return { stats, ext: false, counts: { total: chat + notifications, chat, voice: 0, notifications }, at: r.at };
}

/** A small run touching every check: channel switching, a second tab, voice leave and rejoin, churn. */
async function cleanRun(h: Harness): Promise<void> {
  const [a, b, c] = h.users;
  for (const u of [a, b]) {
    await u!.open('notifications');
    await u!.open('chat');
  }
  await h.checkpoint('connect');
  // reconnect switching
  for (let i = 0; i < 3; i++) {
    const old = a!.ledger.openSockets().find((s) => s.kind === 'chat')!;
    await a!.close(old);
    await a!.open('chat');
  }
  // a second tab, then the first closes
  const first = b!.ledger.openSockets().find((s) => s.kind === 'chat')!;
  await b!.open('chat');
  await h.checkpoint('tabs');
  await b!.close(first);
  // voice: join, leave, rejoin
  await a!.open('voice');
  const vb = await b!.open('voice');
  await b!.close(vb);
  await b!.open('voice');
  await h.checkpoint('voice');
  // churn: a user comes and goes
  await c!.open('notifications');
  await c!.open('chat');
  await c!.leave();
  await h.checkpoint('churn');
  await h.finish();
}

describe('clean runs', () => {
  it('give no finding at all, run after run', async () => {
    for (let run = 0; run < 10; run++) {
      const h = await harness({ users: 3, detector: { slowDeregisterMs: 1000 } });
      await cleanRun(h);
      expect(h.detector.findings(), `run ${run}`).toEqual([]);
      const cps = h.detector.checkpoints();
      expect(cps.map((c) => c.name)).toEqual(['connect', 'tabs', 'voice', 'churn', 'final']);
      expect(cps.every((c) => c.mode === 'ext' && c.stable)).toBe(true);
      // a healthy server settles in a couple of polls, never the whole period
      expect(Math.max(...cps.map((c) => c.settledMs))).toBeLessThan(800);
      expect(h.detector.histograms().close_to_deregister!.count).toBeGreaterThanOrEqual(10);
      expect(h.detector.serverConfig()).toMatchObject({ heartbeat_ms: 500, missed_pongs: 2 });
      await h.detector.close();
    }
  });
});

describe('v1 stats only (a plain Miscord, shared with real users)', () => {
  it('diffs totals against the baseline and ignores the real users', async () => {
    const h2 = await harness({
      users: 2,
      rewrite: asV1,
      detector: { v1Tolerance: 1 },
      // a real user is online before the run: the baseline holds its sockets
      beforeStart: async (h) => void (await connect(h.server, '/ws/notifications', h.world.owner.token)),
    });
    await cleanRunSmall(h2);
    await connect(h2.server, `/ws/chat/${h2.world.serverId}`, h2.world.owner.token); // a real user arrives
    await h2.finish();
    expect(h2.detector.findings()).toEqual([]);
    expect(h2.detector.checkpoints().every((c) => c.mode === 'v1')).toBe(true);
    expect(h2.detector.checkpoints()[0]!.notes!.join()).toContain('v1 stats');
  });

  it('names zombies by kind', async () => {
    const h = await harness({ users: 2, rewrite: asV1, server: { faults: ['zombie-socket'] } });
    await cleanRunSmall(h);
    await h.finish();
    expect(classesOf(h.detector)).toEqual(['zombie-socket']);
    expect(h.detector.findings().map((f) => f.subject.kind).sort()).toEqual(['chat', 'notifications']);
  });
});

async function cleanRunSmall(h: Harness): Promise<void> {
  for (const u of h.users) {
    await u.open('notifications');
    await u.open('chat');
  }
  await h.checkpoint('connect');
  const [a] = h.users;
  await a!.close(a!.ledger.openSockets().find((s) => s.kind === 'chat')!);
  await a!.open('chat');
  await h.checkpoint('switched');
}
