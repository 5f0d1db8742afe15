import { z } from 'zod';
import { FAULT_NAMES } from '../server/faults.js';

/**
 * The scenario file format. Scenarios are JSON; durations are milliseconds or strings
 * such as "500ms", "30s", "2m". Phases run in order. Every random choice of a run comes
 * from `seed`, so the same seed gives the same schedule.
 */

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses 250, "250ms", "30s", "2m", "1h" into milliseconds; null when malformed. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = DURATION_RE.exec(v.trim());
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2]!]!) : null;
}

export const Duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500, "500ms", "30s" or "2m"' });
    return z.NEVER;
  }
  return ms;
});

const PositiveInt = z.number({ error: 'expected a positive integer' }).int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' });
const NonNegInt = z.number({ error: 'expected a non-negative integer' }).int({ error: 'expected a non-negative integer' }).nonnegative({ error: 'expected a non-negative integer' });
const Ratio = z.number().min(0).max(1);
const Range = z.object({ min: Duration, max: Duration }).strict();

/** How a user moves between text channels. */
export const SwitchStrategy = z.enum([
  'reconnect', // close the chat socket, open a new one (the later Miscord front end)
  'in-band', // [ext] {type: switch_channel} on the same socket; falls back to reconnect without it
  'leaky', // Miscord's old bug: open the new socket without closing the old one
]);

const base = {
  /** Shown in progress and the report; defaults to `<type>#<index>`. */
  name: z.string().min(1).optional(),
};

/** Bring `users` online over `rampUp` (closed model): register/login, notifications, chat. */
export const ConnectPhase = z
  .object({
    ...base,
    type: z.literal('connect'),
    users: PositiveInt.optional(), // default: scenario.users
    rampUp: Duration.default(0),
    notifications: z.boolean().default(true),
    chat: z.boolean().default(true),
  })
  .strict();

/** Everyone online sends messages (with typing and pings) for `duration`. */
export const ChatPhase = z
  .object({
    ...base,
    type: z.literal('chat'),
    duration: Duration.optional(), // default: scenario.duration
    messagesPerUserPerSec: z.number().positive().default(0.5),
    /** share of messages preceded by a typing event */
    typingRatio: Ratio.default(0.2),
    /** app-level ping on notifications and protocol ping frame on chat, per user */
    pingEvery: Duration.default(5000),
  })
  .strict();

/** Each online user switches text channels `switches` times. */
export const SwitchPhase = z
  .object({
    ...base,
    type: z.literal('switch'),
    strategy: SwitchStrategy.default('reconnect'),
    switches: PositiveInt.default(10),
    interval: Duration.default(200),
    /** messages sent in each channel after switching (proves the new subscription delivers) */
    messagesPerSwitch: NonNegInt.default(1),
    /** only the first N online users switch (default all) */
    users: PositiveInt.optional(),
  })
  .strict();

/** Open model: users arrive at a rate, stay a random while (chatting), then leave. */
export const ChurnPhase = z
  .object({
    ...base,
    type: z.literal('churn'),
    arrivalsPerSec: z.number().positive(),
    duration: Duration.optional(),
    stay: Range.default({ min: 1000, max: 5000 }),
    messagesPerUserPerSec: z.number().nonnegative().default(0.5),
    /** leave by closing sockets (clean) or by a leaky reconnect pattern first */
    strategy: SwitchStrategy.default('reconnect'),
    /** cap on users created by this phase (default: unbounded within duration) */
    maxUsers: PositiveInt.optional(),
  })
  .strict();

/** Some users open a second session (notifications + chat), hold, then close one of the two. */
export const MultiTabPhase = z
  .object({
    ...base,
    type: z.literal('multi-tab'),
    users: PositiveInt.optional(), // default: all online users
    hold: Duration.default(1000),
    close: z.enum(['first', 'second']).default('first'),
    messagesWhileHolding: NonNegInt.default(1),
  })
  .strict();

export const VoiceAction = z
  .object({
    /** time since the room's last member joined */
    at: Duration,
    action: z.enum([
      'mute',
      'unmute',
      'deafen',
      'undeafen',
      'speaking-on',
      'speaking-off',
      'screen-share-start',
      'screen-share-stop',
      'leave-rejoin',
      'second-tab', // the same user joins the same room from a second voice socket
      'leave',
      'crash', // the member's voice socket is destroyed with no close frame (a killed tab)
    ]),
    /** member index within the room (0 = first to join) */
    member: NonNegInt.default(0),
  })
  .strict();

