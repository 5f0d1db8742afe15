import type { UserLedger, SocketRecord } from '../client/ledger.js';
import type { Checkpoint, Finding, FindingClass } from '../report/schema.js';
import type { EncodedHistogram } from '../metrics/latency-histogram.js';
import type { SocketKind, StatsConfig } from '../protocol/messages.js';

/**
 * The contract between the runner and the leak detector (src/leak). The runner owns the
 * simulated users; the detector owns the server view and the findings.
 */
export interface LeakUserView {
  ledger: UserLedger;
  /** extra per-user state the voice client exposes (peers by remote user, open sinks...) */
  voice?: { roomId: number | null; remoteUserIds: number[] } | null;
  /** the user's bearer token: lets the detector read the voice members route as that user */
  token?: string;
  /** sockets the scenario means this user to hold now, by kind (a socket-growth check beyond them) */
  expectedOpen?: Partial<Record<SocketKind, number>>;
  /** open sockets that stopped receiving what their channel was sent (a phantom-socket) */
  silentSockets?: Array<{ socket: string; expected: number; received: number }>;
  /** the user's joined voice sessions with media, read live: the mesh check's data */
  mesh?: () => MeshView[];
}

export interface MeshView {
  socket: string;
  room: number;
  joinedAt: number;
  peers: Array<{ remoteUserId: number; state: string }>;
}

/** What a checkpoint is told besides the users: which one it is, and the run's world as it stands. */
export interface CheckpointData {
  final?: boolean;
  cycle?: number;
  /** poll the server this long at most (a crash's reap window) instead of the settle the detector was given */
  settleMs?: number;
  /** the world's servers and a token that may read their members: presence (`is_online`) is checked with them */
  world?: { serverIds: number[]; token: string | null };
}

export interface LeakDetector {
  /** Reads the baseline before any simulated user connects (v1 diffs are against it). */
  start(): Promise<void>;
  /**
   * Called for every client-side close, to measure close → deregister. Pass the user's
   * ledger when you have it: the detector needs the user's other open sockets to tell
   * when the server has forgotten this one.
   */
  onSocketClosed(userIndex: number, userId: number, rec: SocketRecord, ledger?: UserLedger): void;
  /** Settles (polls until stable or `settleMs`), diffs, and records findings. */
  checkpoint(name: string, users: LeakUserView[], opts?: CheckpointData): Promise<Checkpoint>;
  /** The server's config as the detector knows it (from [ext] stats or options). */
  serverConfig(): StatsConfig | null;
  /**
   * How long the server may take to drop a socket that went silent (a crash, a freeze):
   * heartbeat × (missed pongs + 1) with slack, from its [ext] config, the bundled server's
   * options, or the --expect-reap-ms the user gave; null when nothing says.
   */
  reapWindowMs(): number | null;
  findings(): Finding[];
  checkpoints(): Checkpoint[];
  /** every check by finding class: judged, skipped (with why) or not applicable */
  checks(): NonNullable<import('../report/schema.js').Report['checks']>;
  /** close_to_deregister and any other histograms the detector measured */
  histograms(): Record<string, EncodedHistogram>;
  close(): Promise<void>;
}

/** A finding as a check produces it, before the book gives it an id, a first-seen time and evidence. */
export interface FindingDraft {
  class: FindingClass;
  message: string;
  subject: Finding['subject'];
  expected: unknown;
  observed: unknown;
  /** clock.now() when the leak began (the close, the freeze), for its age */
  since?: number;
  details?: Record<string, unknown>;
  /** whose trace is the evidence, when the subject names no user or socket */
  evidenceOf?: { user: number; socket?: string; peer?: string };
}

/** What a reconciler says about one server reading. */
export interface Reconciliation {
  drafts: FindingDraft[];
  /** something may still change (a frozen socket not yet due): keep settling */
  pending: boolean;
  /** checks the reading could not decide (another client moved the totals): neither passed nor a finding */
  inconclusive?: Array<{ class: string; why: string }>;
  notes: string[];
}
