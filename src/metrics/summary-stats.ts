import { MbError } from '../errors.js';

/** The statistics a summary may show of a latency histogram, by the name `--summary-stats` takes. */
export const SUMMARY_STATS = {
  count: 'count',
  min: 'min',
  mean: 'mean',
  stddev: 'stddev',
  p50: 'p50',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99',
  'p99.9': 'p999',
  max: 'max',
} as const;
export type SummaryStat = keyof typeof SUMMARY_STATS;

/** k6's choice (`--summary-trend-stats`) plus p50: what a user of the field looks for first. */
export const DEFAULT_SUMMARY_STATS: readonly SummaryStat[] = ['min', 'mean', 'p50', 'p95', 'p99', 'max'];

type Summarised = { count: number } & Record<(typeof SUMMARY_STATS)[SummaryStat], number>;

/** `min,mean,p95` → the list, refusing an unknown or repeated name with one line (exit 2). */
export function parseSummaryStats(text: string): SummaryStat[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new MbError('MB_ERR_USAGE', `--summary-stats needs at least one of ${Object.keys(SUMMARY_STATS).join(', ')}`);
  const out: SummaryStat[] = [];
  for (const n of names) {
    if (!Object.hasOwn(SUMMARY_STATS, n)) throw new MbError('MB_ERR_USAGE', `--summary-stats: unknown statistic '${n}', expected some of ${Object.keys(SUMMARY_STATS).join(', ')}`);
    if (out.includes(n as SummaryStat)) throw new MbError('MB_ERR_USAGE', `--summary-stats: '${n}' is named twice`);
    out.push(n as SummaryStat);
  }
  return out;
}

/** The value of one statistic of a histogram summary. */
export function statValue(h: Summarised, s: SummaryStat): number {
  return h[SUMMARY_STATS[s]];
}
