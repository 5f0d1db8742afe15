import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, timedSignal } from '../../src/client/http-client.js';
import { createReferenceServer, type ReferenceServer } from '../../src/server/index.js';
import { testEnv } from './test-env.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap after full collections, per call of `fn`, over `n` calls. */
async function heapPerCall(n: number, fn: () => void): Promise<number> {
  const settle = async () => {
    for (let i = 0; i < 3; i++) (gc(), await new Promise((r) => setImmediate(r)));
    return process.memoryUsage().heapUsed;
  };
  const before = await settle();
  for (let i = 0; i < n; i++) fn();
  return ((await settle()) - before) / n;
}

describe('timedSignal', () => {
  it("aborts with its parent's reason, at once when the parent already had", () => {
    const parent = new AbortController();
    const live = timedSignal([parent.signal]);
    parent.abort(new Error('run stopped'));
    expect(live.signal.aborted).toBe(true);
    expect((live.signal.reason as Error).message).toBe('run stopped');
    expect(timedSignal([parent.signal]).signal.reason).toBe(parent.signal.reason);
  });

  it('aborts with a TimeoutError after its time, and never once disposed', async () => {
    const t = timedSignal([new AbortController().signal], 10);
    await new Promise((r) => t.signal.addEventListener('abort', r, { once: true }));
    expect((t.signal.reason as Error).name).toBe('TimeoutError');
    const kept = timedSignal([], 10);
    kept.dispose();
    const later = timedSignal([], 30);
    await new Promise((r) => later.signal.addEventListener('abort', r, { once: true }));
    expect(kept.signal.aborted).toBe(false);
  });

  it('leaves nothing on a long-lived parent once disposed (issue 18: the run signal of a soak)', async () => {
    const parent = new AbortController().signal;
    const perCall = await heapPerCall(20_000, () => timedSignal([parent], 60_000).dispose());
    expect(getEventListeners(parent, 'abort')).toHaveLength(0);
    // what it replaced, measured the same way in the same process: AbortSignal.any keeps a WeakRef per call on the parent
    const other = new AbortController().signal;
    const leaky = await heapPerCall(20_000, () => void AbortSignal.any([other, new AbortController().signal]));
    expect(leaky).toBeGreaterThan(20);
    expect(perCall).toBeLessThan(leaky / 2);
  });
});

describe('HttpClient', () => {
  let server: ReferenceServer;
  beforeAll(async () => {
    server = await createReferenceServer({ port: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("takes no listener from the run's signal past a request, answered or failed", async () => {
    const run = new AbortController();
    const env = testEnv(server.url, server.wsUrl, { signal: run.signal });
    const http = new HttpClient(env);
    for (let i = 0; i < 20; i++) await http.call('GET', '/health');
    await expect(http.login('nobody', 'wrong')).rejects.toMatchObject({ status: 401 });
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    run.abort(new Error('stopped'));
    await expect(http.call('GET', '/health')).rejects.toThrow('stopped');
  });
});
