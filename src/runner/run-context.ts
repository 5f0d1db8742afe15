import type { LimitFunction } from 'p-limit';
import type { Scenario, PhaseConfig } from '../scenario/schema.js';
import type { ClientEnv, UserIdentity } from '../client/client-env.js';
import type { SimulatedUser } from '../client/simulated-user.js';
import type { DeliveryTracker } from '../client/delivery-tracker.js';
import type { Capabilities } from '../client/capabilities.js';
import type { Metrics } from '../metrics/metrics.js';
import type { LeakDetector } from '../leak/types.js';
import type { Logger } from '../log.js';
import type { VoiceRoom } from '../report/schema.js';
import type { Rng } from './rng.js';

/**
 * What a phase handler receives: the contract between the runner and every phase
 * (src/runner/phases.ts here, src/runner/voice-phase.ts from the voice engineer).
 * The runner owns the users and their lifecycle; a handler drives them and records
 * into `metrics`. Handlers never print and never exit: they throw MbError.
 */

/** One Miscord server of the run's world, set up by this run's (or shard's) owner user. */
export interface WorldServer {
  id: number;
  name: string;
  /** text channels in position order; [0] is the `general` the server creates */
  textChannelIds: number[];
  voiceChannelIds: number[];
}

export interface World {
  /** the user that created the servers (HTTP only, never opens a socket); null with --users-file */
  owner: UserIdentity | null;
  servers: WorldServer[];
  /** every user is a member of every server already (a world from `provision`): no joins */
  joined?: boolean;
}

export interface RunTarget {
  httpUrl: string;
  wsUrl: string;
  /** the stats route answered with the [ext] fields */
  extStats: boolean;
  /** the runner started the reference server for this run */
  bundled: boolean;
}

export interface ShardInfo {
  index: number;
  count: number;
  /** every username of this run/shard starts with it (the v1 leak diff filters by it) */
  usernamePrefix: string;
}

/** The voice section of the report, filled by the voice phase (null when no voice ran). */
export interface VoiceSummary {
  rooms: VoiceRoom[];
  totals: Omit<VoiceRoom, 'roomId'>;
}

/** `settleMs`: poll the server this long at most (a crash's reap window) instead of the scenario's settle */
export interface CheckpointOptions {
  final?: boolean;
  cycle?: number;
  settleMs?: number;
}

export interface RunContext {
  readonly scenario: Scenario;
  readonly seed: number;
  /** the run's root stream; use `rng.fork(label)` for anything per user or per phase */
  readonly rng: Rng;
  readonly target: RunTarget;
  readonly env: ClientEnv;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly world: World;
  readonly shard: ShardInfo;
  /** bounds concurrent connection attempts (register/login/socket opens) */
  readonly connectLimit: LimitFunction;
  /** aborted when the run stops (Ctrl-C, server died, fatal error) */
  readonly signal: AbortSignal;
  /** null with --no-leak-check */
  readonly leak: LeakDetector | null;
  /** delivery accounting of every chat message of this process */
  readonly deliveries: DeliveryTracker;
  /** what the target turned out to support (shared by every user) */
  readonly caps: Capabilities;
  /** name of the phase running now (`<type>#<index>` unless the scenario names it) */
  phase: string;
  /** the voice phase stores its room summary here for the report */
  voice: VoiceSummary | null;

  /** users online now (logged in, not left), in index order */
  onlineUsers(): SimulatedUser[];
  /** every user this process created, online or gone */
  allUsers(): SimulatedUser[];
  /**
   * The user with this global index, created and logged in on first use (and joined to the
   * world's servers). Indices belong to shards: a shard only creates its own (see `ownsIndex`).
   */
  getUser(index: number, intendedAt?: number): Promise<SimulatedUser>;
  /**
   * Reserves `count` fresh global user indices (open-model arrivals) and returns the first.
   * The same on every shard (it only depends on the scenario), and a multiple of the shard
   * count, so arrival k belongs to the shard that owns index base + k.
   */
  reserveIndices(count: number): number;
  /**
   * The run's first (or last) `n` users among `candidates` (this shard's users in index order)
   * by global position, null where another shard holds the pick: the same users whatever the
   * split (see RunState). `sliceOfRun` is this shard's part of it.
   */
  pickOfRun(candidates: SimulatedUser[], n: number, end?: 'first' | 'last'): Array<SimulatedUser | null>;
  sliceOfRun(candidates: SimulatedUser[], n: number, end?: 'first' | 'last'): SimulatedUser[];
  /** true when this shard drives the user with this global index */
  ownsIndex(index: number): boolean;
  /** closes every socket of the user and forgets it (it is no longer online) */
  userLeaves(user: SimulatedUser): Promise<void>;
  /** a leak checkpoint (no-op without a detector); the runner also calls it after each phase */
  checkpoint(name: string, opts?: CheckpointOptions): Promise<void>;
}

export type PhaseHandler<P extends PhaseConfig = PhaseConfig> = (ctx: RunContext, phase: P) => Promise<void>;

/** `type → handler`; the runner dispatches every phase through it. */
export type PhaseRegistry = { [T in PhaseConfig['type']]: PhaseHandler<Extract<PhaseConfig, { type: T }>> };
