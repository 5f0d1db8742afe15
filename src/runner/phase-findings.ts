import type { Finding } from '../report/schema.js';
import type { FindingDraft } from '../leak/types.js';
import { findingOf } from '../leak/finding-book.js';

/**
 * Findings that phases make themselves (limits, ramp): they judge what they saw at the
 * moment they saw it, not at a checkpoint. Kept per run (the context), ids `P1`, `P2`... so
 * they never meet the detector's `F` ids; the report lists them after the detector's.
 */
const books = new WeakMap<object, Finding[]>();

export function recordPhaseFinding(ctx: object, phase: string, d: FindingDraft): Finding {
  let book = books.get(ctx);
  if (!book) books.set(ctx, (book = []));
  const f = findingOf(d, `P${book.length + 1}`, phase, null, { details: d.details });
  book.push(f);
  return f;
}

export function phaseFindings(ctx: object | null): Finding[] {
  return (ctx && books.get(ctx)) || [];
}
