import { MbError, EXIT } from '../errors.js';
import { FindingClassSchema, type Gate, type GateAbort, type Report } from './schema.js';
import { formatRate } from './format-value.js';

/**
 * Thresholds ("gates") over a report: `chat.deliver.p99<250ms`, `rates.deliveryRatio>=1`,
 * `counters.refusals.4008==0`, `findings.zombie-socket==0`. Pure functions of the report, so
 * `run`, `gate` and `merge` judge a report the same way.
 */
export type GateOp = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type GateUnit = 'ms' | 's' | '%' | '';

export const HISTOGRAM_STATS = ['p50', 'p90', 'p95', 'p99', 'p999', 'max', 'mean', 'min', 'count'] as const;
export type HistogramStat = (typeof HISTOGRAM_STATS)[number];

export interface ParsedThreshold {
  expr: string;
  kind: 'histogram' | 'rate' | 'counter' | 'findings' | 'check';
  /** histogram name, rate name, counter name, or finding class / 'total' */
  metric: string;
  stat?: HistogramStat;
  op: GateOp;
  /** in canonical units: ms for histogram times, a fraction for %, else as written */
  value: number;
  /** the unit as written, used to print values back the way the user thinks of them */
  unit: GateUnit;
}

export interface ThresholdSource {
  expr: string;
  source: 'scenario' | 'cli' | 'default';
}

const EXPR_RE = /^\s*([A-Za-z0-9_.\-]+?)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(ms|s|%)?\s*$/i;
const FINDING_CLASSES = new Set<string>(FindingClassSchema.options);

function bad(expr: string, why: string): never {
  throw new MbError('MB_ERR_USAGE', `bad threshold '${expr}': ${why}`);
}

/** Parses one threshold expression; throws MB_ERR_USAGE naming the expression and the problem. */
export function parseThreshold(expr: string): ParsedThreshold {
  if (typeof expr !== 'string' || !expr.trim()) bad(String(expr), 'empty expression');
  const m = EXPR_RE.exec(expr);
  if (!m) bad(expr, 'expected <metric><op><number>[ms|s|%] with op one of < <= > >= == !=, e.g. chat.deliver.p99<250ms');
  const [, path, op, num, rawUnit] = m as unknown as [string, string, GateOp, string, string | undefined];
  const unit = (rawUnit?.toLowerCase() ?? '') as GateUnit;
  const n = Number(num);
  if (!Number.isFinite(n)) bad(expr, `'${num}' is not a number`);
  const parts = path.split('.');
  if (parts.some((p) => p === '')) bad(expr, `empty segment in '${path}'`);
  const head = parts[0]!;
  const rest = parts.slice(1).join('.');

  if (head === 'checks') {
    // checks.<class>==1: the check ran (--require-check); 0 when it was skipped or had nothing to judge
    if (!FINDING_CLASSES.has(rest)) bad(expr, `unknown check '${rest}' (known: ${[...FINDING_CLASSES].join(', ')})`);
    if (unit) bad(expr, 'a check takes no unit');
    return { expr, kind: 'check', metric: rest, op, value: n, unit };
  }
  if (head === 'findings') {
    if (!rest) bad(expr, 'findings needs a class or total, e.g. findings.total==0');
    if (rest !== 'total' && !FINDING_CLASSES.has(rest)) bad(expr, `unknown finding class '${rest}' (known: total, ${[...FINDING_CLASSES].join(', ')})`);
    if (unit) bad(expr, `a findings count takes no unit, not '${unit}'`);
    return { expr, kind: 'findings', metric: rest, op, value: n, unit };
  }
  if (head === 'rates' || head === 'counters') {
    if (!rest) bad(expr, `${head} needs a name, e.g. ${head === 'rates' ? 'rates.deliveryRatio>=1' : 'counters.refusals.4008==0'}`);
    if (unit === 'ms' || unit === 's') bad(expr, `${head}.${rest} is not a time: use no unit or %`);
    if (head === 'counters' && unit === '%') bad(expr, 'a counter is a count: use no unit');
    return { expr, kind: head === 'rates' ? 'rate' : 'counter', metric: rest, op, value: unit === '%' ? n / 100 : n, unit };
  }
  const stat = parts.at(-1)!;
  if (parts.length < 2 || !(HISTOGRAM_STATS as readonly string[]).includes(stat)) {
    bad(expr, `unknown metric '${path}': use <histogram>.<${HISTOGRAM_STATS.join('|')}>, rates.<name>, counters.<name> or findings.<class|total>`);
  }
  const metric = parts.slice(0, -1).join('.');
  if (stat === 'count') {
    if (unit) bad(expr, `${path} is a count: use no unit`);
    return { expr, kind: 'histogram', metric, stat: 'count', op, value: n, unit };
  }
  if (unit === '%') bad(expr, `${path} is a time: use ms or s`);
  return { expr, kind: 'histogram', metric, stat: stat as HistogramStat, op, value: unit === 's' ? n * 1000 : n, unit: unit || 'ms' };
}

