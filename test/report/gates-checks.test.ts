import { describe, expect, it } from 'vitest';
import { evaluateGate, parseThreshold } from '../../src/report/gates.js';
import type { Report } from '../../src/report/schema.js';

/** checks.<class>==1 (what --require-check adds) and findings gates read the report's own list of checks. */
const base = {
  checkpoints: [{ name: 'final', mode: 'ext', server: {}, client: {}, findings: [], notes: [], at: '', settledMs: 0, stable: true }],
  findings: [],
} as unknown as Report;

describe('gates over the report checks', () => {
  it('checks.<class>==1 passes only for a judged check', () => {
    const r = { ...base, checks: { 'frozen-not-reaped': { status: 'skipped', judged: 0, reason: 'no heartbeat known' }, 'zombie-socket': { status: 'judged', judged: 4 } } } as unknown as Report;
    expect(evaluateGate(r, { expr: 'checks.zombie-socket==1', source: 'cli' }).passed).toBe(true);
    const g = evaluateGate(r, { expr: 'checks.frozen-not-reaped==1', source: 'cli' });
    expect(g.passed).toBe(false);
    expect(g.reason).toMatch(/skipped: no heartbeat known/);
    expect(() => parseThreshold('checks.nope==1')).toThrow(/unknown check 'nope'/);
  });

  it('findings.<class>==0 is not judged when that check was skipped', () => {
    const r = { ...base, checks: { 'frozen-not-reaped': { status: 'skipped', judged: 0, reason: 'no heartbeat known' } } } as unknown as Report;
    const g = evaluateGate(r, { expr: 'findings.frozen-not-reaped==0', source: 'scenario' });
    expect(g.observed).toBeNull();
    expect(g.reason).toMatch(/check was skipped \(no heartbeat known\)/);
  });
});
