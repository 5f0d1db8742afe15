import { LatencyHistogram } from '../metrics/latency-histogram.js';
import { evaluateGate, parseThreshold, type ParsedThreshold, type ThresholdSource } from '../report/gates.js';
import { ratesOf } from '../report/build-report.js';
import type { GateAbort, Report } from '../report/schema.js';

/**
 * Thresholds that end a run once they have failed (`--abort-on-fail`, or a scenario's
 * `abortOnFail`), judged once a second on the live figures:
 * - latencies (`chat.deliver.p99<250ms`): over the last `windowMs` (10 s), once that window
 *   holds `minSamples` (50) values, so one slow connect at the start does not end a soak;
 * - counts that only grow (`counters.*`, `findings.*`, `rates.errors|refusals|reconnects`,
 *   `<histogram>.count`) with `<`, `<=` or `==`: as soon as they are past the limit, which
 *   nothing can undo;
 * - ratios (`rates.deliveryRatio`, `lossRatio`, `errorRate`): on the whole run so far, once
 *   `minSamples` messages are due (operations made, for errorRate).
 * Other thresholds (`>` on a count, the per-second rates) cannot be judged before the end:
 * they are refused when a scenario marks them, and judged at the end only under
 * `--abort-on-fail`.
 */
export type AbortMode = 'window' | 'monotonic' | 'ratio';

const MONOTONIC_RATES = new Set(['errors', 'refusals', 'reconnects']);
const RATIO_RATES = new Set(['deliveryRatio', 'lossRatio', 'errorRate']);

/** How a threshold can be judged during the run, or why it cannot. */
export function abortModeOf(p: ParsedThreshold): { mode: AbortMode } | { mode: null; why: string } {
  const monotonic = p.kind === 'counter' || p.kind === 'findings' || (p.kind === 'rate' && MONOTONIC_RATES.has(p.metric)) || (p.kind === 'histogram' && p.stat === 'count');
  if (monotonic) return p.op === '<' || p.op === '<=' || p.op === '==' ? { mode: 'monotonic' } : { mode: null, why: `a count that only grows can pass '${p.op}' later: only <, <= and == can fail for good` };
  if (p.kind === 'histogram') return { mode: 'window' };
  if (p.kind === 'rate' && RATIO_RATES.has(p.metric)) return { mode: 'ratio' };
  return { mode: null, why: `rates.${p.metric} depends on the phase running: it is judged at the end only` };
}

export interface AbortGate {
  source: ThresholdSource;
  parsed: ParsedThreshold;
  mode: AbortMode;
}

/**
 * The gates that may abort: every threshold (`all`, from --abort-on-fail) that can be judged
 * live, or those the scenario names. `skipped` lists the rest of `all` with why.
 */
export function abortGates(thresholds: readonly ThresholdSource[], marked: 'all' | ReadonlySet<string>): { gates: AbortGate[]; skipped: string[]; refused: string[] } {
  const gates: AbortGate[] = [];
  const skipped: string[] = [];
  const refused: string[] = [];
  for (const t of thresholds) {
    if (marked !== 'all' && !marked.has(t.expr)) continue;
    const parsed = parseThreshold(t.expr);
    const m = abortModeOf(parsed);
    if (m.mode) gates.push({ source: t, parsed, mode: m.mode });
    else (marked === 'all' ? skipped : refused).push(`'${t.expr}': ${m.why}`);
  }
  return { gates, skipped, refused };
}

/** What the watch reads each second. */
export interface LiveFigures {
  /** ms since the run started */
  elapsedMs: number;
  histograms: ReadonlyMap<string, LatencyHistogram>;
  counters: Record<string, number>;
  findings: ReadonlyArray<{ class: string }>;
}

export interface GateWatchOptions {
  windowMs?: number;
  minSamples?: number;
}

export class GateWatch {
  readonly windowMs: number;
  readonly minSamples: number;
  private readonly snaps = new Map<string, Array<{ at: number; h: LatencyHistogram }>>();
  private fired: GateAbort | null = null;

  constructor(
    readonly gates: readonly AbortGate[],
    o: GateWatchOptions = {},
  ) {
    this.windowMs = o.windowMs ?? 10_000;
    this.minSamples = o.minSamples ?? 50;
  }

  /** The histogram's values over the last window (everything so far while the run is younger). */
  private windowOf(metric: string, now: number, cur: LatencyHistogram | undefined): LatencyHistogram | null {
    if (!cur) return null;
    let ring = this.snaps.get(metric);
    if (!ring) this.snaps.set(metric, (ring = []));
    // the newest snapshot at least windowMs old is the base; older ones are no longer needed
    const cutoff = now - this.windowMs;
    while (ring.length > 1 && ring[1]!.at <= cutoff) ring.shift();
    const base = ring.length && ring[0]!.at <= cutoff ? ring[0]!.h : null;
    const win = cur.clone();
    if (base) win.subtract(base);
    ring.push({ at: now, h: cur.clone() });
    return win;
  }

  /** Judges every gate on the figures; the first that failed for good, once (then null forever). */
  check(f: LiveFigures): GateAbort | null {
    if (this.fired) return null;
    const rates = ratesOf(f.counters, Math.max(1, f.elapsedMs));
    for (const g of this.gates) {
      const p = g.parsed;
      let view: Pick<Report, 'histograms' | 'counters' | 'rates' | 'findings'>;
      let scope: string;
      if (g.mode === 'window') {
        const win = this.windowOf(p.metric, f.elapsedMs, f.histograms.get(p.metric));
        if (!win || win.count < this.minSamples) continue;
        view = { histograms: { [p.metric]: statView(win, p) }, counters: {}, rates: {}, findings: [] };
        scope = f.elapsedMs < this.windowMs ? `in the run's first ${Math.round(f.elapsedMs / 100) / 10} s (${win.count} values)` : `in the last ${Math.round(this.windowMs / 1000)} s (${win.count} values)`;
      } else if (g.mode === 'ratio') {
        const c = (k: string) => f.counters[k] ?? 0;
        const n = p.metric === 'errorRate' ? c('chat.sent') + c('ws.opened') + c('http.calls') : c('chat.expected') - c('chat.excused');
        if (n < this.minSamples) continue;
        view = { histograms: {}, counters: {}, rates, findings: [] };
        scope = `on the run so far (${n} ${p.metric === 'errorRate' ? 'operations' : 'deliveries due'})`;
      } else {
        const h = p.kind === 'histogram' ? f.histograms.get(p.metric) : undefined;
        view = { histograms: h ? { [p.metric]: statView(h, p) } : {}, counters: f.counters, rates, findings: f.findings as Report['findings'] };
        scope = 'so far';
      }
      const gate = evaluateGate(view as Report, g.source);
      if (gate.passed || gate.observed === null) continue;
      // == on a growing count fails for good only once past the value
      if (g.mode === 'monotonic' && p.op === '==' && gate.observed < p.value) continue;
      this.fired = {
        gate: g.source.expr,
        source: g.source.source,
        atMs: Math.round(f.elapsedMs),
        observed: gate.observed,
        threshold: gate.threshold,
        reason: `${gate.reason} ${scope}`,
      };
      return this.fired;
    }
    return null;
  }
}

/** The one statistic a histogram gate reads, in the report's shape (summary() would compute them all, 5-15 ms at 100k values). */
function statView(h: LatencyHistogram, p: ParsedThreshold): Report['histograms'][string] {
  const stat = p.stat ?? 'count';
  return { count: h.count, [stat]: h.stat(stat) } as unknown as Report['histograms'][string];
}
