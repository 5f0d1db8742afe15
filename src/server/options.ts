import { randomBytes } from 'node:crypto';
import { MbError } from '../errors.js';
import { LOG_LEVELS, createLogger, type Logger, type LogLevel } from '../log.js';
import type { IceServer } from '../protocol/messages.js';
import type { SocketKind } from '../protocol/messages.js';
import { FAULT_NAMES, ANNOUNCED_EVENTS, isFaultName, isAnnouncedEvent, type FaultName, type AnnouncedEvent } from './faults.js';
import { COMPAT_MODES, isCompatMode, isSocketKind, type CompatMode } from './compat.js';

/** Options of the reference server. Defaults are merged first, then contradictions refused. */
export interface ReferenceServerOptions {
  /** interface to bind; default 127.0.0.1 */
  host?: string;
  /** 0 = any free port; default 0 for the library (the CLI defaults to 8080) */
  port?: number;
  /** protocol ping frame every heartbeatMs on every socket; default 30000 */
  heartbeatMs?: number;
  /** a socket that misses this many pongs in a row is terminated (reaped); default 2 */
  missedPongs?: number;
  /** sockets per user, all kinds together (4008 beyond); default 3 */
  maxPerUser?: number;
  /** sockets in all (1013 beyond); default 1000 */
  maxTotal?: number;
  /** fault names from FAULTS, each off unless listed */
  faults?: string[];
  /**
   * lag of the slow-deregister fault, and the rejoin window of the spurious-leave fault; only
   * meaningful with one of those; default 1500
   */
  faultDelayMs?: number;
  /** the event the drop-announcement fault never announces (a voice event, typing, voice_channel_join/leave); only with that fault; default user_muted */
  faultEvent?: string;
  /** pooled connections of the pooled-resource fault; only with that fault; default 15 */
  faultPoolSize?: number;
  /** how long the pooled-resource fault waits for a free connection before failing; only with that fault; default 30000 */
  faultPoolStallMs?: number;
  logLevel?: LogLevel;
  /** a logger to use instead of one built from logLevel (tests) */
  logger?: Logger;
  /** HS256 secret; random per start unless given */
  jwtSecret?: string;
  /** lifetime of issued tokens; default 24 h (soak runs outlive Miscord's 30 min) */
  tokenTtlSec?: number;
  /** WebSocket frame cap (close 1009 beyond); default 128 KiB, far above any SDP */
  maxPayloadBytes?: number;
  /** HTTP body cap (413 beyond); default 1 MiB */
  maxBodyBytes?: number;
  /** a request whose headers are not complete by then gets 408; default 10000 */
  headersTimeoutMs?: number;
  /** a request not fully received by then gets 408; default 30000 */
  requestTimeoutMs?: number;
  /** ice_servers sent in `participants`; default [] (loopback needs none) */
  iceServers?: IceServer[];
  /** chat delivery shape: v1 `message` or the later `new_message`; default 'message' ('new_message' with compat v1) */
  messageFormat?: 'message' | 'new_message';
  /** look like a plain Miscord without [ext] (see compat.ts); default none */
  compat?: CompatMode | null;
  /** endpoints that answer 403 to every upgrade (a deployment lacking them); default none */
  refuse?: SocketKind[];
  /** scrypt cost N; default 2^14 would make hundreds of simulated sign-ups CPU-bound, so 2^12 */
  scryptCost?: number;
  /**
   * bytes a socket may have queued for sending (ws bufferedAmount: what the kernel has not
   * taken yet); a socket over it is a slow consumer, closed with 1008 and counted in
   * `slow_consumers_dropped`; default 1 MiB
   */
  maxSendQueueBytes?: number;
  /**
   * how long the server waits for a peer to finish a close it started: the answer to its close
   * frame, or the FIN after a raw HTTP answer (404, 403, 408, 503); then the socket is destroyed;
   * default 2000
   */
  closeTimeoutMs?: number;
  /** registered users in all (register answers 400 beyond); default 100000 */
  maxUsers?: number;
  /** servers in all (create answers 403 beyond); default 10000 */
  maxServers?: number;
  /** servers one user belongs to, owned and joined (create 403, join 400 beyond); default 100 */
  maxServersPerUser?: number;
  /** text and voice channels of one server, the two created with it included (403 beyond); default 100 */
  maxChannelsPerServer?: number;
  /** members of one server, its owner included (join answers 400 beyond); default 100000 */
  maxMembersPerServer?: number;
  /** message history kept in all, in estimated bytes (2 per UTF-16 unit + 96 per message); the oldest go first; default 16 MiB */
  maxHistoryBytes?: number;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  heartbeatMs: number;
  missedPongs: number;
  maxPerUser: number;
  maxTotal: number;
  faults: Set<FaultName>;
  faultDelayMs: number;
  faultEvent: AnnouncedEvent;
  faultPoolSize: number;
  faultPoolStallMs: number;
  log: Logger;
  jwtSecret: Uint8Array;
  tokenTtlSec: number;
  maxPayloadBytes: number;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  iceServers: IceServer[];
  messageFormat: 'message' | 'new_message';
  compat: CompatMode | null;
  refuse: Set<SocketKind>;
  scryptCost: number;
  maxSendQueueBytes: number;
  closeTimeoutMs: number;
  maxUsers: number;
  maxServers: number;
  maxServersPerUser: number;
  maxChannelsPerServer: number;
  maxMembersPerServer: number;
  maxHistoryBytes: number;
}

