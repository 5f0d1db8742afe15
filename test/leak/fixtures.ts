import { UserLedger, type SocketRecord } from '../../src/client/ledger.js';
import { clock } from '../../src/clock.js';
import type { SocketKind, StatsConnection, StatsResponse } from '../../src/protocol/messages.js';
import type { LeakUserView } from '../../src/leak/types.js';

/** Constructed ledgers and stats for the reconciler tests. */
export function user(index: number, userId = 100 + index): LeakUserView {
  const l = new UserLedger(index, `mb-test-${index}`);
  l.userId = userId;
  return { ledger: l };
}

export function open(v: LeakUserView, kind: SocketKind, channelId: number | null, extra: Partial<SocketRecord> = {}): SocketRecord {
  const r = v.ledger.socketOpening(kind, channelId);
  v.ledger.socketOpened(r);
  Object.assign(r, extra);
  return r;
}

export function close(v: LeakUserView, r: SocketRecord, agoMs = 0): SocketRecord {
  v.ledger.socketClosing(r);
  r.closedAt = clock.now() - agoMs;
  v.ledger.socketClosed(r, { code: 1000, by: 'client' });
  return r;
}

let seq = 0;
export function entry(userId: number, kind: SocketKind, channelId: number | null, connectedAt = new Date()): StatsConnection {
  const iso = connectedAt.toISOString();
  return { id: ++seq, user_id: userId, kind, channel_id: channelId, connected_at: iso, last_seen_at: iso };
}

/** An [ext] stats body listing exactly these entries (and rooms). */
export function extStats(connections: StatsConnection[], voiceRooms: Record<string, number[]> = {}, config = { heartbeat_ms: 500, missed_pongs: 2, max_per_user: 3, max_total: 1000 }): StatsResponse {
  return {
    total_users: new Set(connections.map((c) => c.user_id)).size,
    total_connections: connections.length,
    active_channels: 0,
    users_by_type: {},
    connections_by_type: {},
    redis_connected: false,
    connections,
    voice_rooms: voiceRooms,
    counters: { connections_opened: 0, connections_closed: 0, rejected: 0, reaped: 0 },
    process: { rss_bytes: 1, heap_used_bytes: 1, open_handles: 1, open_fds: 1 },
    config,
  };
}

/** The entries a healthy server would list for these users' open sockets. */
export function mirror(...views: LeakUserView[]): StatsConnection[] {
  return views.flatMap((v) => v.ledger.openSockets().map((s) => entry(v.ledger.userId!, s.kind, s.channelId)));
}

/** A v1 stats body: chat sockets filed under "voice", as Miscord does. */
export function v1Stats(chat: number, notifications: number): StatsResponse {
  return {
    total_users: 0,
    total_connections: chat + notifications,
    active_channels: 0,
    users_by_type: {},
    connections_by_type: { voice: chat, notifications },
    redis_connected: true,
  };
}
