import { MbError } from '../errors.js';
import { FindingClassSchema, type Report } from './schema.js';
import { RuleSet, exceeds, fmt, type RegressionRule } from './regression-rule.js';
import { LatencyHistogram } from '../metrics/latency-histogram.js';

/**
 * Compares a head report with one or more base reports. With several bases, each metric gets
 * a band (min–max of the bases, with their mean and stddev): a head value inside the band is
 * noise whatever the rule says, and a rule is applied from the band's edge outwards.
 * A finding class present in head but in none of the bases is always a regression.
 */
export interface Band {
  n: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
}

export type RowGroup = 'latency' | 'rate' | 'counter' | 'finding';

export interface CompareRow {
  metric: string;
  group: RowGroup;
  unit: string;
  base: Band | null;
  head: number | null;
  /** head − base mean */
  delta: number | null;
  /** (head − base mean) / base mean, in % */
  deltaPct: number | null;
  /** which way is worse for this metric, when known */
  worse: 'up' | 'down' | null;
  rule: string | null;
  regression: boolean;
  reason: string | null;
}

export interface CompareResult {
  passed: boolean;
  exitCode: 0 | 4;
  rows: CompareRow[];
  regressions: Array<{ metric: string; reason: string }>;
  rules: RegressionRule[];
  notes: string[];
}

export interface CompareOptions {
  maxRegression?: string[];
  /** false drops the default rules (only --max-regression ones apply) */
  defaults?: boolean;
  /**
   * Default latency rules judge a histogram only when base and head both hold at least this
   * many samples, and at least 1/(1−p) for a percentile p (p99 of 48 pings is their max:
   * noise, not news). --max-regression rules always apply. Default 20.
   */
  minSamples?: number;
}

const PCTS = ['p50', 'p90', 'p99', 'max'] as const;

