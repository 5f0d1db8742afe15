import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { clock } from '../clock.js';
import { MbError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { mergeReports } from '../report/merge.js';
import { combineSamples } from '../report/merge-timeline.js';
import { regate } from '../report/regate.js';
import type { Report, TimelineSample } from '../report/schema.js';
import { planRunAsync } from './run-plan.js';
import { PACKAGE_ROOT } from '../version.js';
import type { BundledServer } from './bundled-server.js';
import { iceServersFor, startBundled } from './target.js';
import { checkRunId, newRunId } from './world.js';
import type { LiveState, RunOptions } from './run-scenario.js';
import { combineMeasures } from './live-measures.js';
import { workerOptions, type FromWorker, type ToWorker } from './worker-protocol.js';

/**
 * `run --workers N` on one machine: N child processes (never worker threads: wrtc is a
 * native addon that must own its process), each running shard i/N of the same scenario and
 * seed against one target. Without --target the parent starts one bundled server for all of
 * them. Progress from the children is merged live; their reports are merged exactly and the
 * gates judged on the whole. Children are told to stop when the run is aborted, killed when
 * they do not, and see their IPC channel close (and stop) if the parent dies.
 */
export interface WorkersOptions {
  /** the child entry (the built worker-entry.js by default) */
  entry?: string;
  /** how long aborted children get to write their partial report before SIGKILL */
  graceMs?: number;
  /** told each child's pid as it starts (tests, live state) */
  onSpawn?(index: number, pid: number): void;
}

const DEFAULT_ENTRY = fileURLToPath(new URL('dist/cli/worker-entry.js', PACKAGE_ROOT));

interface Child {
  index: number;
  proc: ChildProcess;
  sample: TimelineSample | null;
  live: LiveState | null;
  report: Report | null;
  error: { code: string | null; message: string } | null;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function runWithWorkers(o: RunOptions, n: number, wo: WorkersOptions = {}): Promise<Report> {
  if (!Number.isInteger(n) || n < 1) throw new MbError('MB_ERR_USAGE', `--workers must be a positive integer, got ${n}`);
  if (o.shard) throw new MbError('MB_ERR_USAGE', '--workers splits the run into shards itself: drop --shard (or run each shard with --shard and no --workers)');
  if (typeof o.scenario !== 'string') throw new MbError('MB_ERR_USAGE', 'runWithWorkers takes a scenario name or path (children load it themselves)');
  // usage errors surface here, once, before anything is started: the checks each child's run makes
  const { scenario } = await planRunAsync(o);
  // one world for every child: shard 0 sets it up under this id, the others find it by it
  const runId = o.runId !== undefined ? checkRunId(o.runId) : newRunId();

  let server: BundledServer | null = null;
  const children: Child[] = [];
  const graceMs = wo.graceMs ?? 15_000;
  let died: string | null = null;
  const killAll = () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  };
  // a crash of the parent must not leave children behind (they also watch their IPC channel)
  process.once('exit', killAll);
  const onAbort = () => {
    for (const c of children) send(c, { type: 'abort' });
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  // live state on demand: each child prints its own slice (SIGUSR2 would otherwise end the parent)
  const forwardLiveState = () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGUSR2');
  };
  if (o.liveState) process.on('SIGUSR2', forwardLiveState);

  try {
    let target = o.target;
    if (!target) {
      // the plan's scenario carries --fault and --server-heartbeat-ms already
      server = await startBundled(scenario, o.logLevel, (err) => {
        died = err.message;
        onAbort();
      });
      target = server.url;
    }
    // the children run against the one target; the bundled server gets no ICE servers, as runScenario gives it
    const base = { ...workerOptions(o), target, runId, iceServers: iceServersFor(o.iceServers, !o.target) };
    for (let i = 0; i < n; i++) {
      const proc = fork(wo.entry ?? DEFAULT_ENTRY, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
      const child: Child = { index: i, proc, sample: null, live: null, report: null, error: null, exit };
      children.push(child);
      if (proc.pid !== undefined) wo.onSpawn?.(i, proc.pid);
      proc.on('error', (err) => (child.error ??= { code: null, message: err.message }));
      proc.on('message', (m: FromWorker) => {
        if (m.type === 'sample') {
          child.sample = m.sample;
          child.live = m.live;
          emitProgress(o, children);
        } else if (m.type === 'report') {
          child.report = m.report;
          // a gate that ended one shard ends the run: the others stop and write their partial reports
          if (m.report.abortedBy) onAbort();
        }
        else if (m.type === 'error') child.error = { code: m.code, message: m.message };
      });
      send(child, { type: 'start', options: { ...base, traceFile: o.traceFile ? `${o.traceFile}.s${i}` : undefined, shard: { index: i, count: n } } });
    }
    if (o.signal?.aborted) onAbort();
    await Promise.all(children.map((c) => waitOrKill(c, o.signal, graceMs)));
  } finally {
    process.off('SIGUSR2', forwardLiveState);
    o.signal?.removeEventListener('abort', onAbort);
    killAll();
    await Promise.all(children.map((c) => c.exit));
    process.off('exit', killAll);
    await server?.close();
  }

  const reports = children.map((c) => c.report).filter((r): r is Report => r !== null);
  const failed = children.filter((c) => !c.report);
  if (!reports.length) {
    const e = failed.find((c) => c.error)?.error;
    const code = e?.code && e.code in ERROR_CODES ? (e.code as ErrorCode) : 'MB_ERR_INTERNAL';
    throw new MbError(code, e ? `worker ${failed.find((c) => c.error)!.index}: ${e.message}` : 'every worker exited without a report');
  }
  let merged = mergeReports(reports);
  merged.target = { ...merged.target, bundled: !o.target };
  const problems = [...failed.map((c) => `worker ${c.index} gave no report${c.error ? `: ${c.error.message}` : ''}`), ...(died ? [`bundled server: ${died}`] : [])];
  if (problems.length) {
    merged.status = 'incomplete';
    merged.abortReason = [merged.abortReason, ...problems].filter(Boolean).join('; ');
  }
  merged.notes = [...(merged.notes ?? []), `run with --workers ${n}: ${reports.length} of ${n} shard reports merged`];
  merged = regate(merged);
  return merged;
}

function send(c: Child, m: ToWorker): void {
  if (c.proc.connected) c.proc.send(m, (err) => void err);
}

/** Waits for a child; once the run is aborted, gives it `graceMs` to finish its partial report. */
async function waitOrKill(c: Child, signal: AbortSignal | undefined, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = clock.setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
  };
  if (signal?.aborted) arm();
  else signal?.addEventListener('abort', arm, { once: true });
  await c.exit;
  clock.clearTimeout(timer);
  signal?.removeEventListener('abort', arm);
}

/** One live sample for the progress line: client figures summed, the shared server's taken once. */
function emitProgress(o: RunOptions, children: Child[]): void {
  if (!o.onSample) return;
  const samples = children.map((c) => c.sample).filter((s): s is TimelineSample => s !== null);
  const lives = children.map((c) => c.live).filter((l): l is LiveState => l !== null);
  if (!samples.length) return;
  const t = Math.max(...samples.map((s) => s.t));
  o.onSample(combineSamples(t, samples, 'max'), {
    phase: [...new Set(lives.map((l) => l.phase))].join('/'),
    elapsedMs: Math.max(...lives.map((l) => l.elapsedMs)),
    users: lives.reduce((a, l) => a + l.users, 0),
    errors: lives.reduce((a, l) => a + l.errors, 0),
    // the shards run the same plan; the slowest one says where the run is
    plan: lives[0]?.plan,
    phaseIndex: slowestPhase(lives),
    phaseElapsedMs: Math.min(...lives.map((l) => l.phaseElapsedMs ?? 0)),
    messages: lives.every((l) => l.messages)
      ? { sent: sum(lives, 'sent'), due: sum(lives, 'due'), delivered: sum(lives, 'delivered'), lost: sum(lives, 'lost') }
      : undefined,
    ...combineMeasures(lives),
  });
}

const sum = (lives: LiveState[], k: keyof NonNullable<LiveState['messages']>) => lives.reduce((a, l) => a + (l.messages?.[k] ?? 0), 0);
/** The lowest phase index any shard is in (-1 when none is in a phase: all setting up or ending). */
function slowestPhase(lives: LiveState[]): number {
  const inPhase = lives.map((l) => l.phaseIndex ?? -1).filter((i) => i >= 0);
  return inPhase.length ? Math.min(...inPhase) : -1;
}
