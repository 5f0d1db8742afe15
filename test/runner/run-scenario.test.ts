import { describe, it, expect, afterEach } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { ReportSchema } from '../../src/report/schema.js';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const small = parseScenario({
  name: 'small',
  description: 'a small clean run',
  seed: 7,
  users: 6,
  setup: { servers: 1, textChannels: 3, voiceChannels: 0 },
  settle: 1000,
  thresholds: ['rates.deliveryRatio>=1'],
  phases: [
    { type: 'connect', rampUp: 200 },
    { type: 'chat', duration: 1500, messagesPerUserPerSec: 4, pingEvery: 300 },
    { type: 'switch', strategy: 'in-band', switches: 2, interval: 100 },
    { type: 'switch', strategy: 'reconnect', switches: 2, interval: 100 },
    { type: 'disconnect' },
  ],
});

describe('runScenario against the in-process reference server', () => {
  it('delivers every message exactly once and fills a valid report', async () => {
    const server = await createReferenceServer({ port: 0 });
    cleanups.push(() => server.close());
    const report = await runScenario({ scenario: small, target: server.url });
    expect(report.abortReason).toBeNull();
    expect(report.status).toBe('completed');
    const c = report.counters;
    expect(c['chat.sent']).toBeGreaterThan(20);
    // 6 users on one server: every unswitched socket receives every message
    expect(c['chat.expected']).toBeGreaterThanOrEqual(c['chat.sent']!);
    expect(c['chat.delivered']).toBe(c['chat.expected']! - c['chat.excused']!);
    expect(c['chat.lost']).toBe(0);
    expect(report.rates.deliveryRatio).toBe(1);
    // the histogram holds every delivery, and nothing else
    const deliver = LatencyHistogram.decode(report.histograms['chat.deliver']!);
    expect(deliver.count).toBe(c['chat.delivered']);
    expect(report.histograms['http.register']!.count).toBe(6);
    expect(report.histograms['http.login']!.count).toBe(6);
    expect(report.histograms['ws.connect.chat']!.count).toBe(c['ws.opened']! - report.histograms['ws.connect.notifications']!.count);
    expect(report.histograms['chat.switch']!.count).toBe(6 * 4);
    expect(report.histograms['ws.ping_rtt']!.count).toBeGreaterThan(0);
    expect(report.ledger.users).toBe(6);
    expect(report.ledger.openSocketsAtEnd).toBe(0);
    expect(report.ledger.connectionsCreated).toBe(report.ledger.connectionsDestroyed);
    expect(report.gates).toHaveLength(1);
    expect(report.gates[0]!.passed).toBe(true);
    expect(report.verdict.exitCode).toBe(0);
    expect(report.timeline.length).toBeGreaterThan(1);
    expect(() => ReportSchema.parse(report)).not.toThrow();
  });
});