export function compareReports(bases: Report[], head: Report, opts: CompareOptions = {}): CompareResult {
  if (bases.length === 0) throw new MbError('MB_ERR_USAGE', 'compare needs at least one base report');
  const rules = new RuleSet(opts.maxRegression ?? [], opts.defaults ?? true);
  const notes: string[] = [];
  const scenarios = new Set([...bases, head].map((r) => r.scenario.name));
  if (scenarios.size > 1) notes.push(`the reports come from different scenarios (${[...scenarios].join(', ')}): the comparison may not mean much`);
  if (head.status === 'incomplete') notes.push(`head run is incomplete: ${head.abortReason ?? 'no reason given'}`);
  bases.forEach((b, i) => b.status === 'incomplete' && notes.push(`base #${i + 1} is incomplete: ${b.abortReason ?? 'no reason given'}`));
  if (!head.generator.reliable) notes.push(`head generator was saturated: ${head.generator.unreliableReason ?? ''}`.trim());
  // a busier machine shows in every latency: say so next to any regression it may explain
  const eld = (r: Report) => r.generator.eventLoopDelayP99Ms;
  const baseEld = Math.max(...bases.map(eld));
  if (eld(head) > 20 && eld(head) > 2 * baseEld)
    notes.push(`head's generator was busier (event-loop delay p99 ${fmt(eld(head))} ms against at most ${fmt(baseEld)} ms in the base): latency differences may be the machine's, not the server's`);

  const minSamples = opts.minSamples ?? 20;
  const rows: CompareRow[] = [];
  const add = (
    metric: string,
    group: RowGroup,
    unit: string,
    worse: CompareRow['worse'],
    get: (r: Report) => number | null,
    samples?: (r: Report) => number,
    bound?: (r: Report, side: 'upper' | 'lower') => number | null,
  ) => {
    const baseVals = bases.map(get).filter((v): v is number => v !== null);
    const headVal = get(head);
    const base = baseVals.length ? band(baseVals) : null;
    const row: CompareRow = { metric, group, unit, base, head: headVal, delta: null, deltaPct: null, worse, rule: null, regression: false, reason: null };
    if (base && headVal !== null) {
      row.delta = headVal - base.mean;
      row.deltaPct = base.mean !== 0 ? (row.delta / Math.abs(base.mean)) * 100 : null;
      const rule = rules.ruleFor(metric);
      const fewest = samples ? Math.min(...[...bases, head].map(samples)) : Infinity;
      // a percentile is news only once it is not the max: p99 wants 100 samples, p90 ten
      const q = /\.p(\d+)$/.exec(metric);
      const needed = Math.max(minSamples, q ? Math.ceil(1 / (1 - Number(q[1]) / 100) - 1e-9) : 0);
      if (rule && rule.source === 'default' && fewest < needed) {
        row.rule = `${rule.text} (skipped: n=${fewest} < ${needed})`;
        row.worse ??= rule.direction;
      } else if (rule) {
        row.rule = rule.text;
        row.worse ??= rule.direction;
        let why = exceeds(rule, base, headVal, unit);
        // a default rule judges a percentile on its confidence bounds, not its point value:
        // the head's lower bound must clear the bases' upper bound by the rule
        if (why && rule.source === 'default' && bound) {
          const hi = bases.map((b) => bound(b, rule.direction === 'up' ? 'upper' : 'lower'));
          const lo = bound(head, rule.direction === 'up' ? 'lower' : 'upper');
          if (lo !== null && hi.every((x) => x !== null)) {
            const edge = rule.direction === 'up' ? Math.max(...(hi as number[])) : Math.min(...(hi as number[]));
            const judged = exceeds(rule, { min: Math.min(base.min, edge), max: Math.max(base.max, edge) }, lo, unit);
            why = judged && `${why}; ${fmt(lo)} vs ${fmt(edge)} on the ${Math.round(CONFIDENCE * 100)}% confidence bounds of the percentile`;
          }
        }
        if (why) {
          row.regression = true;
          row.reason = why;
        }
      }
    }
    rows.push(row);
  };

  const histNames = union([...bases, head].map((r) => Object.keys(r.histograms)));
  for (const h of histNames)
    for (const p of PCTS)
      add(
        `${h}.${p}`,
        'latency',
        'ms',
        'up',
        (r) => {
          const x = r.histograms[h];
          return x && x.count > 0 ? x[p] : null;
        },
        (r) => r.histograms[h]?.count ?? 0,
        p === 'max' ? undefined : (r, side) => percentileBound(r.histograms[h], Number(p.slice(1)) / 100, side),
      );
  for (const k of union([...bases, head].map((r) => Object.keys(r.rates))))
    add(`rates.${k}`, 'rate', '', rateWorse(k), (r) => r.rates[k] ?? null);
  for (const k of union([...bases, head].map((r) => Object.keys(r.counters))))
    add(`counters.${k}`, 'counter', '', counterWorse(k), (r) => r.counters[k] ?? 0);

  // findings: a class that appears in head and in no base is a regression, rules or not
  const classes = FindingClassSchema.options.filter((c) => [...bases, head].some((r) => r.findings.some((f) => f.class === c)));
  for (const c of classes) {
    const count = (r: Report) => r.findings.filter((f) => f.class === c).length;
    const baseVals = bases.map(count);
    const headVal = count(head);
    const b = band(baseVals);
    const isNew = headVal > 0 && b.max === 0;
    rows.push({
      metric: `findings.${c}`,
      group: 'finding',
      unit: '',
      base: b,
      head: headVal,
      delta: headVal - b.mean,
      deltaPct: b.mean !== 0 ? ((headVal - b.mean) / b.mean) * 100 : null,
      worse: 'up',
      rule: 'new class',
      regression: isNew,
      reason: isNew ? `${headVal} ${c} finding${headVal === 1 ? '' : 's'} in head, none in ${bases.length > 1 ? 'any base' : 'base'}` : null,
    });
  }

  const regressions = rows.filter((r) => r.regression).map((r) => ({ metric: r.metric, reason: r.reason! }));
  return { passed: regressions.length === 0, exitCode: regressions.length ? 4 : 0, rows, regressions, rules: rules.list(), notes };
}

/** How sure a default latency rule must be that a percentile moved (two-sided, per metric). */
const CONFIDENCE = 0.99;
const Z = 2.576;

/**
 * A distribution-free confidence bound of the percentile `p` (0–1) of a stored histogram:
 * the value at rank n·p ± z·√(n·p·(1−p)) (the normal approximation of the binomial order
 * statistic). With 45 samples the p50 could be anywhere from p31 to p69; with 2,000 the p99
 * is known to about ±0.6 points. Null when the histogram cannot be decoded.
 */
export function percentileBound(h: { encoded?: string; count: number } | undefined, p: number, side: 'upper' | 'lower'): number | null {
  if (!h?.encoded || h.count <= 0) return null;
  let hist: LatencyHistogram;
  try {
    hist = LatencyHistogram.decode(h as { encoded: string });
  } catch {
    return null;
  }
  const spread = Z * Math.sqrt((p * (1 - p)) / h.count);
  const q = side === 'upper' ? Math.min(1, p + spread) : Math.max(0, p - spread);
  return hist.percentile(q * 100);
}

export function band(values: number[]): Band {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, stddev: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values) };
}

function rateWorse(name: string): CompareRow['worse'] {
  if (/error|loss|lost|refus|drop|conceal/i.test(name)) return 'up';
  if (/ratio|success|detected/i.test(name)) return 'down';
  return null;
}

function counterWorse(name: string): CompareRow['worse'] {
  return /error|refus|reconnect|lost|fail|timeout/i.test(name) ? 'up' : null;
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}