/**
 * Defaults and integer bounds of the options `miscord-bench serve` exposes as flags; the CLI
 * reads this table for its defaults and argument checks. (The CLI's port default is 8080.)
 */
export const SERVE_OPTIONS = {
  host: { default: '127.0.0.1' },
  port: { default: 0, min: 0, max: 65535 },
  heartbeatMs: { default: 30_000, min: 10 },
  missedPongs: { default: 2, min: 1, max: 1000 },
  maxPerUser: { default: 3, min: 1 },
  maxTotal: { default: 1000, min: 1 },
  faultDelayMs: { default: 1500, min: 0, max: 3_600_000 },
  faultPoolSize: { default: 15, min: 1, max: 100_000 },
  faultPoolStallMs: { default: 30_000, min: 0, max: 3_600_000 },
  maxSendQueueBytes: { default: 1024 * 1024, min: 1024 },
  closeTimeoutMs: { default: 2000, min: 10, max: 60_000 },
  maxUsers: { default: 100_000, min: 1 },
  maxServers: { default: 10_000, min: 1 },
  maxServersPerUser: { default: 100, min: 1 },
  maxChannelsPerServer: { default: 100, min: 2 },
  maxMembersPerServer: { default: 100_000, min: 1 },
  maxHistoryBytes: { default: 16 * 1024 * 1024, min: 0 },
} as const satisfies { host: { default: string } } & Record<string, { default: unknown; min?: number; max?: number }>;

type IntOption = Exclude<keyof typeof SERVE_OPTIONS, 'host'>;

function usage(msg: string): MbError {
  return new MbError('MB_ERR_USAGE', msg);
}

function int(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw usage(`${name} must be an integer between ${min} and ${max}, got ${String(v)}`);
  }
  return v;
}

function intOption(name: IntOption, v: number | undefined): number {
  const t: { default: number; min: number; max?: number } = SERVE_OPTIONS[name];
  return int(name, v ?? t.default, t.min, t.max);
}