function holds(op: GateOp, observed: number, threshold: number): boolean {
  switch (op) {
    case '<':
      return observed < threshold;
    case '<=':
      return observed <= threshold;
    case '>':
      return observed > threshold;
    case '>=':
      return observed >= threshold;
    case '==':
      return observed === threshold;
    case '!=':
      return observed !== threshold;
  }
}

/** Readable precision: HDR buckets make 312 ms read 312.063; nobody gates on the decimals. */
function trim(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return String(Math.round(v));
  if (a >= 1) return String(Math.round(v * 100) / 100);
  return a === 0 ? '0' : String(Number(v.toPrecision(3)));
}

/** Prints a canonical value in the unit the user wrote (a rate as every renderer writes it). */
function show(t: ParsedThreshold, v: number, threshold = false): string {
  // a threshold reads as written (0.99), an observed rate as every renderer writes it
  if (t.kind === 'rate' && t.unit === '' && !threshold) return formatRate(t.metric, v);
  if (t.unit === 's') return `${trim(v / 1000)} s`;
  if (t.unit === 'ms') return `${trim(v)} ms`;
  if (t.unit === '%') return `${trim(v * 100)}%`;
  return trim(v);
}

function failWord(op: GateOp, observed: number, threshold: number): string {
  switch (op) {
    case '<':
      return observed > threshold ? 'over' : 'not under';
    case '<=':
      return 'over';
    case '>':
      return observed < threshold ? 'under' : 'not over';
    case '>=':
      return 'under';
    case '==':
      return 'expected';
    case '!=':
      return 'must not be';
  }
}

/** What the report says for the threshold's metric; null with a reason when it lacks it. */
function observe(report: Report, t: ParsedThreshold): { value: number; note?: string } | { value: null; missing: string } {
  switch (t.kind) {
    case 'check': {
      const c = report.checks?.[t.metric];
      if (!c) return { value: null, missing: 'the report lists no checks (written before they were listed)' };
      return { value: c.status === 'judged' ? 1 : 0, note: c.status === 'judged' ? `judged ${c.judged}` : c.reason ? `${c.status}: ${c.reason}` : c.status };
    }
    case 'findings': {
      const n = t.metric === 'total' ? report.findings.length : report.findings.filter((f) => f.class === t.metric).length;
      // no findings where nothing was looked at is not a pass: a count that satisfies the gate
      // is only worth something if the check behind it ran (a finding found is found anyway)
      const why = unlookedFindings(report, t.metric);
      if (why && holds(t.op, n, t.value)) return { value: null, missing: why };
      return { value: n };
    }
    case 'rate': {
      const v = report.rates[t.metric];
      return typeof v === 'number' && Number.isFinite(v) ? { value: v } : { value: null, missing: `rates.${t.metric} is absent from the report` };
    }
    case 'counter': {
      // counters are created on first increment: one never counted is a true zero
      const v = report.counters[t.metric];
      return typeof v === 'number' ? { value: v } : { value: 0, note: 'never counted' };
    }
    case 'histogram': {
      const h = report.histograms[t.metric];
      if (!h) return { value: null, missing: `${t.metric} is absent from the report (nothing was measured)` };
      if (t.stat === 'count') return { value: h.count };
      if (h.count === 0) return { value: null, missing: `${t.metric} has no samples` };
      return { value: h[t.stat!] };
    }
  }
}

/** Finding classes the client side finds on its own (its ledgers, its peers, its own memory). */
const CLIENT_SIDE_CLASSES = new Set<string>(['unclosed-peer', 'bench-leak']);

/**
 * Why findings of `metric` (a class or 'total') could not have been found, or null when the
 * checks ran: no checkpoint at all (leak check off, or the run stopped first), or none that
 * read the server's counts (the target's stats never answered).
 */
function unlookedFindings(report: Report, metric: string): string | null {
  if (!report.checkpoints?.length) return 'no leak check ran (no checkpoint): 0 findings proves nothing';
  if (CLIENT_SIDE_CLASSES.has(metric)) return null;
  // the run's own list: a class whose check was skipped found nothing because it did not look
  const c = metric === 'total' ? undefined : report.checks?.[metric];
  if (c?.status === 'skipped' || c?.status === 'inconclusive') return `the ${metric} check was ${c.status} (${c.reason ?? 'no reason given'}): 0 findings proves nothing`;
  if (metric === 'total') {
    const open = Object.entries(report.checks ?? {}).find(([, x]) => x.status === 'inconclusive');
    if (open) return `the ${open[0]} check was inconclusive (${open[1].reason ?? 'no reason given'}): 0 findings proves nothing`;
  }
  const read = report.checkpoints.some((c) => c.mode !== 'none' && c.server !== null);
  return read ? null : "no checkpoint read the server's counts (its stats never answered): 0 findings proves nothing";
}

