import type { ClientEnv, ClientEvents, UserIdentity, WireEvent } from '../client/client-env.js';
import { Capabilities } from '../client/capabilities.js';
import { fetchStats } from '../client/fetch-stats.js';
import type { SocketRecord } from '../client/ledger.js';
import { ledgerSubscriber } from '../client/ledger-subscriber.js';
import { METRICS_KINDS, metricsSubscriber } from '../client/metrics-subscriber.js';
import { SocketStream } from '../client/socket-events.js';
import { traceSubscriber } from '../client/trace-subscriber.js';
import { wireSubscriber } from '../client/wire-subscriber.js';
import { isMbError, type MbError } from '../errors.js';
import type { Logger, LogLevel } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { IceServer, StatsConfig } from '../protocol/messages.js';
import type { Scenario } from '../scenario/schema.js';
import { SERVE_OPTIONS } from '../server/options.js';
import type { Tracer } from '../trace/tracer.js';
import { reapWindowOf } from '../leak/leak-detector.js';
import { startBundledServer, type BundledServer } from './bundled-server.js';
import type { RunTarget } from './run-context.js';

/**
 * What a run runs against, found out once before any user connects: the bundled reference
 * server (started here) or an existing deployment, what its stats route says about it, the
 * promises it makes (how soon a silent socket is reaped, and who says so), and the
 * environment every simulated user gets. One value, handed forward; one close().
 */
export interface Target extends RunTarget {
  /** the URL the report names: --target, or the bundled server's */
  readonly url: string;
  /** the [ext] config the target publishes (null: none, or no usable stats route) */
  readonly config: StatsConfig | null;
  /** the config the run holds the target to: its own, else the bundled server's options; undefined for a deployment that publishes none */
  readonly assumedConfig: StatsConfig | undefined;
  /** how long the target may take to drop a socket that went silent, and where that came from (null: nothing says) */
  readonly reap: { windowMs: number | null; from: string | null };
  /** what the target turned out to support, shared by every user (notes for the report) */
  readonly caps: Capabilities;
  /** what every simulated user gets; its events go to whoever `listen`s */
  readonly env: ClientEnv;
  /** the users' socket closes and voice events, from now on (the leak detector, the voice promises); returns the remover */
  listen(sink: ClientEvents): () => void;
  /** stops the bundled server (nothing for a deployment); idempotent */
  close(): Promise<void>;
}

export interface TargetSpec {
  /** an existing deployment (http://host:port); undefined: start the bundled reference server */
  url?: string;
  scenario: Scenario;
  logLevel?: LogLevel;
  /** replaces the ice_servers the server sends (undefined: none for the bundled server, the server's own for a deployment) */
  iceServers?: IceServer[] | null;
  /** --expect-reap-ms: the promise of a deployment that publishes no [ext] config */
  expectReapMs?: number;
  metrics: Metrics;
  tracer: Tracer;
  log: Logger;
  signal: AbortSignal;
  /** the bundled server exited before close() */
  onDied(err: MbError): void;
}

/**
 * The users' one socket stream with its subscribers, in this order: the ledger (first, so the
 * others read it up to date), the metrics, the tracer (per-message lines only while it writes),
 * then `events` (the run's history: the promise checks, the leak detector's socket closes).
 */
export function socketStreamFor(o: { metrics: Metrics; tracer: Tracer; events: ClientEvents }): SocketStream {
  const stream = new SocketStream();
  stream.subscribe(ledgerSubscriber, ['opening', 'open', 'refused', 'failed', 'error', 'closing', 'closed', 'frozen', 'crashed', 'abandoned']);
  stream.subscribe(metricsSubscriber(o.metrics), METRICS_KINDS);
  stream.subscribe(traceSubscriber(o.tracer), ['opening', 'open', 'refused', 'failed', 'error', 'closing', 'closed', 'frozen', 'crashed', 'abandoned', ...(o.tracer.writing ? (['recv', 'sent'] as const) : [])]);
  const wire = wireSubscriber(o.events);
  if (wire.kinds.length) stream.subscribe(wire.fn, wire.kinds);
  return stream;
}

const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/i.test(host);

