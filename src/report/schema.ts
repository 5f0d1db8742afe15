import { z } from 'zod';

/**
 * The JSON report of a run: the contract between `run`, `compare`, `merge`, `gate` and
 * `report`. schema/report.schema.json is generated from this file (z.toJSONSchema).
 * Bump SCHEMA_VERSION on any incompatible change; compare and merge refuse mismatches.
 * Optional fields added since (runId, merge, verdict.unjudgedGates, timeline serverT) keep
 * version 1: a report without them reads as before.
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
  /**
   * ms since the run started when `server` (and the server* figures) were read. Absent: the
   * sampler's read starts right after the previous sample and lands in this one, so the
   * figures belong to the previous sample's time (renderers align them so).
   */
  serverT: z.number().optional(),
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
  'missed-event',
  'spurious-event',
  'phantom-voice-member',
  'duplicate-member',
  'incomplete-mesh',
  'stale-presence',
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
  /** one line saying why it failed (or what held); `observed: null` means the gate could not be judged */
  reason: z.string(),
});

export const MergeKindSchema = z.enum(['shards', 'repeats']);

/** What a merged report is made of: shards of one run, or repeated runs. */
export const MergeInfoSchema = z.object({
  /** shards: durations are the run's wall time; repeats: the sum of each run's own duration */
  kind: MergeKindSchema,
  /** every run merged in (nested merges included); reports without a runId add none */
  runIds: z.array(z.string()),
  parts: z.array(
    z.object({
      /** how findings and checkpoints of this part are qualified, e.g. s1 (s1/F3) or r2 */
      tag: z.string(),
      runId: z.string().nullable(),
      /** the runs this part holds: its own id, or every run of a part that is itself a merge */
      runIds: z.array(z.string()),
      startedAt: z.string(),
      durationMs: z.number(),
    }),
  ),
});

/** The gate that ended a run early (--abort-on-fail, or the scenario's abortOnFail). */
export const GateAbortSchema = z.object({
  /** the threshold as written */
  gate: z.string(),
  source: z.enum(['scenario', 'cli', 'default']),
  /** ms since the run started */
  atMs: z.number(),
  observed: z.number(),
  threshold: z.number(),
  /** what was seen and over which window, e.g. chat.deliver.p99 = 412 ms, over 250 ms over the last 10 s (812 values) */
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

/**
 * A shard's records for counting the chat deliveries that cross shards (see
 * src/client/shard-traffic.ts): tables of numbers, deflated and base64-encoded. `merge`
 * joins them and keeps none in its result.
 */
export const ShardTrafficSchema = z.object({
  shard: z.object({ index: z.number().int(), count: z.number().int() }),
  keyPrefix: z.string(),
  timeoutMs: z.number(),
  /** bounds of (target clock − this shard's clock) in ms, from its own messages' round trips; null: no sample */
  clock: z.object({ lowMs: z.number().nullable(), highMs: z.number().nullable(), samples: z.number().int() }),
  /** rows: message number, server id, text channel id, send time */
  sent: z.string(),
  /** rows: socket, server id, text channel id (-1: all), from, to */
  subs: z.string(),
  /** rows: socket, time the client closed or switched it */
  excuses: z.string(),
  /** rows: socket, message number, receipt time − carried send time (ms) */
  receipts: z.string(),
  dropped: z.number().int(),
});

export const ReportSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.literal('miscord-bench'), version: z.string() }),
  /** unique per run (and written in its trace's first line); absent in reports written before it */
  runId: z.string().optional(),
  /** present on merged reports only */
  merge: MergeInfoSchema.optional(),
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
  /** set when a threshold ended the run early: the run is incomplete and its verdict is 4 (5 with a leak) */
  abortedBy: GateAbortSchema.optional(),
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
  /**
   * Each leak check of the run: `judged` (it ran, on this many subjects or readings), `inconclusive`
   * (it ran and could not decide: another client on a shared deployment moved the totals),
   * `skipped` (it was wanted and could not run: the reason says why) or `not-applicable`
   * (nothing of its kind happened). A finding-free run passes only on what was judged.
   */
  checks: z.record(z.string(), z.object({ status: z.enum(['judged', 'skipped', 'inconclusive', 'not-applicable']), judged: z.number().int(), reason: z.string().optional() })).optional(),
  gates: z.array(GateSchema),
  errors: z.array(z.object({ kind: z.string(), message: z.string(), count: z.number().int() })),
  /** how the report was produced when that matters to a reader (merges: what was summed, what was not) */
  notes: z.array(z.string()).optional(),
  /** a shard of a split run: its records for the merge to count deliveries across shards */
  traffic: ShardTrafficSchema.optional(),
  verdict: z.object({
    exitCode: z.number().int(),
    passed: z.boolean(),
    leaks: z.number().int(),
    failedGates: z.number().int(),
    /** gates that could not be judged (nothing measured, no checkpoint read the server): not counted as failed */
    unjudgedGates: z.number().int().optional(),
  }),
});

export type Report = z.infer<typeof ReportSchema>;
export type ReportHistogram = z.infer<typeof HistogramSchema>;
export type TimelineSample = z.infer<typeof TimelineSampleSchema>;
export type Checkpoint = z.infer<typeof CheckpointSchema>;
export type Gate = z.infer<typeof GateSchema>;
export type GateAbort = z.infer<typeof GateAbortSchema>;
export type VoiceRoom = z.infer<typeof VoiceRoomSchema>;
export type ShardTrafficReport = z.infer<typeof ShardTrafficSchema>;
export type MergeInfo = z.infer<typeof MergeInfoSchema>;
export type MergeKind = z.infer<typeof MergeKindSchema>;
