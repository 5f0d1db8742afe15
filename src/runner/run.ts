import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { clock } from '../clock.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { DeliveryTracker } from '../client/delivery-tracker.js';
import type { Tracer } from '../trace/tracer.js';
import { openTracer, type RunTracer } from '../trace/run-tracer.js';
import type { LeakDetector } from '../leak/types.js';
import type { VoicePromises } from '../leak/voice-promises.js';
import { ChatPromises } from '../leak/chat-promises.js';
import type { RunOptions, RunPlan } from './run-plan.js';
import type { ShardInfo } from './run-context.js';
import { checkRunId, newRunId, worldPrefix } from './world.js';
import type { RunState } from './run-state.js';
import type { Target } from './target.js';
import type { TimelineSampler } from './timeline-sampler.js';
import type { watchTarget } from './target-watch.js';
import type { RestCanary } from './rest-canary.js';

/**
 * What every step of a run shares, made before anything can fail: who the run is, its
 * clock marks, its stop signal and its process-wide recorders. With it a report can always
 * be built, whatever was opened.
 */
export interface Run {
  readonly o: RunOptions;
  readonly plan: RunPlan;
  readonly runId: string;
  /** the id the world's names carry (--run-id, or a new one) */
  readonly worldId: string;
  /** every shard of the run joins the one world (--run-id given, or a single shard) */
  readonly sharedWorld: boolean;
  readonly shard: ShardInfo;
  readonly log: Logger;
  readonly tracer: Tracer;
  /** the tracer this run opened (and closes): none when the caller gave its own */
  readonly ownTracer: RunTracer | null;
  /** clock.wall() and clock.now() at the start, the process's CPU then */
  readonly startedAt: number;
  readonly startMono: number;
  readonly cpu0: NodeJS.CpuUsage;
  peakRss: number;
  /** aborted when the run stops: an interrupt, a lost target, a gate, a fatal error */
  readonly stop: AbortController;
  readonly metrics: Metrics;
  /** the chat protocol's promises, judged by the delivery accounting over what the users sent and received (none without the leak check) */
  readonly chatPromises: ChatPromises | undefined;
  readonly deliveries: DeliveryTracker;
  /** the phase running now (-1: setting up or ending) and since when: the live progress reads it */
  readonly phaseAt: { index: number; since: number };
  /** why the run ended early (null: it completed) */
  abortReason: string | null;
}

/** What a run has opened so far, each absent until its step ran; closeRun closes them in reverse. */
export interface RunParts {
  target?: Target;
  watch?: ReturnType<typeof watchTarget>;
  voicePromises?: VoicePromises;
  leak?: LeakDetector;
  state?: RunState;
  removeLiveState?: () => void;
  sampler?: TimelineSampler;
  canary?: RestCanary;
  /** the world's servers exist (a 404 before that means the URL is not a Miscord backend) */
  worldReady?: boolean;
}

/** The run's identity, clock marks, stop signal, tracer and recorders. */
export async function beginRun(o: RunOptions, plan: RunPlan): Promise<Run> {
  const shardArg = o.shard ?? { index: 0, count: 1 };
  // one world for every shard of a run, named by its run id; --shard without --run-id keeps a world of its own
  const sharedWorld = o.runId !== undefined || shardArg.count === 1;
  const worldId = o.runId !== undefined ? checkRunId(o.runId) : newRunId();
  const shard: ShardInfo = { ...shardArg, usernamePrefix: worldPrefix(worldId) };
  const log = o.log ?? createLogger(o.logLevel ?? 'warn');
  for (const why of plan.abort.skipped) log.warn('[Runner]', `--abort-on-fail: ${why}`);
  const runId = randomUUID();
  const ownTracer = o.tracer ? null : await openTracer({ runId, file: o.traceFile, bodies: o.traceBodies, redactAddresses: !(o.traceAddresses || o.traceBodies), log });
  const stop = new AbortController();
  // every pending wait and request of every user listens to it
  setMaxListeners(0, stop.signal);
  const metrics = new Metrics();
  const chatPromises = o.leakCheck !== false ? new ChatPromises() : undefined;
  return {
    o,
    plan,
    runId,
    worldId,
    sharedWorld,
    shard,
    log,
    tracer: o.tracer ?? ownTracer!,
    ownTracer,
    startedAt: clock.wall(),
    startMono: clock.now(),
    cpu0: process.cpuUsage(),
    peakRss: process.memoryUsage.rss(),
    stop,
    metrics,
    chatPromises,
    deliveries: new DeliveryTracker(metrics, { keyPrefix: shard.usernamePrefix, shard: shardArg, deadlineMs: plan.scenario.announceDeadline, promises: chatPromises }),
    phaseAt: { index: -1, since: clock.now() },
    abortReason: null,
  };
}
