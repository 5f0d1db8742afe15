import { LatencyHistogram } from '../../src/metrics/latency-histogram.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { voiceTotals } from '../../src/report/merge.js';
import { ReportSchema, SCHEMA_VERSION, type Finding, type Report, type TimelineSample } from '../../src/report/schema.js';

/**
 * Builds valid reports from real histograms and metrics, so the report tools are tested on
 * what `run` writes rather than on hand-typed JSON. Every report is checked by ReportSchema.
 */
export interface FixtureOptions {
  /** latency samples per histogram name, in ms */
  samples?: Record<string, number[]>;
  counters?: Record<string, number>;
  findings?: Array<Partial<Finding> & Pick<Finding, 'class'>>;
  scenario?: string;
  seed?: number;
  thresholds?: string[];
  shard?: { index: number; count: number };
  startedAt?: string;
  durationMs?: number;
  status?: 'completed' | 'incomplete';
  target?: string;
  /** seconds of timeline to make */
  timelineSeconds?: number;
  /** client sockets per timeline sample */
  clientSockets?: number;
  serverSockets?: number;
  voiceRooms?: number;
  /** the run's id; null writes none (a report from before runIds); default: a fresh one per report */
  runId?: string | null;
}

let runs = 0;

export function sampleTimeline(seconds: number, clientSockets: number, serverSockets: number): TimelineSample[] {
  const out: TimelineSample[] = [];
  for (let s = 0; s < seconds; s++) {
    const ramp = Math.min(1, (s + 1) / Math.max(1, seconds / 3));
    const c = Math.round(clientSockets * ramp);
    const sv = Math.round(serverSockets * ramp);
    out.push({
      t: s * 1000,
      phase: s < seconds / 3 ? 'connect' : 'chat',
      users: Math.round(c / 2),
      client: { total: c, chat: Math.round(c / 2), voice: 0, notifications: c - Math.round(c / 2) },
      server: { total: sv, chat: Math.round(sv / 2), voice: 0, notifications: sv - Math.round(sv / 2) },
      peers: 0,
      messagesPerSec: 10 * ramp,
      deliveriesPerSec: 30 * ramp,
      errorsPerSec: 0,
      eventLoopDelayMs: 2,
      serverRssBytes: 50_000_000 + s * 1000,
    });
  }
  return out;
}

export function makeReport(o: FixtureOptions = {}): Report {
  const m = new Metrics();
  const samples = o.samples ?? { 'chat.deliver': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'ws.connect.chat': [3, 4, 5] };
  for (const [name, values] of Object.entries(samples)) for (const v of values) m.record(name, v);
  const counters = o.counters ?? { 'chat.sent': 10, 'chat.expected': 30, 'chat.delivered': 30, 'errors.total': 0 };
  for (const [k, v] of Object.entries(counters)) m.inc(k, v);
  const startedAt = o.startedAt ?? '2026-01-01T00:00:00.000Z';
  const durationMs = o.durationMs ?? 10_000;
  const endedAt = new Date(Date.parse(startedAt) + durationMs).toISOString();
  const delivered = m.get('chat.delivered');
  const expected = m.get('chat.expected');
  const findings: Finding[] = (o.findings ?? []).map((f, i) => ({
    id: `F${i + 1}`,
    message: `${f.class} on user ${i}`,
    subject: { user: i, kind: 'chat', channelId: 1 },
    expected: 0,
    observed: 1,
    checkpoint: 'final',
    firstSeen: endedAt,
    ageMs: 1500,
    evidence: { trace: [{ t: 1, ev: 'socket.close', user: i, code: 1000 }] },
    ...f,
  }));
  const rooms = Array.from({ length: o.voiceRooms ?? 0 }, (_, i) => ({
    roomId: 100 + i,
    members: 3,
    pairs: 3,
    audioFramesExpected: 6000,
    audioFramesReceived: 5990 - i * 100,
    tonesDetected: 6,
    videoFramesReceived: 0,
    packetsLost: i * 3,
    jitterMs: 1.5 + i,
    rttMs: 0.4,
    bytesSent: 100_000,
    bytesReceived: 99_000,
    concealedRatio: 0.001 * i,
  }));
  const report = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'miscord-bench', version: '0.1.0' },
    ...(o.runId === null ? {} : { runId: o.runId ?? `fixture-run-${++runs}` }),
    scenario: { name: o.scenario ?? 'smoke', description: 'a fixture', path: null, seed: o.seed ?? 1, config: { thresholds: o.thresholds ?? [] } },
    target: { url: o.target ?? 'http://127.0.0.1:9', bundled: true, extStats: true, config: { heartbeat_ms: 30000, missed_pongs: 2, max_per_user: 3, max_total: 1000 } },
    shards: o.shard ? [{ ...o.shard, usernamePrefix: `mb-s${o.shard.index}-` }] : [],
    startedAt,
    endedAt,
    durationMs,
    status: o.status ?? 'completed',
    abortReason: o.status === 'incomplete' ? 'server died' : null,
    generator: { reliable: true, unreliableReason: null, eventLoopDelayP99Ms: 3, eventLoopDelayMaxMs: 9, cpuUserMs: 500, cpuSystemMs: 100, peakRssBytes: 80_000_000, processes: 1 },
    histograms: m.encodeHistograms(),
    counters: m.counterObject(),
    rates: {
      deliveryRatio: expected ? delivered / expected : 1,
      errorRate: m.get('chat.sent') ? m.get('errors.total') / m.get('chat.sent') : 0,
      messagesPerSec: m.get('chat.sent') / (durationMs / 1000),
      deliveriesPerSec: delivered / (durationMs / 1000),
    },
    timeline: sampleTimeline(o.timelineSeconds ?? 5, o.clientSockets ?? 20, o.serverSockets ?? o.clientSockets ?? 20),
    ledger: {
      users: 10,
      connectionsCreated: 20,
      connectionsDestroyed: 20,
      reconnectAttempts: 0,
      refusals: 0,
      peersCreated: rooms.length * 6,
      peersClosed: rooms.length * 6,
      openSocketsAtEnd: 0,
      openPeersAtEnd: 0,
      byKind: { chat: { opened: 10, closed: 10 }, notifications: { opened: 10, closed: 10 } },
      lastErrors: [],
    },
    voice: rooms.length ? { rooms, totals: voiceTotals(rooms) } : null,
    checkpoints: [
      { name: 'final', at: endedAt, settledMs: 120, stable: true, mode: 'ext', server: { total: 0 }, client: { total: 0 }, findings: findings.map((f) => f.id) },
    ],
    findings,
    gates: [],
    errors: [],
    verdict: { exitCode: findings.length ? 5 : 0, passed: findings.length === 0, leaks: findings.length, failedGates: 0 },
  };
  return ReportSchema.parse(report);
}

/** Latencies with a spread, deterministic. */
export function latencies(n: number, base: number, spread: number, seed = 1): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(base + (x / 2147483648) * spread);
  }
  return out;
}

export { LatencyHistogram };
