import { MbError } from '../errors.js';
import type { Logger, LogLevel } from '../log.js';
import type { IceServer } from '../protocol/messages.js';
import type { Tracer } from '../trace/tracer.js';
import type { createLeakDetector } from '../leak/leak-detector.js';
import type { LeakDetector } from '../leak/types.js';
import { loadScenario, loadScenarioAsync, type LoadedScenario } from '../scenario/load-scenario.js';
import type { PhaseConfig, Scenario } from '../scenario/schema.js';
import { parseThreshold, type ParsedThreshold, type ThresholdSource } from '../report/gates.js';
import type { TimelineSample } from '../report/schema.js';
import type { Credentials } from './run-state.js';
import type { PlanFigures } from './phase-plan.js';
import type { MeasureFigures } from './live-measures.js';
import type { LiveStateHook } from './live-state.js';
import { readUsersFile } from './read-users-file.js';
import { checkTargetUrl, checkUserCount } from './option-checks.js';
import { abortGates, type AbortGate } from './abort-on-fail.js';
import { FAULT_NAMES, isFaultName } from '../server/faults.js';
import { checkFitsLimits, declaredLimits } from './limit-fit.js';
import { readUsersWorld, type UsersFile } from './provision.js';

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
  /** names the run's world and accounts (`mb-<runId>-…`): every shard given the same id shares one world */
  runId?: string;
  /** how long a shard other than 0 waits for shard 0's world (default 120 s) */
  worldWaitMs?: number;
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
  /** offers the live state (per user sockets, peers, sinks; client totals beside the server's): the CLI prints it on SIGUSR2 and on a key press when stdin is a TTY */
  liveState?: LiveStateHook;
  /** abort the run (Ctrl-C); the partial report is still built */
  signal?: AbortSignal;
  /** once a second while the run goes */
  onSample?(sample: TimelineSample, live: LiveState): void;
  /** finding classes whose check must have run (`--require-check`), else the run fails */
  requireChecks?: string[];
  /** the target's promised reap window for a silent socket (ms), used when it publishes no [ext] config */
  expectReapMs?: number;
  /** no answer to GET /health for this long ends the run as incomplete (default 15 s) */
  targetStallMs?: number;
  /** every threshold that can be judged during the run ends it once failed (`--abort-on-fail`); the scenario's `abortOnFail` adds its own */
  abortOnFail?: boolean;
  /** the window and minimum of samples of latency gates under abortOnFail (default 10 s, 50) */
  abortWindow?: { windowMs?: number; minSamples?: number };
  /** limits the target promises (`--expect-max-per-user`, `--expect-max-total`, `--expect-room-size`): the plan must fit them */
  expectMaxPerUser?: number;
  expectMaxTotal?: number;
  expectRoomSize?: number;
  /** swaps the leak detector (tests, workers) */
  leakDetectorFactory?(opts: Parameters<typeof createLeakDetector>[0]): LeakDetector;
}

export interface LiveState extends PlanFigures, MeasureFigures {
  phase: string;
  elapsedMs: number;
  users: number;
  errors: number;
}

/**
 * A run as it will go: the scenario with the options applied, its gates parsed, every
 * contradiction refused. `run`, `run --workers` and `validate` all make one, so what a run
 * refuses, validate refuses, with the same message, before anything starts.
 */
export interface RunPlan {
  loaded: Pick<LoadedScenario, 'scenario' | 'path'> & { display: string };
  /** the scenario after the options (a copy; the file stays as written) */
  scenario: Scenario;
  thresholds: ThresholdSource[];
  credentials: Credentials[] | null;
  /** the world a users file from `provision` holds (null: none, the run sets up its own) */
  world: UsersFile['world'];
  /** the largest closed-model user count any phase asks for: open-model arrivals get indices above it */
  closedUsers: number;
  /** the thresholds that may end the run early, and those --abort-on-fail cannot judge live (why) */
  abort: { gates: AbortGate[]; skipped: string[] };
}

export function planRun(o: RunOptions): RunPlan {
  const loaded = typeof o.scenario === 'string' ? loadScenario(o.scenario, o.cwd) : { scenario: o.scenario, path: null, display: '<scenario>' };
  return planLoaded(o, loaded);
}

/** planRun for every kind of scenario, scripted (`.mjs`) ones included: what run and validate use. */
export async function planRunAsync(o: RunOptions): Promise<RunPlan> {
  const loaded = typeof o.scenario === 'string' ? await loadScenarioAsync(o.scenario, o.cwd) : { scenario: o.scenario, path: null, display: '<scenario>' };
  return planLoaded(o, loaded);
}

