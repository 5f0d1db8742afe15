import { afterEach, describe, expect, it } from 'vitest';
import { createReferenceServer, type ReferenceServer } from '../../src/server/index.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { setupWorld, checkRunId, phaseBarrier } from '../../src/runner/world.js';
import { isMbError } from '../../src/errors.js';
import { testEnv } from '../client/test-env.js';

const scenario = parseScenario({ name: 'w', description: 'world', users: 2, setup: { servers: 2, textChannels: 3, voiceChannels: 1 }, phases: [{ type: 'connect' }] });

let server: ReferenceServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start() {
  server = await createReferenceServer({ port: 0 });
  const url = new URL(server.url);
  return testEnv(`http://${url.host}`, `ws://${url.host}`);
}

describe('setupWorld: one world per run id, found by every shard', () => {
  it('a shard started before shard 0 waits for its world and finds the same servers and channels', async () => {
    const env = await start();
    const signal = new AbortController().signal;
    // shard 1 first: it polls until shard 0 has made the whole world
    const finding = setupWorld(env, scenario, { runId: 'r1', create: false, owner: null, signal, waitMs: 20_000 });
    const made = await setupWorld(env, scenario, { runId: 'r1', create: true, owner: null, signal });
    const found = await finding;
    expect(made.servers.map((s) => s.name)).toEqual(['mb-r1-server0', 'mb-r1-server1']);
    expect(made.servers.every((s) => s.textChannelIds.length === 3 && s.voiceChannelIds.length === 1)).toBe(true);
    expect(found.servers).toEqual(made.servers);
    expect(found.owner!.userId).toBe(made.owner!.userId);
  });

  it('gives up with a clear error when shard 0 never comes', async () => {
    const env = await start();
    const err = await setupWorld(env, scenario, { runId: 'nobody', create: false, owner: null, signal: new AbortController().signal, waitMs: 300 }).catch((e: unknown) => e);
    expect(isMbError(err) && err.code).toBe('MB_ERR_TARGET_UNREACHABLE');
    expect((err as Error).message).toMatch(/shard 0 of run nobody did not set up the world within 0 s \(the world's owner mb-nobody-owner does not exist yet\)/);
  });

  it('refuses a run id used before on the target, and a run id that cannot name accounts', async () => {
    const env = await start();
    const signal = new AbortController().signal;
    await setupWorld(env, scenario, { runId: 'again', create: true, owner: null, signal });
    const err = await setupWorld(env, scenario, { runId: 'again', create: true, owner: null, signal }).catch((e: unknown) => e);
    expect(isMbError(err) && err.code).toBe('MB_ERR_USAGE');
    expect((err as Error).message).toMatch(/run id again was used before on this target/);
    for (const bad of ['', 'a b', 'a|b', 'x'.repeat(41)]) expect(() => checkRunId(bad), bad).toThrow(/--run-id must be/);
  });

  it('phaseBarrier: the shards start a phase together, and one that never comes ends the waiting with a reason', async () => {
    const env = await start();
    const signal = new AbortController().signal;
    const world = await setupWorld(env, scenario, { runId: 'b1', create: true, owner: null, signal });
    const token = world.owner!.token;
    const shard = (index: number) => ({ index, count: 2 });
    let first: string | null | undefined;
    const waiting = phaseBarrier(env, { runId: 'b1', step: 0, shard: shard(0), token, signal, waitMs: 20_000 }).then((r) => (first = r));
    // shard 0 waits for shard 1: nothing settles until it comes
    await phaseBarrier(env, { runId: 'b1', step: 1, shard: shard(1), token, signal, waitMs: 200 });
    expect(first).toBeUndefined();
    expect(await phaseBarrier(env, { runId: 'b1', step: 0, shard: shard(1), token, signal, waitMs: 20_000 })).toBeNull();
    expect(await waiting).toBeNull();
    // step 2: shard 1 is there, shard 0 never comes
    const late = await phaseBarrier(env, { runId: 'b1', step: 2, shard: shard(1), token, signal, waitMs: 200 });
    expect(late).toMatch(/^shard 0 did not reach phase 3 within 0 s: the shards ran the rest unaligned$/);
  });
});