/** A gate whose metric the report lacks (nothing measured, nothing checked) was not judged. */
export function gateJudged(g: Gate): boolean {
  return g.observed !== null;
}

/** A gate's observed value as its reason writes it; '—' when it was not judged. */
export function gateObserved(g: Gate): string {
  if (g.observed === null) return '—';
  try {
    return show(parseThreshold(g.name), g.observed);
  } catch {
    return String(g.observed);
  }
}

/** Sort order for people: failed first, then not judged, then passed. */
export function gateRank(g: Gate): number {
  return g.passed ? 2 : gateJudged(g) ? 0 : 1;
}

function metricName(t: ParsedThreshold): string {
  if (t.kind === 'histogram') return `${t.metric}.${t.stat}`;
  if (t.kind === 'rate') return `rates.${t.metric}`;
  if (t.kind === 'counter') return `counters.${t.metric}`;
  if (t.kind === 'check') return `checks.${t.metric}`;
  return `findings.${t.metric}`;
}

/** Evaluates one gate (the expression must parse; call parseThreshold up front to refuse bad ones). */
export function evaluateGate(report: Report, th: ThresholdSource): Gate {
  const t = parseThreshold(th.expr);
  const name = metricName(t);
  const o = observe(report, t);
  if (o.value === null) {
    return { name: th.expr, source: th.source, passed: false, observed: null, threshold: t.value, reason: `${name}: ${(o as { missing: string }).missing}` };
  }
  const passed = holds(t.op, o.value, t.value);
  const note = 'note' in o && o.note ? ` (${o.note})` : '';
  const reason = passed
    ? `${name} = ${show(t, o.value)}${note}, holds ${t.op} ${show(t, t.value, true)}`
    : `${name} = ${show(t, o.value)}${note}, ${failWord(t.op, o.value, t.value)} ${show(t, t.value, true)}`;
  return { name: th.expr, source: th.source, passed, observed: o.value, threshold: t.value, reason };
}

/** Evaluates every threshold, in order. Throws MB_ERR_USAGE on the first bad expression. */
export function evaluateGates(report: Report, thresholds: ThresholdSource[]): Gate[] {
  for (const th of thresholds) parseThreshold(th.expr);
  return thresholds.map((th) => evaluateGate(report, th));
}

/**
 * The gates with the one that aborted the run marked failed, with when and why: its figure
 * over the run's last window failed, whatever the whole (shorter) run says at the end.
 */
export function withGateAbort(gates: Gate[], abortedBy: GateAbort | undefined): Gate[] {
  if (!abortedBy) return gates;
  const aborted: Gate = {
    name: abortedBy.gate,
    source: abortedBy.source,
    passed: false,
    observed: abortedBy.observed,
    threshold: abortedBy.threshold,
    reason: `aborted the run at ${Math.round(abortedBy.atMs / 100) / 10} s: ${abortedBy.reason}`,
  };
  return gates.some((g) => g.name === abortedBy.gate) ? gates.map((g) => (g.name === abortedBy.gate ? aborted : g)) : [...gates, aborted];
}

/** Finding classes the scenario declares as expected (a scenario that leaks by design). */
function expectedClasses(report: Report): Set<string> {
  const v = (report.scenario?.config as { expectFindings?: unknown } | undefined)?.expectFindings;
  return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
}

/**
 * The verdict: 3 when the run could not complete, else 5 when a leak was found (wins over
 * 4), else 4 when a gate failed or could not be judged (a threshold nobody could check is
 * not met), else 0. A gate not judged is counted once, in `unjudgedGates`, never also in
 * `failedGates`. Findings of a class the scenario lists in `expectFindings` are reported
 * but do not count as leaks.
 */
export function verdictOf(report: Report): Report['verdict'] {
  const expected = expectedClasses(report);
  const leaks = report.findings.filter((f) => !expected.has(f.class)).length;
  const unjudgedGates = report.gates.filter((g) => !gateJudged(g)).length;
  const failedGates = report.gates.filter((g) => !g.passed && gateJudged(g)).length;
  // a run a gate ended early is incomplete by design: judged as a failed gate, not as a run that could not complete
  const gateAbort = report.status === 'incomplete' && !!report.abortedBy;
  const exitCode =
    report.status === 'incomplete' && !gateAbort ? EXIT.incomplete : leaks > 0 ? EXIT.leak : failedGates > 0 || unjudgedGates > 0 || gateAbort ? EXIT.thresholds : EXIT.passed;
  return { exitCode, passed: exitCode === EXIT.passed, leaks, failedGates, unjudgedGates };
}

/** One line per failed or unjudged gate, for the summary. */
export function failedGateLines(gates: Gate[]): string[] {
  return gates.filter((g) => !g.passed).map((g) => `gate ${gateJudged(g) ? 'failed' : 'not judged'}: ${g.name} (${g.source}): ${g.reason}`);
}
