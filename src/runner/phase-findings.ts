import { clock } from '../clock.js';
import type { Finding } from '../report/schema.js';
import type { FindingDraft } from '../leak/types.js';

/**
 * Findings that phases make themselves (limits, ramp): they judge what they saw at the
 * moment they saw it, not at a checkpoint. Kept per run (the context), ids `P1`, `P2`... so
 * they never meet the detector's `F` ids; the report lists them after the detector's.
 */
const books = new WeakMap<object, Finding[]>();

export function recordPhaseFinding(ctx: object, phase: string, d: FindingDraft): Finding {
  let book = books.get(ctx);
  if (!book) books.set(ctx, (book = []));
  const f: Finding = {
    id: `P${book.length + 1}`,
    class: d.class,
    message: d.message,
    subject: d.subject,
    expected: d.expected,
    observed: d.observed,
    checkpoint: phase,
    firstSeen: new Date(clock.wall()).toISOString(),
    ageMs: null,
    evidence: { details: d.details },
  };
  book.push(f);
  return f;
}

export function phaseFindings(ctx: object | null): Finding[] {
  return (ctx && books.get(ctx)) || [];
}
