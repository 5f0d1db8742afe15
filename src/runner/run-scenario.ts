import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { clock } from '../clock.js';
import { MbError, isMbError } from '../errors.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { fetchStats } from '../client/stats-client.js';
import { DeliveryTracker } from '../client/delivery-tracker.js';
import { Capabilities } from '../client/capabilities.js';
import type { ClientEnv } from '../client/client-env.js';
import type { StatsConfig } from '../protocol/messages.js';
import type { Tracer } from '../trace/tracer.js';
import { openTracer } from '../trace/create-tracer.js';
import { createLeakDetector } from '../leak/leak-detector.js';
import type { LeakDetector } from '../leak/types.js';
import { buildReport } from '../report/build-report.js';
import type { GateAbort, Report } from '../report/schema.js';
import { startBundledServer, type BundledServer } from './bundled-server.js';
import { createRng } from './rng.js';
import { RunState } from './run-state.js';
import { TimelineSampler, clientCounts } from './timeline-sampler.js';
import { dispatch } from './phase-registry.js';
import { ledgerTotals } from './ledger-totals.js';
import type { ShardInfo } from './run-context.js';
import { checkRunId, newRunId, phaseBarrier, setupWorld, worldPrefix } from './world.js';
import { installLiveStateTrigger, liveViewSource } from './live-state.js';
import { watchTarget } from './target-watch.js';
import { VoicePromises } from '../leak/voice-promises.js';
import { planRunAsync, type LiveState, type RunOptions } from './run-plan.js';
import { liveProgress, planPhases } from './phase-plan.js';
import { liveMeasures } from './live-measures.js';
import { GateWatch } from './abort-on-fail.js';
import { checkTargetLimits } from './limit-fit.js';
import { phaseFindings } from './phase-findings.js';
import { provisionedWorld } from './provisioned-world.js';
import { startRestCanary, type RestCanary } from './rest-canary.js';

export type { LiveState, RunOptions };

const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/i.test(host);

/**
 * Runs a scenario to the end and returns its report. Usage errors (a bad scenario, a
 * contradictory option) throw before anything starts; everything after that, the target
 * unreachable, the server dying, an abort, ends in a report with status `incomplete`.
 */