/** The bundled reference server, started with the scenario's options (the plan's scenario carries --fault and --server-heartbeat-ms). */
export function startBundled(scenario: Scenario, logLevel: LogLevel | undefined, onDied: (err: MbError) => void): Promise<BundledServer> {
  return startBundledServer({ ...scenario.bundledServer, logLevel: logLevel === 'debug' ? 'debug' : undefined, onDied });
}

/** The ice_servers the users are given: as asked, else none for the bundled server (loopback needs none) and the server's own (null) for a deployment. */
export function iceServersFor(given: IceServer[] | null | undefined, bundled: boolean): IceServer[] | null {
  return given === undefined ? (bundled ? [] : null) : given;
}

/** The config the bundled server is started with: the scenario's options over the server's own defaults. */
export function bundledConfig(scenario: Scenario): StatsConfig {
  const b = scenario.bundledServer;
  return {
    heartbeat_ms: b.heartbeatMs ?? SERVE_OPTIONS.heartbeatMs.default,
    missed_pongs: b.missedPongs ?? SERVE_OPTIONS.missedPongs.default,
    max_per_user: b.maxPerUser ?? SERVE_OPTIONS.maxPerUser.default,
    max_total: b.maxTotal ?? SERVE_OPTIONS.maxTotal.default,
  };
}

/**
 * Starts the bundled server or takes the deployment, and probes it. An unreachable target
 * throws (MB_ERR_TARGET_UNREACHABLE, after closing what was started); a target without a
 * usable stats route is noted and the run goes on without server-side counts.
 */
export async function openTarget(spec: TargetSpec): Promise<Target> {
  const { log, scenario } = spec;
  const server = spec.url ? null : await startBundled(scenario, spec.logLevel, spec.onDied);
  if (server) log.info('[Runner]', `bundled reference server pid ${server.pid} listening at ${server.url}`);
  const bundled = server !== null;
  const url = spec.url ?? server!.url;
  const u = new URL(url);
  const httpUrl = `${u.protocol}//${u.host}`;
  const caps = new Capabilities(log);
  let extStats = false;
  let config: StatsConfig | null = null;
  try {
    const reading = await fetchStats(httpUrl, { signal: spec.signal, timeoutMs: 5000 });
    extStats = reading.ext;
    config = reading.stats.config ?? null;
  } catch (err) {
    if (isMbError(err) && err.code === 'MB_ERR_TARGET_UNREACHABLE') {
      await server?.close();
      throw err;
    }
    log.warn('[ChatService]', `no usable stats route (${(err as Error).message}): server-side counts are skipped`);
    caps.notes.push(`the target has no usable ${'/api/debug/websocket-stats'}: server-side counts and leak checks are limited`);
  }
  const assumedConfig = config ?? (bundled ? bundledConfig(scenario) : undefined);
  const from = config?.heartbeat_ms ? "the target's [ext] config" : bundled ? "the bundled server's options" : spec.expectReapMs !== undefined ? '--expect-reap-ms' : null;
  const sinks = new Set<ClientEvents>();
  const events: Required<ClientEvents> = {
    onSocketClosed: (user: UserIdentity, rec: SocketRecord) => {
      for (const s of sinks) s.onSocketClosed?.(user, rec);
    },
    onWire: (e: WireEvent) => {
      for (const s of sinks) s.onWire?.(e);
    },
  };
  const env: ClientEnv = {
    httpUrl,
    wsUrl: `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}`,
    metrics: spec.metrics,
    tracer: spec.tracer,
    log,
    iceServers: iceServersFor(spec.iceServers, bundled),
    loopbackOnly: isLoopback(u.hostname),
    heartbeatMs: scenario.heartbeat,
    signal: spec.signal,
    stream: socketStreamFor({ metrics: spec.metrics, tracer: spec.tracer, events }),
    events,
  };
  return {
    url,
    httpUrl,
    wsUrl: env.wsUrl,
    bundled,
    extStats,
    config,
    assumedConfig,
    reap: { windowMs: reapWindowOf(assumedConfig, spec.expectReapMs), from },
    caps,
    env,
    listen(sink) {
      sinks.add(sink);
      return () => sinks.delete(sink);
    },
    close: async () => {
      sinks.clear();
      await server?.close();
    },
  };
}
