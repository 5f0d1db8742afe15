import { clock } from '../clock.js';
import { MbError, isMbError } from '../errors.js';
import type { ClientEnv } from '../client/client-env.js';
import type { UserLedger } from '../client/ledger.js';
import { createLeakDetector } from '../leak/leak-detector.js';
import type { LeakDetector } from '../leak/types.js';
import type { Report } from '../report/schema.js';
import { RunState } from './run-state.js';
import { TimelineSampler, clientCounts } from './timeline-sampler.js';
import { dispatch } from './phase-registry.js';
import { phaseBarrier, setupWorld } from './world.js';
import { liveViewSource } from './live-state.js';
import { watchTarget } from './target-watch.js';
import { VoicePromises } from '../leak/voice-promises.js';
import { planRunAsync, type LiveState, type RunOptions, type RunPlan } from './run-plan.js';
import { liveProgress, planPhases } from './phase-plan.js';
import { liveMeasures } from './live-measures.js';
import { GateWatch } from './abort-on-fail.js';
import { checkTargetLimits } from './limit-fit.js';
import { provisionedWorld } from './provisioned-world.js';
import { startRestCanary } from './rest-canary.js';
import { openTarget, type Target } from './target.js';
import { assembleReport } from './assemble-report.js';
import { beginRun, type Run, type RunParts } from './run.js';

export type { LiveState, RunOptions };

/**
 * Runs a scenario to the end and returns its report. Usage errors (a bad scenario, a
 * contradictory option) throw before anything starts; everything after that, the target
 * unreachable, the server dying, an abort, ends in a report with status `incomplete`.
 */
export async function runScenario(o: RunOptions): Promise<Report> {
  const plan = await planRunAsync(o);
  await checkTargetLimits(plan.loaded.display, plan.scenario, o.target, o.signal);
  const run = await beginRun(o, plan);
  const parts: RunParts = {};
  const onOuterAbort = () => run.stop.abort(isMbError(o.signal?.reason) ? o.signal.reason : new MbError('MB_ERR_ABORTED', 'the run was interrupted'));
  if (o.signal?.aborted) onOuterAbort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    // interrupted before it began (while the CLI loaded): nothing to start, an empty partial report
    if (run.stop.signal.aborted) throw run.stop.signal.reason;
    const target = (parts.target = await openRunTarget(run));
    // from here a target that dies, stalls or restarts ends the run (exit 3), however the users fare
    const watch = (parts.watch = watchTarget({ httpUrl: target.httpUrl, signal: run.stop.signal, stallMs: o.targetStallMs, onLost: (err) => run.stop.abort(err) }));
    // the voice protocol's promises, judged over what the users did and received
    const vp = (parts.voicePromises = new VoicePromises({ deadlineMs: plan.scenario.announceDeadline, reapWindowMs: () => target.reap.windowMs }));
    target.listen({ onWire: vp.onEvent });
    const ledgers = new Map<number, UserLedger>();
    if (o.leakCheck !== false) parts.leak = await openLeakDetector(run, target, vp, ledgers);
    const st = (parts.state = new RunState({ plan, target, ledgers, log: run.log, shard: run.shard, leak: parts.leak ?? null, deliveries: run.deliveries, signal: run.stop.signal }));
    if (o.liveState) parts.removeLiveState = installLiveState(o.liveState, st, run);
    await setUpRunWorld(st, run, target.env);
    parts.worldReady = true;
    parts.sampler = startSampler(run, st, target);
    // REST failures under socket load show up in any run, not only in a ramp
    const canaryToken = st.world.owner?.token;
    if (plan.scenario.canary > 0 && canaryToken) parts.canary = startRestCanary({ httpUrl: target.httpUrl, token: canaryToken, everyMs: plan.scenario.canary, metrics: run.metrics, signal: run.stop.signal });
    // the shards of one world start every phase together, as one process does
    const align = run.sharedWorld && run.shard.count > 1 && st.world.owner ? { runId: run.worldId, token: st.world.owner.token, waitMs: run.o.worldWaitMs } : null;
    await runPhases(st, run.phaseAt, align);
    // a target that died after the last phase: the final counts were not read from it
    const lost = await watch.confirm();
    if (lost) throw lost;
  } catch (err) {
    run.abortReason = whyStopped(err, run, parts);
  } finally {
    // an interrupt that came after the last await that listens to it
    if (!run.abortReason && o.signal?.aborted) run.abortReason = isMbError(o.signal.reason) ? o.signal.reason.message : 'the run was interrupted';
    o.signal?.removeEventListener('abort', onOuterAbort);
    await closeRun(run, parts);
  }
  return assembleReport(run, parts);
}