/** Users join voice rooms, negotiate a real WebRTC mesh, hold (with actions), then leave. */
export const VoicePhase = z
  .object({
    ...base,
    type: z.literal('voice'),
    rooms: PositiveInt.default(1),
    usersPerRoom: PositiveInt.default(3),
    stagger: Duration.default(200),
    hold: Duration.default(5000),
    /** tone: every member sends its tone all the time; talk-spurt: one speaker at a time per room; muted: no audio sent */
    audio: z.enum(['tone', 'talk-spurt', 'muted']).default('tone'),
    actions: z.array(VoiceAction).default([]),
    /** leave the rooms at the end of the phase (false keeps them for a later phase) */
    leave: z.boolean().default(true),
    /** negotiations in flight at once per process (wrtc gathers badly beyond ~5) */
    negotiationConcurrency: PositiveInt.default(5),
    /**
     * Opus packet duration (ms), written as a=ptime into every offer and answer. 20 is what
     * browsers send; 60 sends a third of the packets, so one generator carries more peers.
     */
    ptime: z.union([z.literal(10), z.literal(20), z.literal(40), z.literal(60)], { error: 'expected 10, 20, 40 or 60 (ms)' }).default(20),
  })
  .strict();

/** Some users freeze: stop answering pings and send nothing, without closing. The server must reap them. */
export const FreezePhase = z
  .object({
    ...base,
    type: z.literal('freeze'),
    users: PositiveInt.default(1),
    kinds: z.array(z.enum(['chat', 'notifications', 'voice'])).default(['chat', 'notifications']),
    /** how long to wait for the reap; default: the server's heartbeat × (missed pongs + 1) + settle */
    wait: Duration.optional(),
  })
  .strict();

/** Some users crash: their sockets of these kinds are destroyed with no close frame (a killed browser). The server must forget them within its reap window. */
export const CrashPhase = z
  .object({
    ...base,
    type: z.literal('crash'),
    users: PositiveInt.default(1),
    kinds: z.array(z.enum(['chat', 'notifications', 'voice'])).min(1).default(['chat', 'notifications', 'voice']),
    /** how long the server gets to forget them; default: its reap window (heartbeat × (missed pongs + 1)) + settle */
    wait: Duration.optional(),
  })
  .strict();

export const IdlePhase = z.object({ ...base, type: z.literal('idle'), duration: Duration }).strict();

/** Everyone online leaves (closes every socket) over `rampDown`. */
export const DisconnectPhase = z.object({ ...base, type: z.literal('disconnect'), rampDown: Duration.default(0) }).strict();

/**
 * A scripted step (`.mjs` scenarios only): `run(ctx)` gets the run's users and helpers
 * (src/runner/script-context.ts documents the context). JSON cannot hold a function, so a
 * JSON scenario with a custom phase is refused at `run`.
 */
/** typed loosely here (the scenario does not import the runner); the runner calls it with a ScriptContext */
export type CustomPhaseRun = (ctx: never) => unknown;
export const CustomPhase = z
  .object({
    ...base,
    type: z.literal('custom'),
    run: z.custom<CustomPhaseRun>((v) => typeof v === 'function', { message: 'expected a function: run: async (ctx) => { ... } (custom phases need a .mjs scenario)' }),
    /** the phase fails (the run ends, exit 3) when run() has not settled by then (default: no limit) */
    timeout: Duration.optional(),
  })
  .strict();

/**
 * Verifies each limit the target promises, exactly: the per-user limit whatever the kinds, the
 * total when it is small enough to reach, a voice room's capacity in distinct users, and that
 * refused attempts leave nothing behind. A limit not given here comes from the target's [ext]
 * config, else from `--expect-*`; one known from nowhere is skipped, and the report says so.
 */
export const LimitsPhase = z
  .object({
    ...base,
    type: z.literal('limits'),
    perUser: z.boolean().default(true),
    total: z.boolean().default(true),
    room: z.boolean().default(true),
    maxPerUser: PositiveInt.optional(),
    maxTotal: PositiveInt.optional(),
    /** the total is checked only when it is at most this many sockets (else skipped, with a note) */
    totalBound: PositiveInt.default(200),
    /** likewise for the per-user limit and the room's max_users */
    perUserBound: PositiveInt.default(50),
    roomBound: PositiveInt.default(50),
    /** how long one attempt may take before it counts as timed out */
    attemptTimeout: Duration.default(60_000),
  })
  .strict();

/**
 * Finds the knee: opens sockets of one kind in steps up to `max`, holds each step, and measures
 * the connect time of the new sockets, refusals, the ping round trip on the sockets already open
 * and a REST canary; then closes everything and checks that the server recovered.
 */
