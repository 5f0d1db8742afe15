import { Chalk } from 'chalk';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareReports } from '../../src/report/compare.js';
import { renderCompareTable } from '../../src/report/compare-table.js';
import { parseRegressionRule, RuleSet } from '../../src/report/regression-rule.js';
import type { Report } from '../../src/report/schema.js';
import { latencies, makeReport } from './fixture.js';
import { runCli } from '../helpers/cli.js';

/** A run whose chat.deliver sits around `base` ms. */
const run = (base: number, seed: number, extra: Parameters<typeof makeReport>[0] = {}): Report =>
  makeReport({ samples: { 'chat.deliver': latencies(400, base, 10, seed), 'ws.connect.chat': latencies(50, 3, 1, seed) }, ...extra });

const row = (res: ReturnType<typeof compareReports>, metric: string) => res.rows.find((r) => r.metric === metric)!;

describe('regression rules', () => {
  it('parses relative, absolute and combined conditions', () => {
    expect(parseRegressionRule('chat.deliver.p99=+20%')).toMatchObject({ pattern: 'chat.deliver.p99', direction: 'up', relative: 0.2 });
    expect(parseRegressionRule('*.p99=+25%,+5ms')).toMatchObject({ relative: 0.25, absolute: 5 });
    expect(parseRegressionRule('x.p50=+0.5s')).toMatchObject({ absolute: 500 });
    expect(parseRegressionRule('rates.deliveryRatio=-0%')).toMatchObject({ direction: 'down', relative: 0 });
    expect(() => parseRegressionRule('chat.deliver.p99<20%')).toThrow(/--max-regression 'chat.deliver.p99<20%': missing METRIC=/);
    expect(() => parseRegressionRule('a=+5%,-1ms')).toThrow(/share one sign/);
    expect(() => parseRegressionRule('a=fast')).toThrow(/bad amount "fast"/);
  });

  it('an exact CLI rule beats a wildcard one, and CLI rules beat defaults', () => {
    const rs = new RuleSet(['*.p99=+50%', 'chat.deliver.p99=+10%']);
    expect(rs.ruleFor('chat.deliver.p99')!.text).toBe('chat.deliver.p99=+10%');
    expect(rs.ruleFor('ws.ping_rtt.p99')!.text).toBe('*.p99=+50%');
    expect(rs.ruleFor('ws.ping_rtt.p50')!.source).toBe('default');
    expect(new RuleSet([], false).ruleFor('ws.ping_rtt.p50')).toBeNull();
  });
});

