import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fetchMetricsSample, fetchStats } from '../../src/client/fetch-stats.js';
import { parseMetricsSample } from '../../src/protocol/stats-reading.js';
import { DeliveryTracker } from '../../src/client/delivery-tracker.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { TimelineSampler } from '../../src/runner/timeline-sampler.js';
import type { TimelineSample } from '../../src/report/schema.js';
import { connect, startServer, world } from '../server/helpers.js';

describe('the server sample from /metrics', () => {
  it('counts the same sockets by kind as the [ext] stats, with the process figures', async () => {
    const s = await startServer();
    const w = await world(s);
    await connect(s, '/ws/notifications', w.owner.token);
    await connect(s, '/ws/notifications', w.owner.token);
    await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    const m = await fetchMetricsSample(s.url);
    const st = await fetchStats(s.url);
    expect(st.ext).toBe(true);
    expect(m!.counts).toEqual(st.counts);
    expect(m!.counts).toEqual({ total: 3, chat: 1, voice: 0, notifications: 2 });
    for (const v of [m!.rssBytes, m!.heapBytes, m!.openFds, m!.openHandles]) expect(v).toBeGreaterThan(0);
  });

  it('reads labelled samples, skips comments and other metrics; null without miscord_connections', () => {
    const text = [
      '# HELP miscord_connections Registered WebSocket connections by kind',
      '# TYPE miscord_connections gauge',
      'miscord_connections{kind="chat"} 4',
      'miscord_connections{kind="voice"} 1',
      'miscord_connections{kind="notifications"} 5',
      'miscord_deliveries_total{kind="chat"} 900',
      'process_resident_memory_bytes 1.5e8',
      '',
    ].join('\n');
    expect(parseMetricsSample(text)).toEqual({ counts: { total: 10, chat: 4, voice: 1, notifications: 5 }, rssBytes: 1.5e8, heapBytes: null, openFds: null, openHandles: null });
    expect(parseMetricsSample('# nothing\nhttp_requests_total 3\n')).toBeNull();
    expect(parseMetricsSample('<html>not found</html>')).toBeNull();
  });
});

describe('the timeline against a target without /metrics (a plain Miscord)', () => {
  it('falls back to the stats route for good after one try of /metrics', async () => {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url!);
      if (req.url === '/api/debug/websocket-stats') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ total_users: 1, total_connections: 3, active_channels: 1, users_by_type: {}, connections_by_type: { voice: 2, notifications: 1 }, redis_connected: false }));
      } else res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const metrics = new Metrics();
    const withServer: TimelineSample[] = [];
    let enough!: () => void;
    const done = new Promise<void>((r) => (enough = r));
    const sampler = new TimelineSampler({
      httpUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      serverStats: true,
      users: () => [],
      online: () => 0,
      phase: () => 'chat',
      tracker: new DeliveryTracker(metrics),
      metrics,
      signal: new AbortController().signal,
      intervalMs: 10,
      onSample: (s) => {
        if (s.server) withServer.push(s);
        if (withServer.length === 3) enough();
      },
    });
    sampler.begin();
    await done;
    await sampler.stop();
    // v1 files chat sockets under "voice"
    expect(withServer[0]!.server).toEqual({ total: 3, chat: 2, voice: 0, notifications: 1 });
    expect(withServer[0]!.serverRssBytes).toBeNull();
    expect(hits.filter((h) => h === '/metrics')).toHaveLength(1);
    expect(hits.filter((h) => h === '/api/debug/websocket-stats').length).toBeGreaterThanOrEqual(3);
  });
});
