import { z } from 'zod';

/**
 * The JSON report of a run: the contract between `run`, `compare`, `merge`, `gate` and
 * `report`. schema/report.schema.json is generated from this file (z.toJSONSchema).
 * Bump SCHEMA_VERSION on any incompatible change; compare and merge refuse mismatches.
 */
export const SCHEMA_VERSION = 1;

export const HistogramSchema = z.object({
  unit: z.literal('ms'),
  count: z.number().int().nonnegative(),
  min: z.number(),
  mean: z.number(),
  stddev: z.number(),
  p50: z.number(),
  p90: z.number(),
  p95: z.number(),
  p99: z.number(),
  p999: z.number(),
  max: z.number(),
  /** HDR histogram, compressed base64 (values in microseconds): merges exactly. */
  encoded: z.string(),
});

export const SocketCountsSchema = z.object({
  total: z.number().int(),
  chat: z.number().int(),
  voice: z.number().int(),
  notifications: z.number().int(),
});

export const TimelineSampleSchema = z.object({
  /** ms since the run started */
  t: z.number(),
  phase: z.string(),
  users: z.number().int(),
  client: SocketCountsSchema,
  /** null when the server's stats could not be read at that second */
  server: SocketCountsSchema.nullable(),
  peers: z.number().int(),
  messagesPerSec: z.number(),
  deliveriesPerSec: z.number(),
  errorsPerSec: z.number(),
  /** the generator's event-loop delay (p99 over the second, ms) */
  eventLoopDelayMs: z.number(),
  serverRssBytes: z.number().nullable().optional(),
  serverHeapBytes: z.number().nullable().optional(),
  serverOpenFds: z.number().nullable().optional(),
  serverOpenHandles: z.number().nullable().optional(),
});

export const FindingClassSchema = z.enum([
  'zombie-socket',
  'phantom-socket',
  'stale-voice-member',
  'socket-growth',
  'unclosed-peer',
  'slow-deregister',
  'resource-growth',
  'frozen-not-reaped',
  'bench-leak',
  'limit-violated',
  'capacity-knee',
]);
export type FindingClass = z.infer<typeof FindingClassSchema>;

export const FindingSchema = z.object({
  /** stable within a report, e.g. F1 */
  id: z.string(),
  class: FindingClassSchema,
  /** one line a person can act on */
  message: z.string(),
  subject: z.object({
    user: z.number().int().optional(), // simulated user index
    userId: z.number().int().optional(),
    username: z.string().optional(),
    kind: z.enum(['chat', 'voice', 'notifications']).optional(),
    channelId: z.number().int().nullable().optional(),
    roomId: z.number().int().optional(),
    socket: z.string().optional(),
    peer: z.string().optional(),
    resource: z.string().optional(),
  }),
  expected: z.unknown(),
  observed: z.unknown(),
  /** checkpoint name where it was first seen */
  checkpoint: z.string(),
  firstSeen: z.string(), // ISO time
  ageMs: z.number().nullable(),
  evidence: z.object({
    details: z.record(z.string(), z.unknown()).optional(),
    trace: z.array(z.record(z.string(), z.unknown())).optional(),
  }),
});
export type Finding = z.infer<typeof FindingSchema>;

export const CheckpointSchema = z.object({
  name: z.string(),
  at: z.string(),
  /** how long the settle loop polled before the counts were stable */
  settledMs: z.number(),
  stable: z.boolean(),
  mode: z.enum(['ext', 'v1', 'none']),
  server: z.record(z.string(), z.unknown()).nullable(),
  client: z.record(z.string(), z.unknown()),
  findings: z.array(z.string()),
  /** checks skipped or degraded at this checkpoint, and why (no [ext] stats, no heartbeat...) */
  notes: z.array(z.string()).optional(),
});

export const GateSchema = z.object({
  /** the expression as written, e.g. chat.deliver.p99<250ms */
  name: z.string(),
  source: z.enum(['scenario', 'cli', 'default']),
  passed: z.boolean(),
  observed: z.number().nullable(),
  threshold: z.number(),
  /** one line saying why it failed (or what held) */
  reason: z.string(),
});

