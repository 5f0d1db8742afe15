import { readdir } from 'node:fs/promises';
import type { StatsProcess, StatsResponse } from '../protocol/messages.js';
import { toStatsConnection } from './connection-manager.js';
import type { Hub } from './hub.js';

/** Open file descriptors of this process (Linux); -1 where /proc is missing. */
export async function openFds(): Promise<number> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return -1;
  }
}

/** `gc`: collect first when the process can (node --expose-gc), so the heap is what is retained. */
export async function processStats(gc = false): Promise<StatsProcess> {
  const collect = gc ? (globalThis as { gc?: () => void }).gc : undefined;
  collect?.();
  const mem = process.memoryUsage();
  return {
    rss_bytes: mem.rss,
    heap_used_bytes: mem.heapUsed,
    ...(collect ? { heap_after_gc: true } : {}),
    open_handles: process.getActiveResourcesInfo().length,
    open_fds: await openFds(),
  };
}

/**
 * The body of GET /api/debug/websocket-stats: the v1 fields computed from the registry
 * (so registry faults show in them too), then the [ext] fields. Unlike Miscord, the totals
 * include voice sockets and chat sockets are filed under `chat`. With the pooled-resource
 * fault it adds `fault_pool: {size, in_use, waiting}`.
 */
export async function buildStats(hub: Hub, o: { gc?: boolean } = {}): Promise<StatsResponse & { faults: string[]; fault_pool?: { size: number; in_use: number; waiting: number } }> {
  const conns = hub.cm.connections();
  const usersByType: Record<string, Set<number>> = { chat: new Set(), voice: new Set(), notifications: new Set() };
  const connectionsByType: Record<string, number> = { chat: 0, voice: 0, notifications: 0 };
  const users = new Set<number>();
  const channels = new Set<string>();
  for (const c of conns) {
    users.add(c.userId);
    usersByType[c.kind]!.add(c.userId);
    connectionsByType[c.kind]!++;
    if (c.channelId !== null) channels.add(`${c.kind}:${c.channelId}`);
  }
  return {
    total_users: users.size,
    total_connections: conns.length,
    active_channels: channels.size,
    users_by_type: Object.fromEntries(Object.entries(usersByType).map(([k, s]) => [k, s.size])),
    connections_by_type: connectionsByType,
    redis_connected: false,
    connections: conns.map(toStatsConnection),
    voice_rooms: hub.voice.snapshot(),
    counters: { ...hub.cm.counters },
    process: await processStats(o.gc),
    config: {
      heartbeat_ms: hub.opts.heartbeatMs,
      missed_pongs: hub.opts.missedPongs,
      max_per_user: hub.opts.maxPerUser,
      max_total: hub.opts.maxTotal,
    },
    faults: [...hub.opts.faults],
    // pooled-resource fault only: the pool's connections held and the requests waiting for one
    ...(hub.pool ? { fault_pool: hub.pool.state } : {}),
  };
}

/** The v1 stats body from the registry (so registry faults show in it), as Miscord counts. */
export function buildV1Stats(hub: Hub): StatsResponse {
  let chat = 0;
  let notifications = 0;
  const chatUsers = new Set<number>();
  const notificationUsers = new Set<number>();
  const users = new Set<number>();
  const channels = new Set<number>();
  for (const c of hub.cm.connections()) {
    if (c.kind === 'voice') continue; // Miscord's connection manager never sees them
    users.add(c.userId);
    if (c.kind === 'chat') {
      chat++;
      chatUsers.add(c.userId);
      channels.add(c.channelId!);
    } else {
      notifications++;
      notificationUsers.add(c.userId);
    }
  }
  return {
    total_users: users.size,
    total_connections: chat + notifications,
    active_channels: channels.size,
    users_by_type: { voice: chatUsers.size, notifications: notificationUsers.size },
    connections_by_type: { voice: chat, notifications },
    redis_connected: false,
  };
}