function openRunTarget(run: Run): Promise<Target> {
  const { o } = run;
  return openTarget({ url: o.target, scenario: run.plan.scenario, logLevel: o.logLevel, iceServers: o.iceServers, expectReapMs: o.expectReapMs, metrics: run.metrics, tracer: run.tracer, log: run.log, signal: run.stop.signal, onDied: (err) => run.stop.abort(err) });
}

/** The leak detector, its baseline read; it hears every socket close from now on. */
async function openLeakDetector(run: Run, target: Target, vp: VoicePromises, ledgers: ReadonlyMap<number, UserLedger>): Promise<LeakDetector> {
  const { o, plan } = run;
  const { scenario } = plan;
  const leak = (o.leakDetectorFactory ?? createLeakDetector)({
    httpUrl: target.httpUrl,
    settleMs: scenario.settle,
    tracer: run.tracer,
    log: run.log,
    signal: run.stop.signal,
    usernamePrefix: plan.credentials ? undefined : run.shard.usernamePrefix,
    clientConfig: target.assumedConfig,
    ledgers,
    voicePromises: vp,
    chatPromises: run.chatPromises,
    expectReapMs: o.expectReapMs,
    // ICE on a loaded machine can take seconds: a pair unconnected this long after both joined is judged
    meshGraceMs: Math.max(5000, 2 * scenario.announceDeadline),
    presence: { graceMs: scenario.announceDeadline + scenario.settle },
  });
  await leak.start();
  target.listen({ onSocketClosed: (user, rec) => leak.onSocketClosed(user.index, user.userId, rec) });
  return leak;
}

/** The CLI's live-state hook (SIGUSR2, a key on a terminal) gets the view of the users' sockets beside the server's. */
function installLiveState(live: NonNullable<RunOptions['liveState']>, st: RunState, run: Run): () => void {
  return live(liveViewSource({ ledgers: () => st.allUsers().map((u) => u.ledger), httpUrl: st.target.httpUrl, phase: () => st.phase, startedAt: run.startMono, signal: run.stop.signal }));
}

/** The world of a users file from `provision` when it fits the scenario, else the run's one world (shard 0 creates it, the others find it). */
async function setUpRunWorld(st: RunState, run: Run, env: ClientEnv): Promise<void> {
  const { scenario, credentials } = run.plan;
  const shard = st.shard;
  const ownerCreds = credentials ? ((run.sharedWorld ? null : credentials[shard.index]) ?? credentials[0]!) : null;
  if (!run.sharedWorld) st.caps.notes.push(`shard ${shard.index}/${shard.count} set up a world of its own (no --run-id): its users meet only each other; give every shard the same --run-id to share one world`);
  const given = run.plan.world ? await provisionedWorld(env, scenario, run.plan.world) : null;
  if (given?.why) st.caps.notes.push(`the users file's world does not fit the scenario (${given.why}): the run sets up its own`);
  Object.assign(st.world, given?.world ?? (await setupWorld(env, scenario, { runId: run.worldId, create: !run.sharedWorld || shard.index === 0, owner: ownerCreds, waitMs: run.o.worldWaitMs, signal: run.stop.signal })));
}