function planLoaded(o: RunOptions, loaded: RunPlan['loaded']): RunPlan {
  checkOptions(o);
  const scenario = withOverrides(loaded.scenario, o);
  const thresholds: ThresholdSource[] = [
    ...scenario.thresholds.map((expr) => ({ expr, source: 'scenario' as const })),
    ...(o.thresholds ?? []).map((expr) => ({ expr, source: 'cli' as const })),
    // --require-check X: the run fails (exit 4) unless the check of class X was judged
    ...(o.requireChecks ?? []).map((cls) => ({ expr: `checks.${cls}==1`, source: 'cli' as const })),
  ];
  const closed = closedUsers(scenario);
  checkPhases(loaded.display, scenario, closed);
  for (const limits of declaredLimits(o, scenario)) checkFitsLimits(loaded.display, scenario, limits);
  const produced = producedBy(scenario, o.leakCheck !== false);
  for (const t of thresholds) checkProducible(t, parseThreshold(t.expr), produced, loaded.display);
  const credentials = o.credentials ?? (o.usersFile ? readUsersFile(o.usersFile) : null);
  const world = !o.credentials && o.usersFile ? readUsersWorld(o.usersFile) : null;
  return { loaded, scenario, thresholds, credentials, world, closedUsers: closed, abort: planAbort(loaded.display, scenario, thresholds, !!o.abortOnFail) };
}

/** The scenario after CLI overrides (a copy; the file's content stays as written in the report's path). */
function withOverrides(s: Scenario, o: RunOptions): Scenario {
  const out: Scenario = copyKeepingFunctions(s);
  if (o.users !== undefined) out.users = o.users;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.settleMs !== undefined) out.settle = o.settleMs;
  // the default for chat, churn and soak phases without their own (README, --help): a phase's own duration stays
  if (o.durationMs !== undefined) out.duration = o.durationMs;
  if (o.faults?.length) out.bundledServer.faults = [...(out.bundledServer.faults ?? []), ...o.faults];
  if (o.serverHeartbeatMs !== undefined) out.bundledServer.heartbeatMs = o.serverHeartbeatMs;
  // the limits a user declares are the ones a limits phase holds the target to, unless the phase names its own
  for (const p of out.phases) if (p.type === 'limits') (p.maxPerUser ??= o.expectMaxPerUser), (p.maxTotal ??= o.expectMaxTotal);
  return out;
}

const everyPhase = (s: Scenario): Array<{ phase: PhaseConfig; where: string }> =>
  s.phases.flatMap((p, i) => [{ phase: p, where: `phases[${i}]` }, ...(p.type === 'soak' ? p.cycle.map((c, j) => ({ phase: c as PhaseConfig, where: `phases[${i}].cycle[${j}]` })) : [])]);

function closedUsers(s: Scenario): number {
  let n = s.users;
  for (const { phase } of everyPhase(s)) if (phase.type === 'connect' && phase.users) n = Math.max(n, phase.users);
  return n;
}

/** A phase that needs more users than the scenario has would pull in users nobody asked for: refused. */
function checkPhases(display: string, s: Scenario, users: number): void {
  for (const { phase, where } of everyPhase(s)) {
    if (phase.type !== 'voice') continue;
    const need = phase.rooms * phase.usersPerRoom;
    if (need > users) throw new MbError('MB_ERR_SCENARIO_INVALID', `${display}: ${where}: needs ${need} users (rooms ${phase.rooms} × usersPerRoom ${phase.usersPerRoom}) but the scenario has ${users} (users): raise users or make the rooms smaller`);
  }
}

/** What each kind of phase records: a gate on anything else can never be judged. */
const HISTOGRAMS_BY_PHASE: Record<string, readonly string[]> = {
  connect: ['http.register', 'http.login', 'ws.connect.chat', 'ws.connect.notifications'],
  chat: ['chat.deliver', 'ws.ping_rtt', 'notifications.ping_rtt'],
  switch: ['chat.switch', 'chat.deliver', 'ws.connect.chat'],
  churn: ['http.register', 'http.login', 'ws.connect.chat', 'ws.connect.notifications', 'chat.deliver', 'chat.switch'],
  'multi-tab': ['ws.connect.chat', 'ws.connect.notifications', 'chat.deliver'],
  voice: ['http.register', 'http.login', 'voice.join', 'ws.connect.voice', 'webrtc.offer_answer', 'webrtc.connected', 'webrtc.first_audio', 'screen.first_frame'],
  ramp: ['http.register', 'http.login', 'ramp.connect.notifications', 'ramp.connect.chat', 'ramp.connect.voice', 'canary.http'],
};
const ALL_HISTOGRAMS = new Set([...Object.values(HISTOGRAMS_BY_PHASE).flat(), 'close_to_deregister', 'canary.http']);
/** failed attempts are recorded apart as <histogram>.<outcome> */
const OUTCOMES = ['refused', 'timed-out', 'error'];
const RATES = new Set(['deliveryRatio', 'lossRatio', 'errorRate', 'errors', 'refusals', 'messagesPerSec', 'deliveriesPerSec', 'reconnects']);
const MESSAGE_RATES = new Set(['deliveryRatio', 'lossRatio']);