export const VoiceRoomSchema = z.object({
  roomId: z.number().int(),
  members: z.number().int(),
  pairs: z.number().int(),
  audioFramesExpected: z.number(),
  audioFramesReceived: z.number(),
  /** pairs in which the receiver detected the sender's tone */
  tonesDetected: z.number().int(),
  videoFramesReceived: z.number(),
  packetsLost: z.number(),
  jitterMs: z.number().nullable(),
  rttMs: z.number().nullable(),
  bytesSent: z.number(),
  bytesReceived: z.number(),
  concealedRatio: z.number().nullable(),
});

export const ReportSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.literal('miscord-bench'), version: z.string() }),
  scenario: z.object({
    name: z.string(),
    description: z.string(),
    path: z.string().nullable(),
    seed: z.number().int(),
    /** the validated scenario after CLI overrides */
    config: z.record(z.string(), z.unknown()),
  }),
  target: z.object({
    url: z.string(),
    bundled: z.boolean(),
    /** the stats route answered with [ext] fields */
    extStats: z.boolean(),
    config: z.object({ heartbeat_ms: z.number(), missed_pongs: z.number(), max_per_user: z.number(), max_total: z.number() }).nullable(),
  }),
  /** this report covers shard index/count of the users; merged reports list every shard */
  shards: z.array(z.object({ index: z.number().int(), count: z.number().int(), usernamePrefix: z.string() })),
  startedAt: z.string(),
  endedAt: z.string(),
  durationMs: z.number(),
  status: z.enum(['completed', 'incomplete']),
  /** why the run could not complete (target unreachable, server died, aborted) */
  abortReason: z.string().nullable(),
  generator: z.object({
    reliable: z.boolean(),
    /** why not reliable, e.g. event-loop delay p99 312 ms > 200 ms */
    unreliableReason: z.string().nullable(),
    eventLoopDelayP99Ms: z.number(),
    eventLoopDelayMaxMs: z.number(),
    cpuUserMs: z.number(),
    cpuSystemMs: z.number(),
    peakRssBytes: z.number(),
    processes: z.number().int(),
  }),
  histograms: z.record(z.string(), HistogramSchema),
  counters: z.record(z.string(), z.number()),
  /** derived from counters: deliveryRatio, errorRate, messagesPerSec, deliveriesPerSec, ... */
  rates: z.record(z.string(), z.number()),
  timeline: z.array(TimelineSampleSchema),
  ledger: z.object({
    /** distinct accounts the run used */
    users: z.number().int(),
    /** their logins (a soak logs each user in once a cycle); absent in reports before 1.x */
    logins: z.number().int().optional(),
    connectionsCreated: z.number().int(),
    connectionsDestroyed: z.number().int(),
    reconnectAttempts: z.number().int(),
    refusals: z.number().int(),
    peersCreated: z.number().int(),
    peersClosed: z.number().int(),
    openSocketsAtEnd: z.number().int(),
    openPeersAtEnd: z.number().int(),
    byKind: z.record(z.string(), z.object({ opened: z.number().int(), closed: z.number().int() })),
    lastErrors: z.array(z.object({ user: z.number().int(), error: z.string() })),
  }),
  voice: z
    .object({
      rooms: z.array(VoiceRoomSchema),
      totals: VoiceRoomSchema.omit({ roomId: true }),
    })
    .nullable(),
  checkpoints: z.array(CheckpointSchema),
  findings: z.array(FindingSchema),
  gates: z.array(GateSchema),
  errors: z.array(z.object({ kind: z.string(), message: z.string(), count: z.number().int() })),
  /** how the report was produced when that matters to a reader (merges: what was summed, what was not) */
  notes: z.array(z.string()).optional(),
  verdict: z.object({
    exitCode: z.number().int(),
    passed: z.boolean(),
    leaks: z.number().int(),
    failedGates: z.number().int(),
  }),
});

export type Report = z.infer<typeof ReportSchema>;
export type ReportHistogram = z.infer<typeof HistogramSchema>;
export type TimelineSample = z.infer<typeof TimelineSampleSchema>;
export type Checkpoint = z.infer<typeof CheckpointSchema>;
export type Gate = z.infer<typeof GateSchema>;
export type VoiceRoom = z.infer<typeof VoiceRoomSchema>;
