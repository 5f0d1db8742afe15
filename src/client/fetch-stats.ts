import { ROUTES, hasExtStats, type StatsResponse } from '../protocol/messages.js';
import { countsOf, parseMetricsSample, type ServerSample, type StatsReading } from '../protocol/stats-reading.js';
import { MbError } from '../errors.js';
import { clock } from '../clock.js';
import { benchFetch } from './bench-fetch.js';
import { timedSignal } from './http-client.js';

/** `gc`: ask the server to collect before it measures its heap (`?gc=1`; a server that cannot, or ignores it, answers as usual) */
type RequestOptions = { signal?: AbortSignal; timeoutMs?: number; gc?: boolean };

/** A request's signal: its timeout (default 5 s), or the caller's signal, whichever comes first. */
function requestSignal(opts: RequestOptions): { signal: AbortSignal; dispose(): void } {
  return timedSignal([opts.signal], opts.timeoutMs ?? 5000);
}

/** GET /api/debug/websocket-stats. Throws MB_ERR_TARGET_UNREACHABLE or MB_ERR_PROTOCOL. */
export async function fetchStats(httpUrl: string, opts: RequestOptions = {}): Promise<StatsReading> {
  const t = requestSignal(opts);
  try {
    return await readStats(httpUrl, opts, t.signal);
  } finally {
    t.dispose();
  }
}

async function readStats(httpUrl: string, opts: RequestOptions, signal: AbortSignal): Promise<StatsReading> {
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

/**
 * The same view from `GET /metrics` (Prometheus text): a few hundred bytes where the [ext]
 * stats carry an entry per socket (750 KB a second at 10,000 sockets, which the server must
 * also build while it is being measured). Null when the target has no such endpoint or its
 * text lacks `miscord_connections`: read the stats route instead.
 */
export async function fetchMetricsSample(httpUrl: string, opts: RequestOptions = {}): Promise<ServerSample | null> {
  const { signal, dispose } = requestSignal(opts);
  try {
    const res = await benchFetch(httpUrl + ROUTES.metrics, { signal });
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/plain')) {
      await res.body?.cancel();
      return null;
    }
    return parseMetricsSample(await res.text());
  } finally {
    dispose();
  }
}
