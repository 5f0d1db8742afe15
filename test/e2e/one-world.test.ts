import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mergeReports } from '../../src/report/merge.js';
import type { Report } from '../../src/report/schema.js';
import { benchRun as runCli, target } from './helpers.js';
import { built } from '../helpers/cli.js';

/**
 * The same test whatever the split: one process, `--workers 2`, and two `--shard` runs
 * merged, same seed, against one reference server, must make the same users, rooms and
 * messages, and count the same deliveries, with no finding on the clean server.
 */
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.json`, import.meta.url));

interface Splits {
  one: Report;
  workers: Report;
  shards: Report;
}

async function threeWays(scenario: string, url: string, tag: string): Promise<Splits> {
  const one = await runCli(scenario, url, ['--quiet']);
  const workers = await runCli(scenario, url, ['--quiet', '--workers', '2'], 60_000);
  const runId = `${tag}-${process.pid}-${Date.now().toString(36)}`;
  const parts = await Promise.all([0, 1].map((i) => runCli(scenario, url, ['--quiet', '--shard', `${i}/2`, '--run-id', runId], 60_000)));
  for (const r of [one, workers, ...parts]) expect(r.code, r.stderr).toBe(0);
  // each shard's own report counts only what stayed inside it: the merge adds what crossed
  for (const p of parts) expect(p.report.traffic?.keyPrefix).toBe(`mb-${runId}-`);
  return { one: one.report, workers: workers.report, shards: mergeReports(parts.map((p) => p.report)) };
}

const c = (r: Report, k: string) => r.counters[k] ?? 0;

/** What must not depend on the split at all: the users, the world's rooms, the messages, the outcome. */
function expectSameTest({ one, workers, shards }: Splits): void {
  for (const [how, r] of Object.entries({ one, workers, shards })) {
    expect(r.status, how).toBe('completed');
    expect(r.findings.map((f) => f.class), how).toEqual([]);
    expect(r.rates.deliveryRatio, how).toBe(1);
    expect(c(r, 'chat.lost'), how).toBe(0);
    expect(r.histograms['chat.deliver']!.count, how).toBe(c(r, 'chat.delivered'));
  }
  for (const [how, r] of Object.entries({ workers, shards })) {
    expect(r.ledger.users, how).toBe(one.ledger.users);
    expect(c(r, 'chat.sent'), how).toBe(c(one, 'chat.sent'));
    expect(c(r, 'http.register.attempts.ok'), how).toBe(c(one, 'http.register.attempts.ok'));
    expect(c(r, 'ws.attempts.chat.ok'), how).toBe(c(one, 'ws.attempts.chat.ok'));
    expect(c(r, 'ws.attempts.notifications.ok'), how).toBe(c(one, 'ws.attempts.notifications.ok'));
    // the deliveries between shards were joined in: without them a 2-way split counts about half
    expect(r.notes?.some((n) => /^deliveries across shards: [1-9]\d* of/.test(n)), how).toBe(true);
    expect(r.notes?.some((n) => /^clock offsets \(target − shard/.test(n)), how).toBe(true);
  }
}

describe('one world whatever the split', () => {
  built();
  it('chat in home channels: the same deliveries, exactly', async () => {
    const s = await target();
    const splits = await threeWays(fixture('split-chat'), s.url, 'chat');
    expectSameTest(splits);
    // everyone sits in its home channel the whole phase: who receives what is the seed's alone
    for (const r of [splits.workers, splits.shards]) {
      expect(c(r, 'chat.expected')).toBe(c(splits.one, 'chat.expected'));
      expect(c(r, 'chat.delivered')).toBe(c(splits.one, 'chat.delivered'));
      expect(c(r, 'chat.excused')).toBe(0);
    }
  }, 120_000);

  it.each([
    ['split-smoke', 'smoke'],
    ['split-hop', 'hop'],
  ] as const)('%s: the same users, rooms and messages; deliveries within the bound switching allows', async (name, tag) => {
    const s = await target();
    {
      const splits = await threeWays(fixture(name), s.url, tag);
      expectSameTest(splits);
      const { one } = splits;
      for (const r of [splits.workers, splits.shards]) {
        // A message sent while other users hop is expected on the sockets subscribed to its
        // channel at that instant, so how many expect it depends on timing: in one process it
        // varies by under 1 % from run to run; split, the shards start each phase together
        // (within a 50 ms poll) but their hops and reconnect gaps still fall differently, and on
        // this shared 2-core machine the split runs expected up to 7 % fewer. Bound: 10 % (a
        // split without the join across shards counts about half).
        for (const k of ['chat.expected', 'chat.delivered']) expect(Math.abs(c(r, k) - c(one, k)) / c(one, k), `${name} ${k}`).toBeLessThan(0.1);
      }
      if (name === 'split-smoke') {
        // one voice room of 3 whatever the split (its members may sit in different shards)
        for (const r of [one, splits.workers, splits.shards]) {
          expect(new Set(r.voice!.rooms.map((x) => x.roomId)).size).toBe(1);
          expect(c(r, 'notifications.voice_channel_join')).toBe(c(one, 'notifications.voice_channel_join'));
          expect(c(r, 'voice.status.user_muted')).toBe(c(one, 'voice.status.user_muted'));
        }
      }
    }
  }, 180_000);
});
