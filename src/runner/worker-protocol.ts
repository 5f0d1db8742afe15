import type { Report, TimelineSample } from '../report/schema.js';
import type { LiveState, RunOptions } from './run-scenario.js';

/**
 * Messages between `run --workers N` and its children, over the fork IPC channel.
 * Only plain data crosses: the parent keeps signals, loggers and callbacks to itself, and
 * the bundled server's own options (it starts the one server every child runs against).
 */
export const PARENT_ONLY = ['log', 'tracer', 'liveState', 'signal', 'onSample', 'leakDetectorFactory', 'faults', 'serverHeartbeatMs', 'shard'] as const satisfies ReadonlyArray<keyof RunOptions>;

/** Every other run option crosses as it was given (a new option reaches the children without a line here). */
export type WorkerRunOptions = Omit<RunOptions, (typeof PARENT_ONLY)[number]> & {
  shard: { index: number; count: number };
  /** print this shard's live state on stderr on SIGUSR2 (the parent forwards its own) */
  liveState?: boolean;
};

/** The options a child runs with, less its shard (and its trace file): the parent's, less PARENT_ONLY. */
export function workerOptions(o: RunOptions): Omit<WorkerRunOptions, 'shard'> {
  const out: Record<string, unknown> = { ...o };
  for (const k of PARENT_ONLY) delete out[k];
  return { ...(out as Omit<WorkerRunOptions, 'shard' | 'liveState'>), liveState: !!o.liveState };
}

export type ToWorker = { type: 'start'; options: WorkerRunOptions } | { type: 'abort' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'sample'; sample: TimelineSample; live: LiveState }
  | { type: 'report'; report: Report }
  | { type: 'error'; code: string | null; message: string };
