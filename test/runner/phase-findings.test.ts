import { describe, expect, it } from 'vitest';
import { phaseFindings, recordPhaseFinding } from '../../src/runner/phase-findings.js';
import type { FindingDraft } from '../../src/leak/types.js';

const draft = (message: string): FindingDraft => ({ class: 'limit-violated', message, subject: { user: 0 }, expected: { max: 3 }, observed: { opened: 4 }, details: { limit: 'per-user' } });

describe('recordPhaseFinding / phaseFindings', () => {
  it('numbers each run’s findings P1, P2… on their own, keeping the draft and naming the phase', () => {
    const run1 = {};
    const run2 = {};
    const f1 = recordPhaseFinding(run1, 'limits#2', draft('a'));
    recordPhaseFinding(run1, 'limits#2', draft('b'));
    recordPhaseFinding(run2, 'ramp#0', draft('c'));
    expect(phaseFindings(run1).map((f) => [f.id, f.message])).toEqual([
      ['P1', 'a'],
      ['P2', 'b'],
    ]);
    expect(phaseFindings(run2).map((f) => f.id)).toEqual(['P1']);
    expect(f1).toMatchObject({ class: 'limit-violated', subject: { user: 0 }, expected: { max: 3 }, observed: { opened: 4 }, checkpoint: 'limits#2', ageMs: null, evidence: { details: { limit: 'per-user' } } });
    expect(Number.isNaN(Date.parse(f1.firstSeen))).toBe(false);
  });

  it('is empty for a run without any, or without a context', () => {
    expect(phaseFindings({})).toEqual([]);
    expect(phaseFindings(null)).toEqual([]);
  });
});
