import type { Metrics } from '../metrics/metrics.js';

/** A latency histogram as the live view carries it (ms): enough for a Prometheus summary. */
export interface LiveLatency {
  count: number;
  /** sum of the recorded values (mean × count), ms */
  sum: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** The live figures of the measures (LiveState's fields of the same names). */
export interface MeasureFigures {
  /** every latency histogram so far (ms) */
  latency?: Record<string, LiveLatency>;
  /** the run's counters so far */
  counters?: Record<string, number>;
  /** findings so far, by class */
  findings?: Record<string, number>;
}

/**
 * The measures of the live view beside the timeline sample: every latency histogram's
 * summary so far, the counters, and the findings so far by class. Each summary costs about
 * 0.2 ms (five percentiles and one pass over the buckets for the sum), once a second.
 */
export function liveMeasures(metrics: Metrics, findings: ReadonlyArray<{ class: string }>): MeasureFigures {
  const latency: Record<string, LiveLatency> = {};
  for (const [name, h] of metrics.histograms) {
    if (h.count === 0) continue;
    latency[name] = { count: h.count, sum: h.sum(), p50: h.stat('p50'), p90: h.stat('p90'), p95: h.stat('p95'), p99: h.stat('p99'), max: h.stat('max') };
  }
  const byClass: Record<string, number> = {};
  for (const f of findings) byClass[f.class] = (byClass[f.class] ?? 0) + 1;
  return { latency, counters: metrics.counterObject(), findings: byClass };
}

/**
 * The same for several shards (--workers): counts and sums add up; quantiles cannot be
 * merged from summaries, so each is the worst shard's (an upper bound; the report merges
 * the encoded histograms exactly).
 */
export function combineMeasures(lives: ReadonlyArray<MeasureFigures>): MeasureFigures {
  const latency: Record<string, LiveLatency> = {};
  const counters: Record<string, number> = {};
  const findings: Record<string, number> = {};
  for (const l of lives) {
    for (const [k, v] of Object.entries(l.latency ?? {})) {
      const a = latency[k];
      latency[k] = a
        ? { count: a.count + v.count, sum: a.sum + v.sum, p50: Math.max(a.p50, v.p50), p90: Math.max(a.p90, v.p90), p95: Math.max(a.p95, v.p95), p99: Math.max(a.p99, v.p99), max: Math.max(a.max, v.max) }
        : { ...v };
    }
    for (const [k, v] of Object.entries(l.counters ?? {})) counters[k] = (counters[k] ?? 0) + v;
    for (const [k, v] of Object.entries(l.findings ?? {})) findings[k] = (findings[k] ?? 0) + v;
  }
  return { latency, counters, findings };
}