export async function runScenario(o: RunOptions): Promise<Report> {
  const plan = await planRunAsync(o);
  const { loaded, scenario, thresholds, credentials } = plan;
  const gateWatch = plan.abort.gates.length ? new GateWatch(plan.abort.gates, o.abortWindow) : null;
  await checkTargetLimits(loaded.display, scenario, o.target, o.signal);
  const shardArg = o.shard ?? { index: 0, count: 1 };
  // one world for every shard of a run, named by its run id; --shard without --run-id keeps a world of its own
  const sharedWorld = o.runId !== undefined || shardArg.count === 1;
  const worldId = o.runId !== undefined ? checkRunId(o.runId) : newRunId();
  const shard: ShardInfo = { ...shardArg, usernamePrefix: worldPrefix(worldId) };
  const log = o.log ?? createLogger(o.logLevel ?? 'warn');
  for (const why of plan.abort.skipped) log.warn('[Runner]', `--abort-on-fail: ${why}`);
  const runId = randomUUID();
  const ownTracer = o.tracer ? null : await openTracer({ runId, file: o.traceFile, bodies: o.traceBodies, redactAddresses: !(o.traceAddresses || o.traceBodies), log });
  const tracer: Tracer = o.tracer ?? ownTracer!;

  const startedAt = clock.wall();
  const startMono = clock.now();
  const cpu0 = process.cpuUsage();
  let peakRss = process.memoryUsage.rss();
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(isMbError(o.signal?.reason) ? o.signal.reason : new MbError('MB_ERR_ABORTED', 'the run was interrupted'));
  if (o.signal?.aborted) onOuterAbort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = stop.signal;
  // every pending wait and request of every user listens to it
  setMaxListeners(0, signal);
  const metrics = new Metrics();
  const caps = new Capabilities(log);
  const deliveries = new DeliveryTracker(metrics, { keyPrefix: shard.usernamePrefix, shard: shardArg });
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
  let watch: ReturnType<typeof watchTarget> | null = null;
  let voicePromises: VoicePromises | null = null;
  const about: string[] = [];
  let worldReady = false;
  const phasePlan = planPhases(scenario);
  let phaseAt = { index: -1, since: clock.now() };
  let canary: RestCanary | null = null;

  try {
    // interrupted before it began (while the CLI loaded): nothing to start, an empty partial report
    if (signal.aborted) throw signal.reason;
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
    // from here a target that dies, stalls or restarts ends the run (exit 3), however the users fare
    watch = watchTarget({ httpUrl, signal, stallMs: o.targetStallMs, onLost: (err) => stop.abort(err) });
    // the voice protocol's promises, judged over what the users did and received
    voicePromises = new VoicePromises({ deadlineMs: scenario.announceDeadline, reapWindowMs: () => leak?.reapWindowMs() ?? null });
    const vp = voicePromises;
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
        onVoice: vp.onEvent,
        onSocketClosed: (user, rec) => {
          const ledger = state?.ledgerOf(user.index);
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
        voicePromises: vp,
        expectReapMs: o.expectReapMs,
        // ICE on a loaded machine can take seconds: a pair unconnected this long after both joined is judged
        meshGraceMs: Math.max(5000, 2 * scenario.announceDeadline),
        presence: { serverIds: () => state?.world.servers.map((s) => s.id) ?? [], token: () => state?.world.owner?.token ?? null, graceMs: scenario.announceDeadline + scenario.settle },
      });
      await leak.start();
      const reap = leak.reapWindowMs();
      const from = serverConfig?.heartbeat_ms ? "the target's [ext] config" : !o.target ? "the bundled server's options" : o.expectReapMs !== undefined ? '--expect-reap-ms' : null;
      about.push(from ? `reap window for silent sockets: ${reap} ms, from ${from}` : 'reap window for silent sockets unknown (no [ext] config, no --expect-reap-ms): frozen-not-reaped, crash announcements and stale presence of silent users are not judged');
    }
    const ownerCreds = credentials ? ((sharedWorld ? null : credentials[shard.index]) ?? credentials[0]!) : null;
    if (!sharedWorld) caps.notes.push(`shard ${shard.index}/${shard.count} set up a world of its own (no --run-id): its users meet only each other; give every shard the same --run-id to share one world`);
    state = new RunState({ scenario, rng: createRng(scenario.seed), target: { httpUrl, wsUrl, extStats, bundled: !o.target }, env, log, shard, leak, deliveries, caps, signal, credentials, firstFreeIndex: plan.closedUsers });
    const st = state;
    const given = plan.world ? await provisionedWorld(env, scenario, plan.world) : null;
    if (given?.why) caps.notes.push(`the users file's world does not fit the scenario (${given.why}): the run sets up its own`);
    Object.assign(st.world, given?.world ?? (await setupWorld(env, scenario, { runId: worldId, create: !sharedWorld || shard.index === 0, owner: ownerCreds, waitMs: o.worldWaitMs, signal })));
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
        const hit = signal.aborted ? null : gateWatch?.check({ elapsedMs: clock.now() - startMono, histograms: metrics.histograms, counters: metrics.counterObject(), findings: leak?.findings() ?? [] });
        if (hit) stop.abort(new MbError('MB_ERR_GATE_ABORT', `threshold '${hit.gate}' failed during the run: ${hit.reason}`, { abortedBy: hit }));
        o.onSample?.(s, {
          phase: st.phase,
          elapsedMs: clock.now() - startMono,
          users: st.onlineCount(),
          errors: Object.entries(metrics.counterObject()).filter(([k]) => k.startsWith('errors.')).reduce((a, [, v]) => a + v, 0),
          ...liveProgress(metrics, phasePlan, phaseAt),
          ...liveMeasures(metrics, leak?.findings() ?? []),
        });
      },
    });
    sampler.begin();
    // REST failures under socket load show up in any run, not only in a ramp
    const canaryToken = st.world.owner?.token;
    if (scenario.canary > 0 && canaryToken) canary = startRestCanary({ httpUrl, token: canaryToken, everyMs: scenario.canary, metrics, signal });
    // the shards of one world start every phase together, as one process does
    let alignWith = sharedWorld && shard.count > 1 ? (st.world.owner?.token ?? null) : null;
    for (const [i, phase] of scenario.phases.entries()) {
      const late = alignWith ? await phaseBarrier(env, { runId: worldId, step: i, shard, token: alignWith, waitMs: o.worldWaitMs, signal }) : null;
      if (late) (caps.notes.push(late), (alignWith = null));
      phaseAt = { index: i, since: clock.now() };
      st.phase = phase.name ?? `${phase.type}#${i}`;
      tracer.emit({ ev: 'phase', phase: st.phase });
      log.info('[Runner]', `phase ${st.phase}`);
      await dispatch(st, phase);
      if (phase.type !== 'soak') await st.checkpoint(`after ${st.phase}`);
    }
    phaseAt = { index: -1, since: clock.now() };
    st.phase = 'end';
    await deliveries.drain(2000, signal);
    await st.everyoneLeaves();
    await st.checkpoint('final', { final: true });
    // a target that died after the last phase: the final counts were not read from it
    const lost = await watch.confirm();
    if (lost) throw lost;
  } catch (err) {
    abortReason = signal.aborted && isMbError(signal.reason) ? signal.reason.message : isMbError(err) ? err.message : `internal error: ${(err as Error)?.stack ?? String(err)}`;
    // a 404 before the world exists: the URL points at something that is not a Miscord backend
    if (!worldReady && isMbError(err) && err.code === 'MB_ERR_PROTOCOL' && err.details?.status === 404) abortReason = `${targetUrl} does not look like a Miscord backend: ${abortReason}`;
    if (!signal.aborted) stop.abort(err);
    // the CLI's summary (or its one line under --quiet) says why; this is for the debug log
    log.info('[Runner]', `run stopped: ${abortReason}`);
  } finally {
    // an interrupt that came after the last await that listens to it
    if (!abortReason && o.signal?.aborted) abortReason = isMbError(o.signal.reason) ? o.signal.reason.message : 'the run was interrupted';
    removeLiveState?.();
    await canary?.stop();
    watch?.close();
    if (watch?.state.disabled) caps.notes.push(watch.state.disabled);
    o.signal?.removeEventListener('abort', onOuterAbort);
    if (state) await state.everyoneLeaves();
    await deliveries.drain(0);
    deliveries.flush();
    await sampler?.stop();
    await leak?.close().catch(() => {});
    voicePromises?.close();
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
    scenario: { name: scenario.name, description: scenario.description, path: loaded.path, seed: scenario.seed, config: JSON.parse(JSON.stringify(scenario)) as Record<string, unknown> },
    target: { url: targetUrl, bundled: !o.target, extStats, config: leak?.serverConfig() ?? serverConfig },
    shards: [shard],
    startedAt,
    endedAt: clock.wall(),
    status: abortReason ? 'incomplete' : 'completed',
    abortReason,
    abortedBy: isMbError(signal.reason) && signal.reason.code === 'MB_ERR_GATE_ABORT' ? (signal.reason.details?.abortedBy as GateAbort) : undefined,
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
    findings: [...(leak?.findings() ?? []), ...phaseFindings(state)],
    checks: leak?.checks(),
    about,
    thresholds,
    notes: caps.notes,
    traffic: deliveries.traffic?.record(),
  });
}

export { clientCounts };
