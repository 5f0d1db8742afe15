import { ROUTES, hasExtStats, type StatsResponse } from '../protocol/messages.js';
import { MbError } from '../errors.js';
import { clock } from '../clock.js';
import { benchFetch } from './bench-fetch.js';

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

/** `gc`: ask the server to collect before it measures its heap (`?gc=1`; a server that cannot, or ignores it, answers as usual) */
type RequestOptions = { signal?: AbortSignal; timeoutMs?: number; gc?: boolean };

/** A request's signal: its timeout (default 5 s), or the caller's signal, whichever comes first. */
function requestSignal(opts: RequestOptions): AbortSignal {
  return AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? 5000), ...(opts.signal ? [opts.signal] : [])]);
}

/** GET /api/debug/websocket-stats. Throws MB_ERR_TARGET_UNREACHABLE or MB_ERR_PROTOCOL. */
export async function fetchStats(httpUrl: string, opts: RequestOptions = {}): Promise<StatsReading> {
  const signal = requestSignal(opts);
  let res: Response;
  try {
    res = await benchFetch(httpUrl + ROUTES.stats + (opts.gc ? '?gc=1' : ''), { signal });
  } catch (err) {
    throw new MbError('MB_ERR_TARGET_UNREACHABLE', `cannot read ${httpUrl}${ROUTES.stats}: ${(err as Error).cause ?? (err as Error).message}`, undefined, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new MbError('MB_ERR_PROTOCOL', `${httpUrl}${ROUTES.stats} answered HTTP ${res.status}`, { status: res.status });
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new MbError('MB_ERR_PROTOCOL', `${httpUrl}${ROUTES.stats} did not answer JSON`);
  }
  if (!body || typeof body !== 'object' || typeof (body as StatsResponse).total_connections !== 'number') {
    throw new MbError('MB_ERR_PROTOCOL', `${httpUrl}${ROUTES.stats} answered without total_connections`);
  }
  const stats = body as StatsResponse;
  return { stats, ext: hasExtStats(stats), counts: countsOf(stats), at: clock.now() };
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

/**
 * The same view from `GET /metrics` (Prometheus text): a few hundred bytes where the [ext]
 * stats carry an entry per socket (750 KB a second at 10,000 sockets, which the server must
 * also build while it is being measured). Null when the target has no such endpoint or its
 * text lacks `miscord_connections`: read the stats route instead.
 */
export async function fetchMetricsSample(httpUrl: string, opts: RequestOptions = {}): Promise<ServerSample | null> {
  const signal = requestSignal(opts);
  const res = await benchFetch(httpUrl + ROUTES.metrics, { signal });
  if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/plain')) {
    await res.body?.cancel();
    return null;
  }
  return parseMetricsSample(await res.text());
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
