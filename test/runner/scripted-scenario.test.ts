import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReferenceServer } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { planRunAsync } from '../../src/runner/run-plan.js';
import { loadScenario, loadScenarioAsync, parseScenario } from '../../src/scenario/load-scenario.js';
import { MemoryTracer } from '../../src/trace/tracer.js';
import { EXIT } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/scripted.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mb-script-'));
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server() {
  const s = await createReferenceServer({ port: 0 });
  cleanups.push(() => s.close());
  return s;
}

describe('scripted scenarios (.mjs)', () => {
  it('runs examples/scripted.mjs against the reference server: its HTTP calls, messages and switch are measured, traced and gated', async () => {
    const s = await server();
    const tracer = new MemoryTracer();
    const report = await runScenario({ scenario: EXAMPLE, target: s.url, tracer });
    expect(report.abortReason).toBeNull();
    expect(report.status).toBe('completed');
    expect(report.scenario.path).toBe(EXAMPLE);
    // 4 users × GET /me, timed into custom.me; the gate on it judged
    expect(report.histograms['custom.me']!.count).toBe(4);
    expect(report.counters['custom.burst']).toBe(8);
    expect(report.gates.map((g) => [g.name, g.passed])).toEqual([
      ['rates.deliveryRatio>=1', true],
      ['custom.me.p99<250ms', true],
      ['counters.custom.burst==8', true],
    ]);
    expect(report.histograms['chat.switch']!.count).toBe(1);
    expect(report.rates.deliveryRatio).toBe(1);
    expect(report.verdict.exitCode).toBe(0);
    // each user's GET /me is in its trace (login calls /me too only when the token has no id)
    for (let u = 0; u < 4; u++) {
      const calls = tracer.recent(u, undefined, 200).filter((l) => (l as unknown as Record<string, unknown>).ev === 'http' && (l as unknown as Record<string, unknown>).route === '/api/auth/me');
      expect(calls.length).toBeGreaterThanOrEqual(1);
    }
    // the stored config says there was a custom phase, without the function
    expect((report.scenario.config.phases as Array<Record<string, unknown>>)[1]).toEqual({ type: 'custom', name: 'profile-and-burst', timeout: 20_000 });
  });

  it('a script that throws ends the run with an incomplete report naming the phase (exit 3)', async () => {
    const file = join(dir, 'throws.mjs');
    writeFileSync(
      file,
      `export default () => ({ name: 'throws', description: 'd', users: 2, setup: { servers: 1, textChannels: 1, voiceChannels: 0 }, settle: 200,
        phases: [{ type: 'connect' }, { type: 'custom', name: 'bad-step', run: async (ctx) => { await ctx.http('GET', '/api/channels/999999', { user: ctx.users()[0] }); } }, { type: 'idle', duration: '30s' }] })`,
    );
    const s = await server();
    const report = await runScenario({ scenario: file, target: s.url });
    expect(report.status).toBe('incomplete');
    expect(report.abortReason).toMatch(/GET \/api\/channels\/999999 answered HTTP 404/);
    expect(report.verdict.exitCode).toBe(EXIT.incomplete);
    expect(report.durationMs).toBeLessThan(20_000);
    expect(report.counters['errors.http.404']).toBe(1);
  });

  it('validates with the same schema: a JSON custom phase has no function; an .mjs needs a default export; the sync loader points to the async one', async () => {
    expect(() => parseScenario({ name: 'j', description: 'd', phases: [{ type: 'custom' }] }, 'j.json')).toThrow(/^j\.json: phases\[0\]\.run: expected a function: run: async \(ctx\) => \{ \.\.\. \} \(custom phases need a \.mjs scenario\)/);
    const nodefault = join(dir, 'nodefault.mjs');
    writeFileSync(nodefault, 'export const scenario = {};\n');
    await expect(loadScenarioAsync(nodefault)).rejects.toThrow(/nodefault\.mjs: no default export/);
    const broken = join(dir, 'broken.mjs');
    writeFileSync(broken, 'export default {\n');
    await expect(loadScenarioAsync(broken)).rejects.toThrow(/broken\.mjs: cannot import: /);
    const badField = join(dir, 'bad-field.mjs');
    writeFileSync(badField, "export default { name: 'b', description: 'd', phases: [{ type: 'custom', run: () => {}, extra: 1 }] };\n");
    await expect(planRunAsync({ scenario: badField })).rejects.toThrow(/bad-field\.mjs: phases\[0\]: Unrecognized key/);
    expect(() => loadScenario(EXAMPLE)).toThrow(/loadScenarioAsync/);
    // a threshold on a custom histogram is only allowed where a script can record it
    await expect(planRunAsync({ scenario: EXAMPLE })).resolves.toBeTruthy();
    expect(() => parseScenario({ name: 'j', description: 'd', thresholds: ['custom.x.p99<1ms'], phases: [{ type: 'idle', duration: 1 }] })).not.toThrow();
    await expect(planRunAsync({ scenario: parseScenario({ name: 'j', description: 'd', thresholds: ['custom.x.p99<1ms'], phases: [{ type: 'idle', duration: 1 }] }) })).rejects.toThrow(/no run produces the histogram custom\.x/);
  });

  it('validate takes an .mjs through bin/ like a JSON file, and names the field of a bad one', async () => {
    const ok = await runCli(['validate', EXAMPLE]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/scripted\.mjs: valid \(4 phases, 4 users, 3 gates, seed 7\)/);
    const bad = join(dir, 'no-run.mjs');
    writeFileSync(bad, "export default { name: 'n', description: 'd', phases: [{ type: 'custom', run: 42 }] };\n");
    const r = await runCli(['validate', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-run\.mjs: phases\[0\]\.run: expected a function/);
  });
});
