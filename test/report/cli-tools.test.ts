import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportSchema, type Report } from '../../src/report/schema.js';
import { latencies, makeReport } from './fixture.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
const f = (name: string) => join(dir, name);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mb-tools-'));
  const put = (name: string, r: Report) => writeFile(f(name), JSON.stringify(r));
  const thresholds = ['rates.deliveryRatio>=1', 'chat.deliver.p99<100ms'];
  await put('s0.json', makeReport({ shard: { index: 0, count: 2 }, thresholds, samples: { 'chat.deliver': latencies(200, 5, 20, 1) } }));
  await put('s1.json', makeReport({ shard: { index: 1, count: 2 }, thresholds, samples: { 'chat.deliver': latencies(200, 5, 20, 2) }, startedAt: '2026-01-01T00:00:01.000Z' }));
  await put('leaky.json', makeReport({ shard: { index: 1, count: 2 }, thresholds, findings: [{ class: 'zombie-socket' }] }));
  await put('broken.json', makeReport({ shard: { index: 1, count: 2 }, thresholds, status: 'incomplete' }));
  await put('churn.json', makeReport({ scenario: 'churn', shard: { index: 1, count: 2 } }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('merge, gate and report through the CLI', () => {
  it('merges shards into a valid report and gates it: 0, then 4 with a failing --threshold', async () => {
    const m = await runCli(['merge', f('s0.json'), f('s1.json'), '--out', f('merged.json')]);
    expect(m.code).toBe(0);
    expect(m.stderr).toContain('merged 2 reports (shards of one run) into');
    expect(m.stdout).toBe('');
    const merged = ReportSchema.parse(JSON.parse(await readFile(f('merged.json'), 'utf8')));
    expect(merged.histograms['chat.deliver']!.count).toBe(400);
    expect(merged.shards.map((s) => s.index)).toEqual([0, 1]);
    const ok = await runCli(['gate', f('merged.json')]);
    expect(ok.stderr).toMatch(/✓ rates.deliveryRatio>=1/);
    expect(ok.code).toBe(0);
    const bad = await runCli(['gate', f('merged.json'), '--threshold', 'chat.deliver.p99<1ms', '--json']);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/✗ chat.deliver.p99<1ms \(cli\): chat.deliver.p99 = [\d.]+ ms, over 1 ms/);
    expect(JSON.parse(bad.stdout).verdict).toMatchObject({ exitCode: 4, failedGates: 1 });
  });

  it('gate exits 5 on a leak in any shard and 3 when a shard was incomplete', async () => {
    await runCli(['merge', f('s0.json'), f('leaky.json'), '--out', f('m-leak.json')]);
    const leak = await runCli(['gate', f('m-leak.json')]);
    expect(leak.code).toBe(5);
    expect(leak.stderr).toContain('1 zombie-socket finding');
    await runCli(['merge', f('s0.json'), f('broken.json'), '--out', f('m-broken.json')]);
    expect((await runCli(['gate', f('m-broken.json')])).code).toBe(3);
  });

  it('refuses the same run twice with one MB_ERR_USAGE line, exit 2', async () => {
    const r = await runCli(['merge', f('s0.json'), f('s1.json'), f('s0.json'), '--out', f('twice.json')]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/s0\.json and .*s0\.json both hold run fixture-run-\d+: merging a run twice would count it twice.*MB_ERR_USAGE/);
  });

  it('refuses to merge different scenarios (exit 2) unless --force', async () => {
    const r = await runCli(['merge', f('s0.json'), f('churn.json'), '--out', f('x.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/churn.json is a run of scenario "churn".*--force/);
    expect((await runCli(['merge', f('s0.json'), f('churn.json'), '--out', f('x.json'), '--force'])).code).toBe(0);
  });

  it('report renders md on stdout and junit/html to files; a bad format is a usage error', async () => {
    const md = await runCli(['report', f('s0.json')]);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^## ✅ miscord-bench · smoke · passed/);
    const j = await runCli(['report', f('s0.json'), '--format', 'junit', '--out', f('out/junit.xml')]);
    expect(j.code).toBe(0);
    expect(await readFile(f('out/junit.xml'), 'utf8')).toMatch(/^<\?xml/);
    const h = await runCli(['report', f('s0.json'), '--format', 'html', '--out', f('out/r.html')]);
    expect(h.code).toBe(0);
    expect(await readFile(f('out/r.html'), 'utf8')).toMatch(/^<!doctype html>/);
    expect((await runCli(['report', f('s0.json'), '--format', 'pdf'])).code).toBe(2);
    expect((await runCli(['report', f('missing.json')])).code).toBe(2);
  });
});