export const RampPhase = z
  .object({
    ...base,
    type: z.literal('ramp'),
    kind: z.enum(['notifications', 'chat', 'voice']).default('notifications'),
    step: PositiveInt.default(10),
    max: PositiveInt.default(200),
    hold: Duration.default(2000),
    /** sockets each user holds (default: 1); keep it within the per-user limit */
    socketsPerUser: PositiveInt.optional(),
    /** REST canary: an authenticated GET this often during every step */
    canaryEvery: Duration.default(250),
    /** a new socket slower than this (or a canary call) counts as stalled */
    stallAfter: Duration.default(5000),
    /** the canary's p50 at a step above this many times that of the first steps is a jump */
    latencyJump: z.number().positive().default(5),
    /** how long one connect may take before it counts as timed out */
    attemptTimeout: Duration.default(60_000),
    /** after closing, how long the canary has to come back */
    recoverWithin: Duration.default(15_000),
    /** stop the ramp at the first knee (else go on to `max`) */
    stopAtKnee: z.boolean().default(true),
  })
  .strict();

const SimplePhase = z.discriminatedUnion('type', [
  CustomPhase,
  ConnectPhase,
  ChatPhase,
  SwitchPhase,
  ChurnPhase,
  MultiTabPhase,
  VoicePhase,
  FreezePhase,
  CrashPhase,
  IdlePhase,
  DisconnectPhase,
  LimitsPhase,
  RampPhase,
]);

/** Repeats `cycle` until `duration` runs out, with a checkpoint after every cycle (resource trend). */
export const SoakPhase = z
  .object({
    ...base,
    type: z.literal('soak'),
    duration: Duration.optional(),
    cycle: z.array(SimplePhase).min(1),
    /** minimum cycles even if duration runs out first */
    minCycles: PositiveInt.default(3),
  })
  .strict();

export const Phase = z.discriminatedUnion('type', [...SimplePhase.options, SoakPhase]);

export const ScenarioSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1),
    description: z.string().min(1),
    seed: z.number().int().default(1),
    /** closed-model user count (`--users` overrides) */
    users: PositiveInt.default(10),
    /** default duration for chat, churn and soak phases without their own (`--duration` overrides) */
    duration: Duration.default(10_000),
    /** the world the owner sets up before the run (skipped with --users-file when it exists) */
    setup: z
      .object({
        servers: PositiveInt.default(1),
        textChannels: PositiveInt.default(3),
        voiceChannels: NonNegInt.default(1),
        maxVoiceUsers: PositiveInt.default(10),
      })
      .strict()
      .default({ servers: 1, textChannels: 3, voiceChannels: 1, maxVoiceUsers: 10 }),
    /** options for the bundled reference server when the run starts it (ignored with --target) */
    bundledServer: z
      .object({
        heartbeatMs: PositiveInt.optional(),
        missedPongs: PositiveInt.optional(),
        maxPerUser: PositiveInt.optional(),
        maxTotal: PositiveInt.optional(),
        faults: z.array(z.enum(FAULT_NAMES as [string, ...string[]], { error: () => `expected a fault name: ${FAULT_NAMES.join(', ')}` })).optional(),
        /** the fault options of `serve` (each needs its fault): lag, dropped event, pool size and stall */
        faultDelayMs: NonNegInt.optional(),
        faultEvent: z.string().min(1).optional(),
        faultPoolSize: PositiveInt.optional(),
        faultPoolStallMs: NonNegInt.optional(),
      })
      .strict()
      .default({}),
    /** connection attempts in flight at once (p-limit) */
    connectConcurrency: PositiveInt.default(50),
    /** every open chat socket sends `{type:"heartbeat"}` this often, as Miscord's front end does (0: never) */
    heartbeat: Duration.default(30_000),
    /** the REST canary: an authenticated GET this often for the whole run (every hold of every phase), histogram `canary.http` (0: off) */
    canary: Duration.default(1000),
    /** how long a checkpoint polls the server for stable counts */
    settle: Duration.default(2000),
    /** how long the server may take to announce what the protocol says it announces (a join, a mute, a leave, a relayed offer) */
    announceDeadline: Duration.default(2000),
    /** gates: "chat.deliver.p99<250ms", "rates.deliveryRatio>=1", "findings.total==0", ... */
    thresholds: z.array(z.string()).default([]),
    /**
     * thresholds that end the run as soon as they have failed on the live figures (exit 4,
     * partial report): true for every threshold, or the expressions of some (each must be
     * in `thresholds`). `--abort-on-fail` is `true` from the command line.
     */
    abortOnFail: z.union([z.boolean(), z.array(z.string())]).default(false),
    /** leak checks that may be skipped on purpose (e.g. a scenario that leaks by design) */
    expectFindings: z.array(z.string()).default([]),
    phases: z.array(Phase).min(1),
  })
  .strict();

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type PhaseConfig = z.infer<typeof Phase>;
export type SimplePhaseConfig = z.infer<typeof SimplePhase>;
export type VoicePhaseConfig = z.infer<typeof VoicePhase>;
export type CustomPhaseConfig = z.infer<typeof CustomPhase>;
export type LimitsPhaseConfig = z.infer<typeof LimitsPhase>;
export type RampPhaseConfig = z.infer<typeof RampPhase>;
export type VoiceActionConfig = z.infer<typeof VoiceAction>;
