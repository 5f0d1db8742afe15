import type { Report, TimelineSample } from '../report/schema.js';
import type { LiveState, RunOptions } from './run-scenario.js';

/**
 * Messages between `run --workers N` and its children, over the fork IPC channel.
 * Only plain data crosses: the parent keeps signals, loggers and callbacks to itself.
 */
export type WorkerRunOptions = Pick<
  RunOptions,
  'scenario' | 'cwd' | 'target' | 'users' | 'runId' | 'worldWaitMs' | 'durationMs' | 'seed' | 'usersFile' | 'credentials' | 'iceServers' | 'settleMs' | 'targetStallMs' | 'expectReapMs' | 'thresholds' | 'requireChecks' | 'leakCheck' | 'maxLoopDelayMs' | 'logLevel' | 'traceFile' | 'traceBodies' | 'traceAddresses' | 'abortOnFail' | 'expectMaxPerUser' | 'expectMaxTotal' | 'expectRoomSize'
> & {
  shard: { index: number; count: number };
  /** print this shard's live state on stderr on SIGUSR2 (the parent forwards its own) */
  liveState?: boolean;
};

export type ToWorker = { type: 'start'; options: WorkerRunOptions } | { type: 'abort' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'sample'; sample: TimelineSample; live: LiveState }
  | { type: 'report'; report: Report }
  | { type: 'error'; code: string | null; message: string };
