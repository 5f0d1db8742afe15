import type { UserLedger, SocketRecord, SocketState } from '../client/ledger.js';
import { fetchStats } from '../client/fetch-stats.js';
import type { SocketCounts, StatsReading } from '../protocol/stats-reading.js';
import { clock } from '../clock.js';

/**
 * The live state of a run on demand: what Miscord's front end exposed as getConnectionState(),
 * for every simulated user, with the run's totals as the client sees them beside what the
 * server says. The engine only builds the view; asking for it (SIGUSR2, a key on a TTY) and
 * printing it are the CLI's (src/cli/live-state-trigger.ts, src/cli/format-live-state.ts).
 */
export interface LiveSocket extends Pick<SocketRecord, 'id' | 'kind' | 'channelId' | 'textChannelId' | 'state'> {
  frozen: boolean;
  abandoned: boolean;
  /** ms since it opened (or started opening) */
  ageMs: number;
}

export interface LivePeer {
  remoteUserId: number;
  roomId: number;
  iceState: string | null;
  connectionState: string | null;
}

export interface LiveUser {
  index: number;
  userId: number | null;
  username: string;
  sockets: LiveSocket[];
  peers: LivePeer[];
  /** media resources held now (created minus released) */
  tracks: number;
  sources: number;
  sinks: number;
  reconnectAttempts: number;
  lastError: string | null;
  /** sockets the server holds for this user ([ext] stats only) */
  serverSockets: number | null;
}

export interface LiveView {
  phase?: string;
  elapsedMs?: number;
  users: LiveUser[];
  totals: {
    client: SocketCounts & { peers: number };
    /** null when the server's stats could not be read */
    server: SocketCounts | null;
    /** the server's stats carry per-socket [ext] data */
    serverExt: boolean;
  };
}

const LIVE_STATES: ReadonlySet<SocketState> = new Set(['connecting', 'open', 'closing']);

/** Builds the view from the users' ledgers and the latest server stats (null if unreadable). */
export function buildLiveView(input: { ledgers: Iterable<UserLedger>; stats: StatsReading | null; phase?: string; elapsedMs?: number; now?: number }): LiveView {
  const now = input.now ?? clock.now();
  const serverByUser = new Map<number, number>();
  if (input.stats?.ext) for (const c of input.stats.stats.connections ?? []) serverByUser.set(c.user_id, (serverByUser.get(c.user_id) ?? 0) + 1);
  const client = { total: 0, chat: 0, voice: 0, notifications: 0, peers: 0 };
  const users: LiveUser[] = [];
  for (const l of input.ledgers) {
    const sockets: LiveSocket[] = [];
    for (const s of l.sockets.values()) {
      if (!LIVE_STATES.has(s.state)) continue;
      sockets.push({
        id: s.id,
        kind: s.kind,
        channelId: s.channelId,
        textChannelId: s.textChannelId,
        state: s.state,
        frozen: !!s.frozen,
        abandoned: !!s.abandoned,
        ageMs: Math.max(0, now - (s.openedAt ?? s.openingAt)),
      });
      if (s.state === 'open') {
        client.total++;
        client[s.kind]++;
      }
    }
    const peers = l.openPeers().map((p) => ({ remoteUserId: p.remoteUserId, roomId: p.roomId, iceState: p.iceState ?? null, connectionState: p.connectionState ?? null }));
    client.peers += peers.length;
    const held = (r: 'track' | 'source' | 'sink') => l.resources[r].created - l.resources[r].released;
    users.push({
      index: l.index,
      userId: l.userId,
      username: l.username,
      sockets,
      peers,
      tracks: held('track'),
      sources: held('source'),
      sinks: held('sink'),
      reconnectAttempts: l.reconnectAttempts,
      lastError: l.lastError,
      serverSockets: input.stats?.ext && l.userId !== null ? (serverByUser.get(l.userId) ?? 0) : null,
    });
  }
  users.sort((a, b) => a.index - b.index);
  return {
    phase: input.phase,
    elapsedMs: input.elapsedMs,
    users,
    totals: { client, server: input.stats?.counts ?? null, serverExt: !!input.stats?.ext },
  };
}

/**
 * The `getView` of a run: the users' ledgers now, and the server's stats read on demand
 * (a server that does not answer within `statsTimeoutMs` shows as n/a, never blocks).
 */
export function liveViewSource(src: {
  ledgers: () => Iterable<UserLedger>;
  httpUrl: string | null;
  phase?: () => string;
  /** clock.now() when the run started */
  startedAt?: number;
  statsTimeoutMs?: number;
  signal?: AbortSignal;
}): () => Promise<LiveView> {
  return async () => {
    const stats = src.httpUrl ? await fetchStats(src.httpUrl, { timeoutMs: src.statsTimeoutMs ?? 2000, signal: src.signal }).catch(() => null) : null;
    return buildLiveView({ ledgers: src.ledgers(), stats, phase: src.phase?.(), elapsedMs: src.startedAt === undefined ? undefined : clock.now() - src.startedAt });
  };
}

/**
 * How a run offers its live state (`RunOptions.liveState`): called once the target is known
 * with the view source; returns the remover, called when the run ends.
 */
export type LiveStateHook = (getView: () => Promise<LiveView>) => () => void;