function producedBy(s: Scenario, leakCheck: boolean): { histograms: Set<string>; messages: boolean; custom: boolean } {
  const histograms = new Set<string>([...(leakCheck ? ['close_to_deregister'] : []), ...(s.canary > 0 ? ['canary.http'] : [])]);
  let messages = false;
  let custom = false;
  for (const { phase } of everyPhase(s)) {
    // a script may do anything: send messages, record histograms of its own
    if (phase.type === 'custom') messages = custom = true;
    for (const h of HISTOGRAMS_BY_PHASE[phase.type] ?? []) histograms.add(h);
    if (phase.type === 'chat' || phase.type === 'churn' || phase.type === 'multi-tab' || (phase.type === 'switch' && phase.messagesPerSwitch > 0)) messages = true;
  }
  return { histograms, messages, custom };
}

function checkProducible(t: ThresholdSource, p: ParsedThreshold, produced: ReturnType<typeof producedBy>, display: string): void {
  const where = t.source === 'scenario' ? `${display}: thresholds: ` : '--threshold ';
  const refuse = (why: string) => {
    throw new MbError(t.source === 'scenario' ? 'MB_ERR_SCENARIO_INVALID' : 'MB_ERR_USAGE', `${where}'${t.expr}': ${why}`);
  };
  if (p.kind === 'rate') {
    if (!RATES.has(p.metric)) refuse(`no run produces rates.${p.metric} (rates: ${[...RATES].join(', ')})`);
    if (MESSAGE_RATES.has(p.metric) && !produced.messages) refuse(`rates.${p.metric} needs chat messages, and no phase of this scenario sends any`);
  }
  if (p.kind === 'histogram') {
    // a scripted phase records what it likes under custom.*
    if (p.metric.startsWith('custom.') && produced.custom) return;
    const outcome = OUTCOMES.find((o) => p.metric.endsWith(`.${o}`));
    const base = outcome ? p.metric.slice(0, -outcome.length - 1) : p.metric;
    if (!ALL_HISTOGRAMS.has(base)) refuse(`no run produces the histogram ${p.metric} (histograms: ${[...ALL_HISTOGRAMS].sort().join(', ')})`);
    if (!produced.histograms.has(base)) refuse(`no phase of this scenario records ${base}${base === 'close_to_deregister' ? ' (the leak check is off)' : ''}`);
  }
}

/** Refuses contradictory options up front, one line each. */
function checkOptions(o: RunOptions): void {
  if (o.target) {
    if (o.faults?.length) throw new MbError('MB_ERR_USAGE', '--fault only applies to the bundled server: drop --target or the fault');
    if (o.serverHeartbeatMs !== undefined) throw new MbError('MB_ERR_USAGE', '--server-heartbeat-ms only applies to the bundled server: drop --target or the option');
    checkTargetUrl(o.target);
  } else if (o.usersFile || o.credentials) {
    throw new MbError('MB_ERR_USAGE', '--users-file names accounts of an existing deployment: give its --target too');
  }
  for (const f of o.faults ?? []) if (!isFaultName(f)) throw new MbError('MB_ERR_USAGE', `--fault: unknown fault '${f}' (known: ${FAULT_NAMES.join(', ')})`);
  if (o.users !== undefined) checkUserCount(o.users);
}

/** Which gates may abort: all with --abort-on-fail or `abortOnFail: true`, else the ones the scenario names (each must be a threshold that can fail for good). */
function planAbort(display: string, s: Scenario, thresholds: ThresholdSource[], all: boolean): RunPlan['abort'] {
  const named = Array.isArray(s.abortOnFail) ? s.abortOnFail : [];
  const exprs = new Set(thresholds.map((t) => t.expr));
  for (const [i, e] of named.entries()) if (!exprs.has(e)) throw new MbError('MB_ERR_SCENARIO_INVALID', `${display}: abortOnFail[${i}]: '${e}' is not one of the thresholds (${[...exprs].join(', ') || 'none'})`);
  if (all || s.abortOnFail === true) {
    const r = abortGates(thresholds, 'all');
    if (!thresholds.length) r.skipped.push('the run has no thresholds: nothing can end it early (add --threshold)');
    return { gates: r.gates, skipped: r.skipped };
  }
  const r = abortGates(thresholds, new Set(named));
  if (r.refused.length) throw new MbError('MB_ERR_SCENARIO_INVALID', `${display}: abortOnFail: ${r.refused[0]}`);
  return { gates: r.gates, skipped: [] };
}

/** A deep copy of plain data that keeps functions (a scripted phase's `run`) as they are: structuredClone refuses them. */
function copyKeepingFunctions<T>(v: T): T {
  if (typeof v === 'function' || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copyKeepingFunctions) as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyKeepingFunctions(x)])) as T;
}
