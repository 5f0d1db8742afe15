import { describe, it, expect, afterEach } from 'vitest';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsServer, renderMetrics } from '../../src/cli/metrics-server.js';
import { StreamWriter } from '../../src/cli/stream-writer.js';
import { planPhases } from '../../src/runner/phase-plan.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { isMbError } from '../../src/errors.js';
import type { TimelineSample } from '../../src/report/schema.js';
import type { LiveState } from '../../src/runner/run-scenario.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sample: TimelineSample = {
  t: 5000,
  phase: 'chat',
  users: 4,
  client: { total: 8, chat: 4, voice: 0, notifications: 4 },
  server: { total: 9, chat: 5, voice: 0, notifications: 4 },
  peers: 0,
  messagesPerSec: 12,
  deliveriesPerSec: 48,
  errorsPerSec: 0,
  eventLoopDelayMs: 2,
  serverRssBytes: 1000,
};
const plan = planPhases(parseScenario({ name: 'm', description: 'm', phases: [{ type: 'connect' }, { type: 'chat', name: 'chat', duration: '10s' }] }));
const live: LiveState = {
  phase: 'chat',
  elapsedMs: 5500,
  users: 4,
  errors: 2,
  phaseIndex: 1,
  phaseElapsedMs: 4000,
  plan,
  messages: { sent: 60, due: 240, delivered: 238, lost: 1 },
  latency: { 'chat.deliver': { count: 238, sum: 476, p50: 1.5, p90: 3, p95: 4, p99: 9, max: 20 } },
  counters: { 'errors.ws': 2, 'chat.sent': 60 },
  findings: { 'zombie-socket': 1 },
};

function get(url: string, agent?: Agent): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('renderMetrics', () => {
  it('names users, sockets by side and kind, messages, rates, errors, findings, phase and latency summaries', () => {
    const text = renderMetrics({ scenario: 'm', target: '(bundled)' }, sample, live);
    const lines = text.split('\n');
    for (const l of [
      'miscord_bench_run_info{scenario="m",target="(bundled)"} 1',
      'miscord_bench_up 1',
      'miscord_bench_phase_info{phase="chat",index="2",of="2"} 1',
      'miscord_bench_remaining_seconds 6',
      'miscord_bench_users 4',
      'miscord_bench_sockets{side="client",kind="chat"} 4',
      'miscord_bench_sockets{side="server",kind="chat"} 5',
      'miscord_bench_messages_delivered_total 238',
      'miscord_bench_messages_lost_total 1',
      'miscord_bench_deliveries_per_second 48',
      'miscord_bench_errors_total 2',
      'miscord_bench_errors_by_kind_total{kind="ws"} 2',
      'miscord_bench_findings{class="zombie-socket"} 1',
      'miscord_bench_findings{class="phantom-socket"} 0',
      'miscord_bench_latency_seconds{metric="chat.deliver",quantile="0.99"} 0.009',
      'miscord_bench_latency_seconds_count{metric="chat.deliver"} 238',
      '# TYPE miscord_bench_latency_seconds summary',
      '# TYPE miscord_bench_messages_sent_total counter',
    ]) expect(lines).toContain(l);
    // every sample line is `name{labels} number`, every family has a TYPE
    for (const l of lines.filter((x) => x && !x.startsWith('#'))) expect(l).toMatch(/^[a-z_]+(\{[^}]*\})? (-?[0-9.e+-]+|NaN)$/);
    const families = new Set(lines.filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!.replace(/_(sum|count)$/, '')));
    for (const f of families) expect(text).toContain(`# TYPE ${f} `);
    // before the first sample: only the run and up 0
    expect(renderMetrics({ scenario: 'm', target: 't' }, null, null)).toContain('miscord_bench_up 0');
  });
});

describe('examples/grafana-dashboard.json', () => {
  it('queries only names the endpoint serves', () => {
    const dash = readFileSync(new URL('../../examples/grafana-dashboard.json', import.meta.url), 'utf8');
    const used = new Set([...dash.matchAll(/miscord_bench_[a-z_]+/g)].map((m) => m[0]));
    expect(used.size).toBeGreaterThan(10);
    const served = renderMetrics({ scenario: 'm', target: 't' }, sample, live);
    expect([...used].filter((n) => !served.includes(`# TYPE ${n} `))).toEqual([]);
  });
});

describe('MetricsServer', () => {
  it('serves GET /metrics on 127.0.0.1, 404 elsewhere, and close() ends a scraper keep-alive connection', async () => {
    const ms = await MetricsServer.start({ port: 0, scenario: 'm', target: 't' });
    cleanups.push(() => ms.close());
    expect(ms.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    expect((await get(ms.url, agent)).body).toContain('miscord_bench_up 0');
    ms.update(sample, live);
    const r = await get(ms.url, agent);
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.body).toContain('miscord_bench_users 4');
    expect((await get(ms.url.replace('/metrics', '/'), agent)).status).toBe(404);
    // the agent holds an idle connection: close must still resolve
    await ms.close();
    await ms.close();
    await expect(get(ms.url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a port in use is a usage error naming the flag', async () => {
    const a = await MetricsServer.start({ port: 0, scenario: 'm', target: 't' });
    cleanups.push(() => a.close());
    const port = Number(new URL(a.url).port);
    const err = await MetricsServer.start({ port, scenario: 'm', target: 't' }).catch((e: unknown) => e);
    expect(isMbError(err) && err.code).toBe('MB_ERR_USAGE');
    expect((err as Error).message).toBe(`--metrics-port ${port}: listening on 127.0.0.1:${port} is already in use`);
  });
});

describe('StreamWriter', () => {
  it('writes start, plan (once), samples and end as JSON lines, each on disk as it is written', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mb-stream-')), 's.jsonl');
    const w = new StreamWriter(file, { scenario: 'm', target: 't' });
    const lines = () => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines().map((l) => l.type)).toEqual(['start']);
    w.sample(sample, live);
    w.sample(sample, { ...live, elapsedMs: 6500 });
    expect(lines().map((l) => l.type)).toEqual(['start', 'plan', 'sample', 'sample']);
    const s = lines()[2]!;
    expect(s.sample).toEqual(sample);
    expect(s.live).toMatchObject({ phase: 'chat', phaseIndex: 1, messages: live.messages, findings: live.findings });
    expect(s.live).not.toHaveProperty('plan');
    expect(s.live).not.toHaveProperty('counters');
    expect(typeof s.at).toBe('string');
    w.end({ status: 'completed', exitCode: 0, durationMs: 7000, report: 'r.json', abortReason: null });
    w.end({ status: 'completed', exitCode: 0, durationMs: 7000, report: 'r.json', abortReason: null });
    const all = lines();
    expect(all.map((l) => l.type)).toEqual(['start', 'plan', 'sample', 'sample', 'end']);
    expect(all[4]).toMatchObject({ exitCode: 0, report: 'r.json' });
    expect(() => new StreamWriter(join(file, 'no', 'such'), { scenario: 'm', target: 't' })).toThrow(/^--stream .* cannot be written: ENOTDIR/);
  });
});