describe('compareReports', () => {
  it('flags a slowed head and not an unchanged one', () => {
    const base = run(20, 1);
    const slow = compareReports([base], run(40, 1));
    expect(slow.exitCode).toBe(4);
    expect(slow.regressions.map((r) => r.metric)).toEqual(expect.arrayContaining(['chat.deliver.p50', 'chat.deliver.p99']));
    expect(row(slow, 'chat.deliver.p99').reason).toMatch(/vs at most .* beyond \+25%,\+5ms/);
    const same = compareReports([base], run(20, 1));
    expect(same.passed).toBe(true);
    expect(row(same, 'chat.deliver.p99').delta).toBe(0);
  });

  it('a 40 % rise on a 1 ms metric stays under the default absolute floor', () => {
    const res = compareReports([run(20, 1, { samples: { 'ws.ping_rtt': latencies(100, 1, 0.1, 3) } })], run(20, 1, { samples: { 'ws.ping_rtt': latencies(100, 1.4, 0.1, 3) } }));
    expect(row(res, 'ws.ping_rtt.p99').regression).toBe(false);
    expect(compareReports([run(20, 1)], run(20, 1), {}).passed).toBe(true);
  });

  it('default latency rules skip histograms with too few samples; explicit rules do not', () => {
    const base = run(20, 1, { samples: { 'http.login': [40, 42, 45, 41, 43, 44] } });
    const head = run(20, 1, { samples: { 'http.login': [40, 42, 45, 41, 43, 90] } });
    const res = compareReports([base], head);
    expect(row(res, 'http.login.p99')).toMatchObject({ regression: false, rule: '*.p99=+25%,+5ms (skipped: n=6 < 100)' });
    expect(compareReports([base], head, { maxRegression: ['http.login.p99=+25%'] }).regressions.map((r) => r.metric)).toEqual(['http.login.p99']);
  });

  it('default rules judge a percentile on its confidence bounds: a small sample moving is noise, a large one is news', () => {
    // 30 logins from a two-humped server: one sample changing hump moves the p50 from ~50 to ~80 ms
    const humps = (low: number) => run(20, 1, { samples: { 'http.login': [...latencies(low, 40, 10, 1), ...latencies(30 - low, 80, 10, 2)] } });
    const noisy = compareReports([humps(15)], humps(14));
    expect(row(noisy, 'http.login.p50').deltaPct!).toBeGreaterThan(25);
    expect(compareReports([humps(15)], humps(14), { maxRegression: ['http.login.p50=+25%,+5ms'] }).regressions.map((r) => r.metric)).toEqual(['http.login.p50']);
    expect(noisy.regressions).toEqual([]);
    const few = (base: number) => run(20, 1, { samples: { 'http.login': latencies(30, base, 60, 1) } });
    // the same shift measured on 400 messages each is beyond doubt
    const slow = compareReports([run(20, 1)], run(40, 2));
    expect(row(slow, 'chat.deliver.p50').reason).toMatch(/on the 99% confidence bounds of the percentile$/);
    // a whole shift of the small sample is still caught
    expect(compareReports([few(40)], few(200)).regressions.map((r) => r.metric)).toContain('http.login.p50');
  });

  it('notes a head whose generator was much busier than the base', () => {
    const base = run(20, 1);
    const head = run(20, 1);
    head.generator = { ...head.generator, eventLoopDelayP99Ms: 80 };
    base.generator = { ...base.generator, eventLoopDelayP99Ms: 15 };
    expect(compareReports([base], head).notes.join('\n')).toMatch(/generator was busier \(event-loop delay p99 80/);
    expect(compareReports([head], base).notes.join('\n')).not.toMatch(/busier/);
  });

  it('--max-regression rules tighten or loosen the defaults', () => {
    const base = run(20, 1);
    const head = run(24, 1); // +4 ms: under the default 5 ms floor
    expect(compareReports([base], head).passed).toBe(true);
    expect(compareReports([base], head, { maxRegression: ['chat.deliver.p99=+10%'] }).regressions.map((r) => r.metric)).toEqual(['chat.deliver.p99']);
    expect(compareReports([base], run(40, 1), { maxRegression: ['chat.deliver.*=+200%'] }).passed).toBe(true);
  });

  it('a rate rule catches a drop in delivery ratio', () => {
    const base = run(20, 1);
    const lossy = run(20, 1, { counters: { 'chat.sent': 10, 'chat.expected': 30, 'chat.delivered': 29 } });
    const res = compareReports([base], lossy);
    expect(row(res, 'rates.deliveryRatio')).toMatchObject({ regression: true, worse: 'down' });
    expect(compareReports([base], lossy, { maxRegression: ['rates.deliveryRatio=-5%'] }).passed).toBe(true);
  });

  it('noise: a head inside the band of several bases is not a regression, beyond it is', () => {
    // bases spread from 20 to 32 ms: a 30 ms head is within noise, though +50 % against the first
    const bases = [run(20, 1), run(26, 2), run(32, 3)];
    const head = run(30, 4);
    expect(compareReports([bases[0]!], head).passed).toBe(false);
    const banded = compareReports(bases, head);
    expect(banded.passed).toBe(true);
    const b = row(banded, 'chat.deliver.p99').base!;
    expect(b.n).toBe(3);
    expect(b.min).toBeLessThan(b.max);
    expect(b.stddev).toBeGreaterThan(0);
    // far beyond the band's top plus the rule
    expect(compareReports(bases, run(60, 5)).regressions.map((r) => r.metric)).toContain('chat.deliver.p99');
  });

  it('a finding class present in head and in no base is a regression', () => {
    const base = run(20, 1, { findings: [{ class: 'zombie-socket' }] });
    const head = run(20, 1, { findings: [{ class: 'zombie-socket' }, { class: 'zombie-socket' }, { class: 'stale-voice-member' }] });
    const res = compareReports([base], head);
    expect(res.regressions).toEqual([{ metric: 'findings.stale-voice-member', reason: '1 stale-voice-member finding in head, none in base' }]);
    expect(row(res, 'findings.zombie-socket')).toMatchObject({ regression: false, head: 2 });
  });

  it('renders one table with the band when there are several bases, plain without colour', () => {
    const res = compareReports([run(20, 1), run(26, 2)], run(60, 3));
    const text = renderCompareTable(res, { baseCount: 2 });
    expect(text).toContain('base (mean, min–max of 2)');
    expect(text).toMatch(/chat\.deliver\.p99.*REGRESSION/);
    expect(text).not.toMatch(/\x1b\[/);
    expect(renderCompareTable(res, { palette: new Chalk({ level: 1 }), baseCount: 2 })).toMatch(/\x1b\[31m/);
  });
});

describe('compare through the CLI', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mb-compare-'));
    const put = async (name: string, r: Report) => {
      files[name] = join(dir, `${name}.json`);
      await writeFile(files[name]!, JSON.stringify(r));
    };
    await put('base', run(20, 1));
    await put('base2', run(26, 2));
    await put('base3', run(32, 3));
    await put('slow', run(60, 4));
    await put('within', run(30, 4));
    await put('v2', { ...run(20, 1), schemaVersion: 2 } as unknown as Report);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 4 on a regression, table on stderr, JSON on stdout', async () => {
    const r = await runCli(['compare', files.base!, files.slow!, '--json']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/chat\.deliver\.p99.*REGRESSION/);
    const json = JSON.parse(r.stdout);
    expect(json.passed).toBe(false);
    expect(json.regressions.map((x: { metric: string }) => x.metric)).toContain('chat.deliver.p99');
  });

  it('exits 0 within the noise of several bases', async () => {
    const r = await runCli(['compare', '--base', files.base!, '--base', files.base2!, '--base', files.base3!, files.within!]);
    expect(r.stderr).toContain('no regression');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('exits 2 on a report of another schemaVersion or a bad rule', async () => {
    const v = await runCli(['compare', files.v2!, files.base!]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('v2.json has schemaVersion 2, this miscord-bench reads 1');
    const bad = await runCli(['compare', files.base!, files.base!, '--max-regression', 'p99<3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-regression 'p99<3'/);
  });
});
