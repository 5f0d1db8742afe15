import { describe, expect, it } from 'vitest';
import { PARENT_ONLY, workerOptions } from '../../src/runner/worker-protocol.js';
import type { RunOptions } from '../../src/runner/run-plan.js';
import { silentLogger } from '../../src/log.js';
import { createTracer } from '../../src/trace/run-tracer.js';

describe('the options a worker runs with', () => {
  const data: RunOptions = {
    scenario: 'smoke',
    cwd: '/tmp',
    target: 'http://127.0.0.1:9',
    users: 4,
    durationMs: 1000,
    seed: 3,
    usersFile: 'u.json',
    iceServers: [],
    settleMs: 100,
    thresholds: ['errors==0'],
    requireChecks: ['zombie-socket'],
    leakCheck: false,
    maxLoopDelayMs: 300,
    logLevel: 'info',
    traceFile: 't.ndjson',
    traceBodies: true,
    traceAddresses: true,
    expectReapMs: 5000,
    targetStallMs: 2000,
    abortOnFail: true,
    abortWindow: { windowMs: 500 },
    expectMaxPerUser: 3,
    expectMaxTotal: 30,
    expectRoomSize: 5,
  };

  it('are every option of the parent but those that stay with it, as plain data', () => {
    const parentOnly: RunOptions = {
      ...data,
      log: silentLogger,
      tracer: createTracer(),
      liveState: () => () => {},
      signal: new AbortController().signal,
      onSample: () => {},
      leakDetectorFactory: () => {
        throw new Error('unused');
      },
      faults: ['zombie-socket'],
      serverHeartbeatMs: 100,
      shard: { index: 0, count: 2 },
    };
    const w = workerOptions(parentOnly);
    expect(w).toEqual({ ...data, liveState: true });
    for (const k of PARENT_ONLY) if (k !== 'liveState') expect(w).not.toHaveProperty(k);
    // what crosses the IPC channel must survive a structured clone unchanged
    expect(structuredClone(w)).toEqual(w);
    expect(workerOptions(data).liveState).toBe(false);
  });
});