export function resolveOptions(o: ReferenceServerOptions = {}): ResolvedOptions {
  const faults = new Set<FaultName>();
  for (const f of o.faults ?? []) {
    if (!isFaultName(f)) throw usage(`unknown fault "${f}" (known: ${FAULT_NAMES.join(', ')})`);
    faults.add(f);
  }
  if (o.faultDelayMs !== undefined && !faults.has('slow-deregister') && !faults.has('spurious-leave')) {
    throw usage('faultDelayMs only applies to the slow-deregister and spurious-leave faults, neither of which is enabled');
  }
  if (o.faultEvent !== undefined) {
    if (!faults.has('drop-announcement')) throw usage('faultEvent only applies to the drop-announcement fault, which is not enabled');
    if (!isAnnouncedEvent(o.faultEvent)) throw usage(`unknown announced event "${o.faultEvent}" for faultEvent (known: ${ANNOUNCED_EVENTS.join(', ')})`);
  }
  for (const k of ['faultPoolSize', 'faultPoolStallMs'] as const) {
    if (o[k] !== undefined && !faults.has('pooled-resource')) throw usage(`${k} only applies to the pooled-resource fault, which is not enabled`);
  }
  if (o.logLevel !== undefined && !LOG_LEVELS.includes(o.logLevel)) {
    throw usage(`unknown log level "${o.logLevel}" (known: ${LOG_LEVELS.join(', ')})`);
  }
  if (o.compat !== undefined && o.compat !== null && !isCompatMode(o.compat)) {
    throw usage(`unknown compat mode "${String(o.compat)}" (known: ${COMPAT_MODES.join(', ')})`);
  }
  for (const k of o.refuse ?? []) if (!isSocketKind(k)) throw usage(`refuse: unknown socket kind "${String(k)}" (known: chat, voice, notifications)`);
  const compat = o.compat ?? null;
  const r: ResolvedOptions = {
    host: o.host ?? SERVE_OPTIONS.host.default,
    port: intOption('port', o.port),
    heartbeatMs: intOption('heartbeatMs', o.heartbeatMs),
    missedPongs: intOption('missedPongs', o.missedPongs),
    maxPerUser: intOption('maxPerUser', o.maxPerUser),
    maxTotal: intOption('maxTotal', o.maxTotal),
    faults,
    faultDelayMs: intOption('faultDelayMs', o.faultDelayMs),
    faultEvent: (o.faultEvent as AnnouncedEvent | undefined) ?? 'user_muted',
    faultPoolSize: intOption('faultPoolSize', o.faultPoolSize),
    faultPoolStallMs: intOption('faultPoolStallMs', o.faultPoolStallMs),
    log: o.logger ?? createLogger(o.logLevel ?? 'silent'),
    jwtSecret: new TextEncoder().encode(o.jwtSecret ?? randomBytes(32).toString('base64url')),
    tokenTtlSec: int('tokenTtlSec', o.tokenTtlSec ?? 86_400, 1),
    maxPayloadBytes: int('maxPayloadBytes', o.maxPayloadBytes ?? 128 * 1024, 256),
    maxBodyBytes: int('maxBodyBytes', o.maxBodyBytes ?? 1024 * 1024, 64),
    headersTimeoutMs: int('headersTimeoutMs', o.headersTimeoutMs ?? 10_000, 10),
    requestTimeoutMs: int('requestTimeoutMs', o.requestTimeoutMs ?? 30_000, 10),
    iceServers: o.iceServers ?? [],
    messageFormat: o.messageFormat ?? (compat === 'v1' ? 'new_message' : 'message'),
    compat,
    refuse: new Set(o.refuse ?? []),
    scryptCost: int('scryptCost', o.scryptCost ?? 4096, 2),
    maxSendQueueBytes: intOption('maxSendQueueBytes', o.maxSendQueueBytes),
    closeTimeoutMs: intOption('closeTimeoutMs', o.closeTimeoutMs),
    maxUsers: intOption('maxUsers', o.maxUsers),
    maxServers: intOption('maxServers', o.maxServers),
    maxServersPerUser: intOption('maxServersPerUser', o.maxServersPerUser),
    maxChannelsPerServer: intOption('maxChannelsPerServer', o.maxChannelsPerServer),
    maxMembersPerServer: intOption('maxMembersPerServer', o.maxMembersPerServer),
    maxHistoryBytes: intOption('maxHistoryBytes', o.maxHistoryBytes),
  };
  if (typeof r.host !== 'string' || r.host.length === 0) throw usage('host must be a non-empty string');
  if (o.jwtSecret !== undefined && o.jwtSecret.length < 8) throw usage('jwtSecret must be at least 8 characters');
  if (r.maxPerUser > r.maxTotal) throw usage(`maxPerUser (${r.maxPerUser}) cannot exceed maxTotal (${r.maxTotal})`);
  if (r.headersTimeoutMs > r.requestTimeoutMs) {
    throw usage(`headersTimeoutMs (${r.headersTimeoutMs}) cannot exceed requestTimeoutMs (${r.requestTimeoutMs})`);
  }
  if ((r.scryptCost & (r.scryptCost - 1)) !== 0) throw usage('scryptCost must be a power of two');
  if (r.messageFormat !== 'message' && r.messageFormat !== 'new_message') throw usage('messageFormat must be message or new_message');
  return r;
}
