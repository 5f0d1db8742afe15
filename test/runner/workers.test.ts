import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { runWithWorkers } from '../../src/runner/workers.js';
import type { TimelineSample } from '../../src/report/schema.js';

const ENTRY = fileURLToPath(new URL('../../dist/cli/worker-entry.js', import.meta.url));
const PARENT = fileURLToPath(new URL('./fixtures/workers-parent.mjs', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../../schema/report.schema.json', import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves once `cond` holds, checking on an interval; rejects after `ms`. */
function until(cond: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(t);
        reject(new Error(`condition not met within ${ms} ms`));
      }
    }, 50);
  });
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let dir: string;
let tiny: string;
let long: string;
beforeAll(async () => {
  if (!existsSync(ENTRY)) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test does) before the workers tests');
  dir = await mkdtemp(join(tmpdir(), 'mb-workers-'));
  const base = { seed: 3, setup: { servers: 1, textChannels: 2, voiceChannels: 0 }, settle: 500 };
  tiny = join(dir, 'tiny.json');
  await writeFile(
    tiny,
    JSON.stringify({
      name: 'tiny',
      description: 'four users chat briefly',
      users: 4,
      thresholds: ['rates.deliveryRatio>=1'],
      ...base,
      phases: [{ type: 'connect', rampUp: 100 }, { type: 'chat', duration: 1500, messagesPerUserPerSec: 4, pingEvery: 500 }, { type: 'disconnect' }],
    }),
  );
  long = join(dir, 'long.json');
  await writeFile(long, JSON.stringify({ name: 'long', description: 'idles a long while', users: 2, ...base, phases: [{ type: 'connect' }, { type: 'idle', duration: '2m' }, { type: 'disconnect' }] }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runWithWorkers', () => {
  it('runs one shard per child process and merges their reports into one judged report', async () => {
    const server = await createReferenceServer({ port: 0 });
    cleanups.push(() => server.close());
    const samples: TimelineSample[] = [];
    const pids: number[] = [];
    const report = await runWithWorkers({ scenario: tiny, target: server.url, onSample: (s) => samples.push(s) }, 2, { entry: ENTRY, onSpawn: (_, pid) => pids.push(pid) });
    expect(report.abortReason).toBeNull();
    expect(report.status).toBe('completed');
    expect(report.shards.map((s) => `${s.index}/${s.count}`)).toEqual(['0/2', '1/2']);
    // one world: both shards' accounts and servers carry the parent's run id
    expect(report.shards[0]!.usernamePrefix).toMatch(/^mb-[0-9a-f]{6}-$/);
    expect(report.shards[1]!.usernamePrefix).toBe(report.shards[0]!.usernamePrefix);
    expect(report.ledger.users).toBe(4);
    expect(report.generator.processes).toBe(2);
    expect(report.rates.deliveryRatio).toBe(1);
    expect(report.histograms['chat.deliver']!.count).toBe(report.counters['chat.delivered']);
    expect(report.gates.map((g) => [g.name, g.passed])).toEqual([['rates.deliveryRatio>=1', true]]);
    expect(report.verdict.exitCode).toBe(0);
    expect(report.target.bundled).toBe(false);
    // progress came from the children, summed across them
    expect(samples.length).toBeGreaterThan(0);
    expect(Math.max(...samples.map((s) => s.users))).toBe(4);
    // every child is gone once the run returns
    expect(pids).toHaveLength(2);
    expect(pids.filter(alive)).toEqual([]);
    // a real merged report satisfies the published JSON Schema
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(SCHEMA, 'utf8'))));
    validate(JSON.parse(JSON.stringify(report)));
    expect(validate.errors ?? []).toEqual([]);
  });

  it('stops the children when the run is aborted and returns an incomplete report', async () => {
    const server = await createReferenceServer({ port: 0 });
    cleanups.push(() => server.close());
    const abort = new AbortController();
    const pids: number[] = [];
    const report = await runWithWorkers(
      {
        scenario: long,
        target: server.url,
        leakCheck: false,
        signal: abort.signal,
        // abort once both shards are running: their first samples prove it
        onSample: (s) => {
          if (s.users >= 2) abort.abort();
        },
      },
      2,
      { entry: ENTRY, graceMs: 10_000, onSpawn: (_, pid) => pids.push(pid) },
    );
    expect(report.status).toBe('incomplete');
    expect(report.abortReason).toMatch(/interrupted/);
    expect(report.verdict.exitCode).toBe(3);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('refuses --shard together with workers', async () => {
    await expect(runWithWorkers({ scenario: tiny, shard: { index: 0, count: 2 } }, 2, { entry: ENTRY })).rejects.toMatchObject({ code: 'MB_ERR_USAGE' });
    await expect(runWithWorkers({ scenario: tiny }, 0, { entry: ENTRY })).rejects.toMatchObject({ code: 'MB_ERR_USAGE' });
  });

  it('children exit when their parent dies', async () => {
    const server = await createReferenceServer({ port: 0 });
    cleanups.push(() => server.close());
    const parent = spawn(process.execPath, [PARENT, long, server.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void (parent.exitCode === null && parent.kill('SIGKILL')));
    const pids: number[] = [];
    const lines = createInterface({ input: parent.stdout! });
    await new Promise<void>((resolve) =>
      lines.on('line', (l) => {
        const m = /^child \d+ (\d+)$/.exec(l);
        if (m) pids.push(Number(m[1]));
        if (pids.length === 2) resolve();
      }),
    );
    cleanups.push(() => pids.forEach((p) => alive(p) && process.kill(p, 'SIGKILL')));
    expect(pids.every(alive)).toBe(true);
    parent.kill('SIGKILL');
    await until(() => pids.every((p) => !alive(p)), 20_000);
  });
});
