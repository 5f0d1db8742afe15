import type { Report } from './schema.js';

/**
 * The report's error figures, counted one way for every renderer: `errors` is the sum of
 * the `errors.*` counters (what `rates.errors` holds), `refusals` the sockets the server
 * refused (`refusals.<code>`), `notes` what the run said about the target or why it stopped.
 * A refusal is not an error of the target (a limit doing its job), so the two never add up.
 */
export interface ErrorTotals {
  errors: number;
  refusals: number;
  notes: number;
}

export function errorTotals(r: Report): ErrorTotals {
  let errors = 0;
  let refusals = 0;
  for (const [k, v] of Object.entries(r.counters)) {
    if (k.startsWith('errors.')) errors += v;
    else if (/^refusals\.\d+$/.test(k)) refusals += v;
  }
  const notes = r.errors.filter((e) => !e.kind.startsWith('errors.') && !/^refusals\.\d+$/.test(e.kind)).reduce((a, e) => a + e.count, 0);
  return { errors, refusals, notes };
}
