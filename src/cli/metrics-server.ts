import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MbError } from '../errors.js';
import { FindingClassSchema, type TimelineSample } from '../report/schema.js';
import type { LiveState } from '../runner/run-scenario.js';
import { remainingMs } from '../runner/phase-plan.js';

/**
 * `--metrics-port`: the run's live figures as Prometheus text on GET /metrics, so a soak
 * can be watched in Grafana (examples/grafana-dashboard.json reads these names). Fed by
 * the CLI's onSample once a second; with --workers it serves the merged view. Every name
 * starts with `miscord_bench_`; latencies are summaries in seconds.
 */
export interface MetricsServerOptions {
  port: number;
  /** default 127.0.0.1: the figures name the target, so not on every interface unless asked */
  host?: string;
  /** labels of `miscord_bench_run_info` */
  scenario: string;
  target: string;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string | number>) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

class Exposition {
  private readonly lines: string[] = [];
  metric(name: string, type: 'gauge' | 'counter' | 'summary', help: string, rows: Array<[Record<string, string | number>, number]>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) this.lines.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 'NaN'}`);
  }
  raw(line: string): void {
    this.lines.push(line);
  }
  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

const KINDS = ['chat', 'voice', 'notifications'] as const;

/** The Prometheus text for one live sample (pure, for the tests and the server alike). */
export function renderMetrics(o: Pick<MetricsServerOptions, 'scenario' | 'target'>, s: TimelineSample | null, live: LiveState | null): string {
  const e = new Exposition();
  e.metric('miscord_bench_run_info', 'gauge', 'the run being measured (always 1)', [[{ scenario: o.scenario, target: o.target }, 1]]);
  if (!s || !live) {
    e.metric('miscord_bench_up', 'gauge', 'whether the run has sent a sample yet', [[{}, 0]]);
    return e.text();
  }
  e.metric('miscord_bench_up', 'gauge', 'whether the run has sent a sample yet', [[{}, 1]]);
  const idx = live.phaseIndex ?? -1;
  e.metric('miscord_bench_phase_info', 'gauge', 'the phase running now (1 on its series)', [[{ phase: live.phase, index: idx + 1, of: live.plan?.length ?? 0 }, 1]]);
  e.metric('miscord_bench_elapsed_seconds', 'gauge', 'time since the run started', [[{}, live.elapsedMs / 1000]]);
  const left = live.plan ? remainingMs(live.plan, idx, live.phaseElapsedMs ?? 0) : null;
  if (left !== null) e.metric('miscord_bench_remaining_seconds', 'gauge', "what the plan says is left of the run (without checkpoints' settle)", [[{}, left / 1000]]);
  e.metric('miscord_bench_users', 'gauge', 'simulated users online', [[{}, live.users]]);
  const sockets: Array<[Record<string, string>, number]> = KINDS.map((k) => [{ side: 'client', kind: k }, s.client[k]]);
  if (s.server) for (const k of KINDS) sockets.push([{ side: 'server', kind: k }, s.server[k]]);
  e.metric('miscord_bench_sockets', 'gauge', 'open sockets by kind, as the client holds them and as the server counts them', sockets);
  e.metric('miscord_bench_peers', 'gauge', 'WebRTC peer connections the client holds', [[{}, s.peers]]);
  const m = live.messages;
  if (m) {
    e.metric('miscord_bench_messages_sent_total', 'counter', 'chat messages sent', [[{}, m.sent]]);
    e.metric('miscord_bench_messages_due_total', 'counter', 'deliveries expected (recipients of every message, minus excused ones)', [[{}, m.due]]);
    e.metric('miscord_bench_messages_delivered_total', 'counter', 'deliveries received', [[{}, m.delivered]]);
    e.metric('miscord_bench_messages_lost_total', 'counter', 'deliveries that timed out', [[{}, m.lost]]);
  }
  e.metric('miscord_bench_messages_per_second', 'gauge', 'messages sent over the last second', [[{}, s.messagesPerSec]]);
  e.metric('miscord_bench_deliveries_per_second', 'gauge', 'deliveries received over the last second', [[{}, s.deliveriesPerSec]]);
  e.metric('miscord_bench_errors_total', 'counter', 'errors of every kind (errors.* counters)', [[{}, live.errors]]);
  const byKind = Object.entries(live.counters ?? {}).filter(([k]) => k.startsWith('errors.'));
  if (byKind.length) e.metric('miscord_bench_errors_by_kind_total', 'counter', 'errors by kind', byKind.map(([k, v]) => [{ kind: k.slice('errors.'.length) }, v]));
  // every class, 0 until found: a dashboard's series exist from the first scrape
  const found = live.findings ?? {};
  const classes = [...new Set([...FindingClassSchema.options, ...Object.keys(found)])];
  e.metric('miscord_bench_findings', 'gauge', 'leak findings so far, by class', classes.map((c) => [{ class: c }, found[c] ?? 0]));
  e.metric('miscord_bench_event_loop_delay_seconds', 'gauge', "the generator's event-loop delay p99 over the last second", [[{}, s.eventLoopDelayMs / 1000]]);
  if (s.serverRssBytes != null) e.metric('miscord_bench_server_rss_bytes', 'gauge', "the target's resident memory (when its /metrics or stats say)", [[{}, s.serverRssBytes]]);
  const lat = Object.entries(live.latency ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (lat.length) {
    e.raw('# HELP miscord_bench_latency_seconds latencies of the run so far (connect, deliver, switch, ping, voice...), by metric');
    e.raw('# TYPE miscord_bench_latency_seconds summary');
    for (const [name, h] of lat) {
      for (const [q, v] of [['0.5', h.p50], ['0.9', h.p90], ['0.95', h.p95], ['0.99', h.p99], ['1', h.max]] as const) e.raw(`miscord_bench_latency_seconds${labels({ metric: name, quantile: q })} ${v / 1000}`);
      e.raw(`miscord_bench_latency_seconds_sum${labels({ metric: name })} ${h.sum / 1000}`);
      e.raw(`miscord_bench_latency_seconds_count${labels({ metric: name })} ${h.count}`);
    }
  }
  return e.text();
}

/** The endpoint: listens before the run starts, serves the latest sample, closed (with its connections) at the end. */
export class MetricsServer {
  private sample: TimelineSample | null = null;
  private live: LiveState | null = null;
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly server: Server,
    private readonly o: MetricsServerOptions,
  ) {}

  /** Listens; a port in use or not ours to take is a usage error (exit 2) before the run starts. */
  static async start(o: MetricsServerOptions): Promise<MetricsServer> {
    const server = createServer();
    const ms = new MetricsServer(server, o);
    server.on('request', (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
        const body = renderMetrics(o, ms.sample, ms.live);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('miscord-bench serves GET /metrics only\n');
      }
    });
    const host = o.host ?? '127.0.0.1';
    server.listen(o.port, host);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'needs privileges' : `failed (${code ?? (err as Error).message})`;
      throw new MbError('MB_ERR_USAGE', `--metrics-port ${o.port}: listening on ${host}:${o.port} ${why}`);
    }
    const a = server.address() as AddressInfo;
    ms.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
    return ms;
  }

  /** http://host:port/metrics as bound (the real port when 0 was asked). */
  url = '';

  update(sample: TimelineSample, live: LiveState): void {
    this.sample = sample;
    this.live = live;
  }

  /** Stops listening and ends open connections (a scraper's keep-alive must not hold the CLI); idempotent. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closed;
  }
}
