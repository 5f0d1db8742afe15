import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listScenarios, loadScenario } from '../../src/scenario/load-scenario.js';
import { formatPath } from '../../src/json-error.js';
import { MbError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'mb-scn-'));

function errorOf(fn: () => unknown): MbError {
  try {
    fn();
  } catch (err) {
    return err as MbError;
  }
  throw new Error('did not throw');
}

describe('scenario loading', () => {
  it('every shipped scenario validates and has a one-line description', () => {
    const list = listScenarios();
    for (const name of ['smoke', 'channel-hop', 'churn', 'multi-tab', 'soak']) expect(list.map((s) => s.name)).toContain(name);
    for (const s of list) {
      expect(s.error).toBeUndefined();
      expect(s.description).not.toContain('\n');
      expect(s.description.length).toBeGreaterThan(10);
    }
    for (const name of ['smoke', 'channel-hop', 'churn', 'multi-tab', 'soak']) expect(loadScenario(name).scenario.thresholds).toContain('rates.deliveryRatio>=1');
  });

  it('names the file and the field path in one line', () => {
    const f = join(dir, 'x.json');
    writeFileSync(f, JSON.stringify({ name: 'x', description: 'x', phases: [{ type: 'connect' }, { type: 'chat' }, { type: 'switch', switches: 1.5 }] }));
    const e = errorOf(() => loadScenario(f, dir));
    expect(e.code).toBe('MB_ERR_SCENARIO_INVALID');
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('x.json: phases[2].switches: expected a positive integer');
  });

  it('refuses unknown names, missing files and broken JSON with exit 2', () => {
    expect(errorOf(() => loadScenario('nope')).code).toBe('MB_ERR_SCENARIO_NOT_FOUND');
    expect(errorOf(() => loadScenario('./missing.json', dir)).code).toBe('MB_ERR_SCENARIO_NOT_FOUND');
    const f = join(dir, 'broken.json');
    writeFileSync(f, '{ "name": ');
    const e = errorOf(() => loadScenario(f, dir));
    expect(e.code).toBe('MB_ERR_SCENARIO_INVALID');
    expect(e.message).toMatch(/^broken\.json: not valid JSON/);
  });

  it('formats zod paths', () => {
    expect(formatPath(['phases', 2, 'switches'])).toBe('phases[2].switches');
    expect(formatPath(['setup', 'servers'])).toBe('setup.servers');
    expect(formatPath([])).toBe('(root)');
  });
});

describe('scenario loading: malformed input', () => {
  it('names the line and column of a JSON syntax error', () => {
    const bad = join(dir, 'syntax.json');
    writeFileSync(bad, '{\n  "name": "x",\n  "users": 3,,\n}\n');
    const e = errorOf(() => loadScenario(bad, dir));
    expect(e.code).toBe('MB_ERR_SCENARIO_INVALID');
    expect(e.message).toMatch(/^syntax\.json: not valid JSON: line 3, column 14: /);
    const cut = join(dir, 'cut.json');
    writeFileSync(cut, '{"name": "x",\n "users": 3');
    expect(errorOf(() => loadScenario(cut, dir)).message).toMatch(/cut\.json: not valid JSON: line 2, column 12/);
  });

  it('refuses an unknown fault for the bundled server, naming the field', () => {
    const bad = join(dir, 'fault.json');
    writeFileSync(bad, JSON.stringify({ name: 'f', description: 'd', bundledServer: { faults: ['nope'] }, phases: [{ type: 'connect' }] }));
    expect(errorOf(() => loadScenario(bad, dir)).message).toMatch(/fault\.json: bundledServer\.faults\[0\]: expected a fault name: zombie-socket/);
  });
});
