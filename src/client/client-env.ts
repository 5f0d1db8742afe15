import type { Metrics } from '../metrics/metrics.js';
import type { Tracer } from '../trace/tracer.js';
import type { Logger } from '../log.js';
import type { IceServer } from '../protocol/messages.js';
import type { UserLedger, SocketRecord } from './ledger.js';
import type { SocketStream } from './socket-events.js';

import type { UserIdentity } from './user-identity.js';
export type { UserIdentity };

/** What the run's history hands on (through wireSubscriber), for the leak detector and the promise checks. */
export interface ClientEvents {
  /** a socket of this user finished closing (any side) */
  onSocketClosed?(user: UserIdentity, rec: SocketRecord): void;
  /** every event of a voice signaling or notifications socket: the history the promise checks judge */
  onWire?(e: WireEvent): void;
}

/**
 * One event of one voice signaling or notifications socket, as its client saw it
 * (clock.now() time). `recv` carries the message's type and its subject (`user_id`, or
 * `from_id` for relayed signaling; on a notifications socket `channel` is the message's
 * `voice_channel_id`), `sent` the client's own message type and its `target_id`.
 */
export interface WireEvent {
  /** `frozen`: the client stopped reading and answering (a freeze, an abandoned socket): owed nothing more, reaped like a crash */
  kind: 'open' | 'recv' | 'sent' | 'closing' | 'closed' | 'crashed' | 'frozen';
  /** the socket's kind (default voice) */
  on?: 'voice' | 'chat' | 'notifications';
  t: number;
  user: number;
  userId: number;
  socket: string;
  /** the voice room of a voice socket; -1 for a notifications socket */
  room: number;
  /** the voice channel a notifications event names */
  channel?: number;
  type?: string;
  subject?: number | null;
  /** `participants`: the user ids listed, in order, duplicates kept */
  participants?: number[];
  /** `open`: when the client started opening it (an announcement of the join may arrive before the open) */
  since?: number;
}

/** What every client session (chat, notifications, voice) gets from the runner. */
export interface ClientEnv {
  /** http(s)://host:port of the target, no trailing slash */
  httpUrl: string;
  /** ws(s)://host:port of the target, no trailing slash */
  wsUrl: string;
  metrics: Metrics;
  tracer: Tracer;
  log: Logger;
  /** replaces the ice_servers the server sends (null: use the server's) */
  iceServers: IceServer[] | null;
  /** relay only loopback ICE candidates (always for loopback targets and tests) */
  loopbackOnly: boolean;
  /** how often an open chat socket sends `{type:"heartbeat"}` (0: never) */
  heartbeatMs: number;
  /** aborted when the run stops (Ctrl-C, server died) */
  signal: AbortSignal;
  /** every socket event of the users, published once; the ledger, metrics, tracer and `events` subscribe (src/runner/target.ts socketStreamFor) */
  stream: SocketStream;
  events: ClientEvents;
  /** socket upgrade timeout (ms); default DEFAULT_HANDSHAKE_TIMEOUT_MS (60 s) */
  handshakeTimeoutMs?: number;
  /** HTTP call timeout (ms); default DEFAULT_HTTP_TIMEOUT_MS (60 s) */
  httpTimeoutMs?: number;
}

export type { UserLedger };
