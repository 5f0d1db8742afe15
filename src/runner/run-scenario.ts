import { randomBytes, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { clock } from '../clock.js';
import { MbError, isMbError } from '../errors.js';
import { createLogger, type Logger, type LogLevel } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { fetchStats } from '../client/stats-client.js';
import { HttpClient } from '../client/http-client.js';
import { DeliveryTracker } from '../client/delivery-tracker.js';
import { Capabilities } from '../client/capabilities.js';
import type { ClientEnv } from '../client/client-env.js';
import type { IceServer, StatsConfig } from '../protocol/messages.js';
import type { Tracer } from '../trace/tracer.js';
import { openTracer } from '../trace/create-tracer.js';
import { createLeakDetector } from '../leak/leak-detector.js';
import type { LeakDetector } from '../leak/types.js';
import { loadScenario } from '../scenario/load-scenario.js';
import type { PhaseConfig, Scenario } from '../scenario/schema.js';
import { buildReport } from '../report/build-report.js';
import { parseThreshold, type ThresholdSource } from '../report/gates.js';
import type { Report, TimelineSample } from '../report/schema.js';
import { startBundledServer, type BundledServer } from './bundled-server.js';
import { createRng } from './rng.js';
import { RunState, type Credentials } from './run-state.js';
import { TimelineSampler, clientCounts } from './timeline-sampler.js';
import { dispatch } from './phase-registry.js';
import { ledgerTotals } from './ledger-totals.js';
import type { ShardInfo, World } from './run-context.js';
import { FETCH_BLOCKED_PORTS, readUsersFile } from './run-options.js';
import { FAULT_NAMES, isFaultName } from '../server/faults.js';
import { installLiveStateTrigger, liveViewSource } from './live-state.js';

export interface RunOptions {
  /** a shipped scenario name, a path, or an already validated scenario */
  scenario: string | Scenario;
  cwd?: string;
  target?: string;
  users?: number;
  durationMs?: number;
  seed?: number;
  usersFile?: string;
  credentials?: Credentials[];
  /** replaces the server's ice_servers ([] = none) */
  iceServers?: IceServer[] | null;
  shard?: { index: number; count: number };
  settleMs?: number;
  thresholds?: string[];
  /** default true; false: no detector at all */
  leakCheck?: boolean;
  faults?: string[];
  serverHeartbeatMs?: number;
  maxLoopDelayMs?: number;
  logLevel?: LogLevel;
  log?: Logger;
  tracer?: Tracer;
  traceFile?: string;
  traceBodies?: boolean;
  /** show ICE candidate and SDP addresses in the trace (`--trace-addresses`; `--trace-bodies` shows them too) */
  traceAddresses?: boolean;
  /** print the live state (per user sockets, peers, sinks; client totals beside the server's) on SIGUSR2, and on a key press when stdin is a TTY */
  liveState?: { write(text: string): void; stdin?: NodeJS.ReadStream | null };
  /** abort the run (Ctrl-C); the partial report is still built */
  signal?: AbortSignal;
  /** once a second while the run goes */
  onSample?(sample: TimelineSample, live: LiveState): void;
  /** swaps the leak detector (tests, workers) */
  leakDetectorFactory?(opts: Parameters<typeof createLeakDetector>[0]): LeakDetector;
}

export interface LiveState {
  phase: string;
  elapsedMs: number;
  users: number;
  errors: number;
}

const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/i.test(host);

/** The scenario after CLI overrides (a copy; the file's content stays as written in the report's path). */
function withOverrides(s: Scenario, o: RunOptions): Scenario {
  const out: Scenario = structuredClone(s);
  if (o.users !== undefined) out.users = o.users;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.settleMs !== undefined) out.settle = o.settleMs;
  // the default for chat, churn and soak phases without their own (README, --help): a phase's own duration stays
  if (o.durationMs !== undefined) out.duration = o.durationMs;
  if (o.faults?.length) out.bundledServer.faults = [...(out.bundledServer.faults ?? []), ...o.faults];
  if (o.serverHeartbeatMs !== undefined) out.bundledServer.heartbeatMs = o.serverHeartbeatMs;
  return out;
}

/** The largest closed-model user count any phase asks for: open-model arrivals get indices above it. */
function closedUsers(s: Scenario): number {
  let n = s.users;
  const visit = (p: PhaseConfig) => {
    if (p.type === 'connect' && p.users) n = Math.max(n, p.users);
    if (p.type === 'soak') p.cycle.forEach(visit);
  };
  s.phases.forEach(visit);
  return n;
}

