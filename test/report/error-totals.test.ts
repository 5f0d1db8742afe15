import { describe, expect, it } from 'vitest';
import { errorTotals } from '../../src/report/error-totals.js';
import type { Report } from '../../src/report/schema.js';

describe('errorTotals', () => {
  it('errors are the errors.* counters, refusals the refusals.<code> ones, notes the rest of errors[]; never added together', () => {
    const r = {
      counters: { 'errors.chat': 2, 'errors.http.login': 3, 'refusals.4008': 4, 'refusals.403': 1, 'refusals.total': 99, 'chat.sent': 50 },
      errors: [
        { kind: 'errors.chat', count: 2, message: 'x' },
        { kind: 'refusals.4008', count: 4, message: 'y' },
        { kind: 'target', count: 1, message: 'the chat endpoint answers 403' },
        { kind: 'abort', count: 2, message: 'stopped' },
      ],
    } as unknown as Report;
    expect(errorTotals(r)).toEqual({ errors: 5, refusals: 5, notes: 3 });
  });

  it('is all zeros for a clean run', () => {
    expect(errorTotals({ counters: { 'chat.sent': 1 }, errors: [] } as unknown as Report)).toEqual({ errors: 0, refusals: 0, notes: 0 });
  });
});