/** The timeline, one sample a second; each sample also feeds the live gates and the caller's progress. */
function startSampler(run: Run, st: RunState, target: Target): TimelineSampler {
  const { o, metrics } = run;
  const signal = run.stop.signal;
  const gateWatch = run.plan.abort.gates.length ? new GateWatch(run.plan.abort.gates, o.abortWindow) : null;
  const phasePlan = planPhases(st.scenario);
  const sampler = new TimelineSampler({
    httpUrl: target.httpUrl,
    serverStats: target.extStats || target.config !== null || !target.caps.notes.length,
    users: () => st.allUsers(),
    online: () => st.onlineCount(),
    phase: () => st.phase,
    tracker: run.deliveries,
    metrics,
    signal,
    onSample: (s) => {
      run.peakRss = Math.max(run.peakRss, process.memoryUsage.rss());
      const findings = st.leak?.findings() ?? [];
      const hit = signal.aborted ? null : gateWatch?.check({ elapsedMs: clock.now() - run.startMono, histograms: metrics.histograms, counters: metrics.counterObject(), findings });
      if (hit) run.stop.abort(new MbError('MB_ERR_GATE_ABORT', `threshold '${hit.gate}' failed during the run: ${hit.reason}`, { abortedBy: hit }));
      o.onSample?.(s, {
        phase: st.phase,
        elapsedMs: clock.now() - run.startMono,
        users: st.onlineCount(),
        errors: Object.entries(metrics.counterObject()).filter(([k]) => k.startsWith('errors.')).reduce((a, [, v]) => a + v, 0),
        ...liveProgress(metrics, phasePlan, run.phaseAt),
        ...liveMeasures(metrics, st.leak?.findings() ?? []),
      });
    },
  });
  sampler.begin();
  return sampler;
}

/**
 * Every phase of the scenario in order, a checkpoint after each (a soak takes its own, one
 * per cycle); then the last deliveries, everyone leaves, and the final checkpoint.
 */
export async function runPhases(st: RunState, at: { index: number; since: number } = { index: -1, since: 0 }, align: { runId: string; token: string; waitMs?: number } | null = null): Promise<void> {
  for (const [i, phase] of st.scenario.phases.entries()) {
    const late = align ? await phaseBarrier(st.env, { runId: align.runId, step: i, shard: st.shard, token: align.token, waitMs: align.waitMs, signal: st.signal }) : null;
    if (late) (st.caps.notes.push(late), (align = null));
    Object.assign(at, { index: i, since: clock.now() });
    st.phase = phase.name ?? `${phase.type}#${i}`;
    st.env.tracer.emit({ ev: 'phase', phase: st.phase });
    st.log.info('[Runner]', `phase ${st.phase}`);
    await dispatch(st, phase);
    if (phase.type !== 'soak') await st.checkpoint(`after ${st.phase}`);
  }
  Object.assign(at, { index: -1, since: clock.now() });
  st.phase = 'end';
  await st.deliveries.drain(2000, st.signal);
  await st.everyoneLeaves();
  await st.checkpoint('final', { final: true });
}

/** Why the run stopped, as the report says it; stops whatever still runs. */
function whyStopped(err: unknown, run: Run, parts: RunParts): string {
  const signal = run.stop.signal;
  let why = signal.aborted && isMbError(signal.reason) ? signal.reason.message : isMbError(err) ? err.message : `internal error: ${(err as Error)?.stack ?? String(err)}`;
  // a 404 before the world exists: the URL points at something that is not a Miscord backend
  if (!parts.worldReady && isMbError(err) && err.code === 'MB_ERR_PROTOCOL' && err.details?.status === 404) why = `${parts.target?.url ?? run.o.target ?? '(bundled)'} does not look like a Miscord backend: ${why}`;
  if (!signal.aborted) run.stop.abort(err);
  // the CLI's summary (or its one line under --quiet) says why; this is for the debug log
  run.log.info('[Runner]', `run stopped: ${why}`);
  return why;
}

/** Closes what the run opened, the users first and the target last; never throws. */
async function closeRun(run: Run, p: RunParts): Promise<void> {
  p.removeLiveState?.();
  await p.canary?.stop();
  p.watch?.close();
  if (p.watch?.state.disabled) p.target?.caps.notes.push(p.watch.state.disabled);
  if (p.state) await p.state.everyoneLeaves();
  await run.deliveries.drain(0);
  run.deliveries.flush();
  await p.sampler?.stop();
  await p.leak?.close().catch(() => {});
  p.voicePromises?.close();
  await p.target?.close();
  if (run.ownTracer) {
    await run.ownTracer.close().catch(() => {});
    // a trace with holes must not pass for a whole one: say so even when the run went well
    const ts = run.ownTracer.stats();
    const file = run.o.traceFile;
    if (ts.error) run.log.warn('[Trace]', `the trace file ${file} is incomplete: ${ts.error}${ts.dropped ? ` (${ts.dropped} events lost)` : ''}`);
    else if (ts.dropped) run.log.warn('[Trace]', `the trace file ${file} lost ${ts.dropped} events: the disk did not keep up (trace.dropped lines mark where)`);
  }
}

export { clientCounts };