/** Refuses contradictory options up front, one line each. */
function checkOptions(o: RunOptions): void {
  if (o.target) {
    if (o.faults?.length) throw new MbError('MB_ERR_USAGE', '--fault only applies to the bundled server: drop --target or the fault');
    if (o.serverHeartbeatMs !== undefined) throw new MbError('MB_ERR_USAGE', '--server-heartbeat-ms only applies to the bundled server: drop --target or the option');
    let u: URL;
    try {
      u = new URL(o.target);
    } catch {
      throw new MbError('MB_ERR_USAGE', `--target must be a URL such as http://127.0.0.1:8080, got '${o.target}'`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MbError('MB_ERR_USAGE', `--target must be http:// or https://, got '${o.target}'`);
    if (u.port && FETCH_BLOCKED_PORTS.has(Number(u.port))) throw new MbError('MB_ERR_USAGE', `--target port ${u.port} is one Node's fetch refuses to connect to (a "bad port" of the Fetch standard): serve the target on another port`);
  } else if (o.usersFile || o.credentials) {
    throw new MbError('MB_ERR_USAGE', '--users-file names accounts of an existing deployment: give its --target too');
  }
  for (const f of o.faults ?? []) if (!isFaultName(f)) throw new MbError('MB_ERR_USAGE', `--fault: unknown fault '${f}' (known: ${FAULT_NAMES.join(', ')})`);
  if (o.users !== undefined && (!Number.isInteger(o.users) || o.users < 1)) throw new MbError('MB_ERR_USAGE', `--users must be a positive integer, got ${o.users}`);
}

/** The owner user sets up this run's world: its servers, text and voice channels. */
async function setupWorld(env: ClientEnv, scenario: Scenario, shard: ShardInfo, owner: Credentials | null, password: string): Promise<World> {
  const http = new HttpClient(env);
  const username = owner?.username ?? `${shard.usernamePrefix}owner`;
  const pw = owner?.password ?? password;
  if (!owner) await http.register(username, pw, { user: -1, record: false }).catch((err) => {
    if ((err as { status?: number }).status !== 400) throw err;
  });
  const token = (await http.login(username, pw, { user: -1, record: false })).access_token;
  const me = await http.me(token, -1);
  const world: World = { owner: { index: -1, userId: me.id, username, token }, servers: [] };
  const { servers, textChannels, voiceChannels, maxVoiceUsers } = scenario.setup;
  for (let s = 0; s < servers; s++) {
    const created = await http.createServer(token, `${shard.usernamePrefix}server${s}`, -1);
    let detail = await http.getServer(token, created.id, -1);
    const texts = (detail.channels ?? []).filter((c) => c.type === 'text');
    const voices = (detail.channels ?? []).filter((c) => c.type === 'voice');
    for (let t = texts.length; t < textChannels; t++) await http.createTextChannel(token, created.id, `text-${t}`, t, -1);
    for (let v = voices.length; v < voiceChannels; v++) await http.createVoiceChannel(token, created.id, `voice-${v}`, v, maxVoiceUsers, -1);
    detail = await http.getServer(token, created.id, -1);
    const chans = [...(detail.channels ?? [])].sort((a, b) => a.position - b.position || a.id - b.id);
    world.servers.push({
      id: created.id,
      name: created.name,
      textChannelIds: chans.filter((c) => c.type === 'text').map((c) => c.id),
      voiceChannelIds: chans.filter((c) => c.type === 'voice').map((c) => c.id),
    });
  }
  return world;
}

/**
 * Runs a scenario to the end and returns its report. Usage errors (a bad scenario, a
 * contradictory option) throw before anything starts; everything after that, the target
 * unreachable, the server dying, an abort, ends in a report with status `incomplete`.
 */
export async function runScenario(o: RunOptions): Promise<Report> {
  const loaded = typeof o.scenario === 'string' ? loadScenario(o.scenario, o.cwd) : { scenario: o.scenario, path: null };
  checkOptions(o);
  const scenario = withOverrides(loaded.scenario, o);
  const thresholds: ThresholdSource[] = [...scenario.thresholds.map((expr) => ({ expr, source: 'scenario' as const })), ...(o.thresholds ?? []).map((expr) => ({ expr, source: 'cli' as const }))];
  for (const t of thresholds) parseThreshold(t.expr);
  const credentials = o.credentials ?? (o.usersFile ? readUsersFile(o.usersFile) : null);
  const shardArg = o.shard ?? { index: 0, count: 1 };
  const runTag = randomBytes(3).toString('hex');
  const shard: ShardInfo = { ...shardArg, usernamePrefix: `mb-${runTag}-s${shardArg.index}-` };
  const log = o.log ?? createLogger(o.logLevel ?? 'warn');
  const runId = randomUUID();
  const ownTracer = o.tracer ? null : await openTracer({ runId, file: o.traceFile, bodies: o.traceBodies, redactAddresses: !(o.traceAddresses || o.traceBodies), log });
  const tracer: Tracer = o.tracer ?? ownTracer!;

  const startedAt = clock.wall();
  const startMono = clock.now();
  const cpu0 = process.cpuUsage();
  let peakRss = process.memoryUsage.rss();
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(new MbError('MB_ERR_ABORTED', 'the run was interrupted'));
  if (o.signal?.aborted) onOuterAbort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = stop.signal;
  // every pending wait and request of every user listens to it
  setMaxListeners(0, signal);
  const metrics = new Metrics();
  const caps = new Capabilities(log);
  const deliveries = new DeliveryTracker(metrics, { keyPrefix: shard.usernamePrefix });
  let server: BundledServer | null = null;
  let leak: LeakDetector | null = null;
  let state: RunState | null = null;
  let sampler: TimelineSampler | null = null;
  let abortReason: string | null = null;
  let targetUrl = o.target ?? '(bundled)';
  let extStats = false;
  let serverConfig: StatsConfig | null = null;
  const bundledCfg = scenario.bundledServer;
  let removeLiveState: (() => void) | null = null;
  let worldReady = false;

  try {
    if (!o.target) {
      server = await startBundledServer({ ...bundledCfg, logLevel: o.logLevel === 'debug' ? 'debug' : undefined, onDied: (err) => stop.abort(err) });
      targetUrl = server.url;
      log.info('[Runner]', `bundled reference server pid ${server.pid} listening at ${server.url}`);
    }
    const url = new URL(targetUrl);
    const httpUrl = `${url.protocol}//${url.host}`;
    const wsUrl = `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}`;
    if (o.liveState) {
      removeLiveState = installLiveStateTrigger({
        getView: liveViewSource({ ledgers: () => (state?.allUsers() ?? []).map((u) => u.ledger), httpUrl, phase: () => state?.phase ?? 'setup', startedAt: startMono, signal }),
        write: o.liveState.write,
        stdin: o.liveState.stdin,
      });
    }
    try {
      const reading = await fetchStats(httpUrl, { signal, timeoutMs: 5000 });
      extStats = reading.ext;
      serverConfig = reading.stats.config ?? null;
    } catch (err) {
      if (isMbError(err) && err.code === 'MB_ERR_TARGET_UNREACHABLE') throw err;
      log.warn('[ChatService]', `no usable stats route (${(err as Error).message}): server-side counts are skipped`);
      caps.notes.push(`the target has no usable ${'/api/debug/websocket-stats'}: server-side counts and leak checks are limited`);
    }
    const env: ClientEnv = {
      httpUrl,
      wsUrl,
      metrics,
      tracer,
      log,
      iceServers: o.iceServers === undefined ? (o.target ? null : []) : o.iceServers,
      loopbackOnly: isLoopback(url.hostname),
      heartbeatMs: scenario.heartbeat,
      signal,
      events: {
        onSocketClosed: (user, rec) => {
          const ledger = state?.allUsers().find((u) => u.index === user.index)?.ledger;
          leak?.onSocketClosed(user.index, user.userId, rec, ledger);
        },
      },
    };
    if (o.leakCheck !== false) {
      const factory = o.leakDetectorFactory ?? createLeakDetector;
      leak = factory({
        httpUrl,
        settleMs: scenario.settle,
        tracer,
        log,
        signal,
        usernamePrefix: credentials ? undefined : shard.usernamePrefix,
        clientConfig: serverConfig ?? (o.target ? undefined : { heartbeat_ms: bundledCfg.heartbeatMs ?? 30_000, missed_pongs: bundledCfg.missedPongs ?? 2, max_per_user: bundledCfg.maxPerUser ?? 3, max_total: bundledCfg.maxTotal ?? 1000 }),
        users: () => state?.leakViews() ?? [],
      });
      await leak.start();
    }
    const ownerCreds = credentials ? (credentials[shard.index] ?? credentials[0]!) : null;
    state = new RunState({ scenario, rng: createRng(scenario.seed), target: { httpUrl, wsUrl, extStats, bundled: !o.target }, env, log, shard, leak, deliveries, caps, signal, credentials, firstFreeIndex: closedUsers(scenario) });
    const st = state;
    Object.assign(st.world, await setupWorld(env, scenario, shard, ownerCreds, `mb-${shard.usernamePrefix}-pw`));
    worldReady = true;
    sampler = new TimelineSampler({
      httpUrl,
      serverStats: extStats || serverConfig !== null || !caps.notes.length,
      users: () => st.allUsers(),
      online: () => st.onlineCount(),
      phase: () => st.phase,
      tracker: deliveries,
      metrics,
      signal,
      onSample: (s) => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        o.onSample?.(s, { phase: st.phase, elapsedMs: clock.now() - startMono, users: st.onlineCount(), errors: Object.entries(metrics.counterObject()).filter(([k]) => k.startsWith('errors.')).reduce((a, [, v]) => a + v, 0) });
      },
    });
    sampler.begin();
    for (const [i, phase] of scenario.phases.entries()) {
      st.phase = phase.name ?? `${phase.type}#${i}`;
      tracer.emit({ ev: 'phase', phase: st.phase });
      log.info('[Runner]', `phase ${st.phase}`);
      await dispatch(st, phase);
      if (phase.type !== 'soak') await st.checkpoint(`after ${st.phase}`);
    }
    st.phase = 'end';
    await deliveries.drain(2000, signal);
    await st.everyoneLeaves();
    await st.checkpoint('final', { final: true });
  } catch (err) {
    abortReason = signal.aborted && isMbError(signal.reason) ? signal.reason.message : isMbError(err) ? err.message : `internal error: ${(err as Error)?.stack ?? String(err)}`;
    // a 404 before the world exists: the URL points at something that is not a Miscord backend
    if (!worldReady && isMbError(err) && err.code === 'MB_ERR_PROTOCOL' && err.details?.status === 404) abortReason = `${targetUrl} does not look like a Miscord backend: ${abortReason}`;
    if (!signal.aborted) stop.abort(err);
    // the CLI's summary (or its one line under --quiet) says why; this is for the debug log
    log.info('[Runner]', `run stopped: ${abortReason}`);
  } finally {
    removeLiveState?.();
    o.signal?.removeEventListener('abort', onOuterAbort);
    if (state) await state.everyoneLeaves();
    await deliveries.drain(0);
    deliveries.flush();
    await sampler?.stop();
    await leak?.close().catch(() => {});
    await server?.close();
    if (ownTracer) {
      await ownTracer.close().catch(() => {});
      // a trace with holes must not pass for a whole one: say so even when the run went well
      const ts = ownTracer.stats();
      if (ts.error) log.warn('[Trace]', `the trace file ${o.traceFile} is incomplete: ${ts.error}${ts.dropped ? ` (${ts.dropped} events lost)` : ''}`);
      else if (ts.dropped) log.warn('[Trace]', `the trace file ${o.traceFile} lost ${ts.dropped} events: the disk did not keep up (trace.dropped lines mark where)`);
    }
  }

  const cpu = process.cpuUsage(cpu0);
  const users = state?.allUsers() ?? [];
  const eld = sampler?.eld;
  const histograms = { ...metrics.encodeHistograms(), ...(leak?.histograms() ?? {}) };
  return buildReport({
    runId,
    scenario: { name: scenario.name, description: scenario.description, path: loaded.path, seed: scenario.seed, config: scenario as unknown as Record<string, unknown> },
    target: { url: targetUrl, bundled: !o.target, extStats, config: leak?.serverConfig() ?? serverConfig },
    shards: [shard],
    startedAt,
    endedAt: clock.wall(),
    status: abortReason ? 'incomplete' : 'completed',
    abortReason,
    generator: {
      eventLoopDelayP99Ms: eld && eld.count > 0 ? eld.percentile(99) / 1e6 : 0,
      eventLoopDelayMaxMs: eld && eld.count > 0 ? eld.max / 1e6 : 0,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      peakRssBytes: Math.max(peakRss, process.memoryUsage.rss()),
      processes: 1,
      maxLoopDelayMs: o.maxLoopDelayMs ?? 200,
    },
    histograms,
    counters: metrics.counterObject(),
    timeline: sampler?.samples ?? [],
    ledger: ledgerTotals(users.map((u) => u.ledger)),
    voice: state?.voice ?? null,
    checkpoints: leak?.checkpoints() ?? [],
    findings: leak?.findings() ?? [],
    thresholds,
    notes: caps.notes,
  });
}

export { clientCounts };
