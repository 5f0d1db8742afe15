import { hasExtStats, type StatsResponse } from './messages.js';

/**
 * The server's socket counts and process figures as the bench reads them, the same shape
 * from [ext] stats, v1 stats and Prometheus text (the target adapter of the stats route;
 * src/client/fetch-stats.ts reads them over HTTP).
 */

/** Socket counts by kind, the same shape for [ext] and v1 stats. */
export interface SocketCounts {
  total: number;
  chat: number;
  voice: number;
  notifications: number;
}

export interface StatsReading {
  stats: StatsResponse;
  /** the [ext] fields (connections, voice_rooms) are present */
  ext: boolean;
  counts: SocketCounts;
  /** clock.now() when the response arrived */
  at: number;
}

/**
 * Normalises server counts. With [ext], counts come from the per-socket list. A plain
 * Miscord counts only notifications sockets and chat sockets, and files chat sockets under
 * the type "voice" (they carry a channel id); its voice signaling sockets are not counted.
 */
export function countsOf(stats: StatsResponse): SocketCounts {
  if (hasExtStats(stats)) {
    const c: SocketCounts = { total: 0, chat: 0, voice: 0, notifications: 0 };
    for (const conn of stats.connections) {
      c.total++;
      if (conn.kind in c) c[conn.kind]++;
    }
    return c;
  }
  const byType = stats.connections_by_type ?? {};
  return {
    total: Number(stats.total_connections) || 0,
    chat: Number(byType.chat ?? byType.voice ?? 0) || 0,
    voice: 0,
    notifications: Number(byType.notifications ?? 0) || 0,
  };
}

/** The per-second view of the server in the timeline: its socket counts and process figures. */
export interface ServerSample {
  counts: SocketCounts;
  rssBytes: number | null;
  heapBytes: number | null;
  openFds: number | null;
  openHandles: number | null;
}

/** The same view from a stats reading. */
export function sampleOfStats(r: StatsReading): ServerSample {
  const p = r.stats.process;
  return { counts: r.counts, rssBytes: p?.rss_bytes ?? null, heapBytes: p?.heap_used_bytes ?? null, openFds: p?.open_fds ?? null, openHandles: p?.open_handles ?? null };
}

/** Reads a ServerSample out of Prometheus text; null without `miscord_connections`. */
export function parseMetricsSample(text: string): ServerSample | null {
  const counts: SocketCounts = { total: 0, chat: 0, voice: 0, notifications: 0 };
  const out: ServerSample = { counts, rssBytes: null, heapBytes: null, openFds: null, openHandles: null };
  let seen = false;
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{([^}]*)\})? ([-+0-9.eE]+|NaN)$/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    switch (m[1]) {
      case 'miscord_connections': {
        const kind = /kind="([a-z]+)"/.exec(m[2] ?? '')?.[1];
        if (kind === 'chat' || kind === 'voice' || kind === 'notifications') {
          counts[kind] = v;
          counts.total += v;
          seen = true;
        }
        break;
      }
      case 'process_resident_memory_bytes':
        out.rssBytes = v;
        break;
      case 'nodejs_heap_used_bytes':
        out.heapBytes = v;
        break;
      case 'process_open_fds':
        out.openFds = v;
        break;
      case 'nodejs_active_handles_total':
        out.openHandles = v;
        break;
    }
  }
  return seen ? out : null;
}
