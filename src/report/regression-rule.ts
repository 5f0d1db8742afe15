import { MbError } from '../errors.js';

/**
 * Regression rules for `compare --max-regression`: `METRIC=COND[,COND…]`.
 * METRIC is a dotted name from the comparison (`chat.deliver.p99`, `rates.deliveryRatio`,
 * `counters.errors.total`) and may use `*` as a wildcard (`*.p99`). COND is a signed amount:
 * `+20%` (head may be up to 20 % above base), `+5ms` or `+0.5s` (absolute, latency), `+0.01`
 * (absolute, in the metric's own unit), `-0%` (any decrease is a regression). The sign says
 * which way is bad. When a rule has several conditions, a change must exceed all of them, so
 * `*.p99=+25%,+5ms` ignores a 40 % rise from 1 ms to 1.4 ms.
 */
export interface RegressionRule {
  text: string;
  pattern: string;
  /** 'up': an increase is bad; 'down': a decrease is bad */
  direction: 'up' | 'down';
  /** fraction of the base, e.g. 0.2 for 20 % */
  relative?: number;
  /** in the metric's unit (ms for latencies) */
  absolute?: number;
  source: 'default' | 'cli';
}

/** The defaults, documented in `compare --help` and the README. */
export const DEFAULT_RULES: readonly string[] = [
  '*.p50=+25%,+5ms',
  '*.p90=+25%,+5ms',
  '*.p99=+25%,+5ms',
  'rates.deliveryRatio=-0.1%',
  'rates.errorRate=+0.005',
];

const COND_RE = /^([+-])\s*(\d+(?:\.\d+)?)\s*(%|ms|s)?$/;

export function parseRegressionRule(text: string, source: RegressionRule['source'] = 'cli'): RegressionRule {
  const bad = (why: string) => new MbError('MB_ERR_USAGE', `--max-regression '${text}': ${why} (expected e.g. 'chat.deliver.p99=+20%' or '*.p99=+25%,+5ms')`);
  const eq = text.indexOf('=');
  if (eq <= 0) throw bad('missing METRIC=');
  const pattern = text.slice(0, eq).trim();
  if (!/^[\w.*-]+$/.test(pattern)) throw bad(`bad metric name "${pattern}"`);
  const rule: RegressionRule = { text, pattern, direction: 'up', source };
  const conds = text.slice(eq + 1).split(',').map((c) => c.trim());
  let sign: string | null = null;
  for (const c of conds) {
    const m = COND_RE.exec(c);
    if (!m) throw bad(`bad amount "${c}"`);
    const [, s, num, unit] = m;
    if (sign && s !== sign) throw bad('conditions must share one sign');
    sign = s!;
    const n = Number(num);
    if (unit === '%') rule.relative = n / 100;
    else rule.absolute = unit === 's' ? n * 1000 : n;
  }
  rule.direction = sign === '-' ? 'down' : 'up';
  return rule;
}

function globToRegExp(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/** Specificity: exact names beat wildcards, longer literal text beats shorter. */
function specificity(r: RegressionRule): number {
  const wild = (r.pattern.match(/\*/g) ?? []).length;
  return (wild === 0 ? 1e6 : 0) + r.pattern.replace(/\*/g, '').length - wild;
}

/**
 * Picks the rule for each metric: CLI rules first (the most specific match), then defaults.
 * CLI rules with the same pattern are combined (`--max-regression x=+20% --max-regression x=+5ms`).
 */
export class RuleSet {
  private readonly rules: Array<RegressionRule & { re: RegExp }>;

  constructor(cli: string[], useDefaults = true) {
    const parsed = cli.map((t) => parseRegressionRule(t, 'cli'));
    const combined = new Map<string, RegressionRule>();
    for (const r of parsed) {
      const cur = combined.get(r.pattern);
      if (!cur) combined.set(r.pattern, { ...r });
      else {
        if (cur.direction !== r.direction) throw new MbError('MB_ERR_USAGE', `--max-regression: rules for ${r.pattern} disagree on the sign`);
        cur.text = `${cur.text},${r.text.slice(r.text.indexOf('=') + 1)}`;
        cur.relative = r.relative ?? cur.relative;
        cur.absolute = r.absolute ?? cur.absolute;
      }
    }
    const defaults = useDefaults ? DEFAULT_RULES.map((t) => parseRegressionRule(t, 'default')) : [];
    this.rules = [...combined.values(), ...defaults].map((r) => ({ ...r, re: globToRegExp(r.pattern) }));
  }

  list(): RegressionRule[] {
    return this.rules.map(({ re: _re, ...r }) => r);
  }

  ruleFor(metric: string): RegressionRule | null {
    for (const source of ['cli', 'default'] as const) {
      const hits = this.rules.filter((r) => r.source === source && r.re.test(metric));
      if (hits.length) return hits.sort((a, b) => specificity(b) - specificity(a))[0]!;
    }
    return null;
  }
}

/**
 * Whether `head` regressed against a reference taken from the bases' band: the band's top
 * for 'up' rules, its bottom for 'down' rules. Returns the reason, or null.
 */
export function exceeds(rule: RegressionRule, band: { min: number; max: number }, head: number, unit: string): string | null {
  const ref = rule.direction === 'up' ? band.max : band.min;
  const change = rule.direction === 'up' ? head - ref : ref - head;
  if (!(change > 0)) return null;
  if (rule.relative !== undefined && !(change > Math.abs(ref) * rule.relative)) return null;
  if (rule.absolute !== undefined && !(change > rule.absolute)) return null;
  const pct = ref !== 0 ? ` (${rule.direction === 'up' ? '+' : '-'}${((change / Math.abs(ref)) * 100).toFixed(1)}%)` : '';
  const u = unit ? ` ${unit}` : '';
  return `${fmt(head)}${u} vs ${rule.direction === 'up' ? 'at most' : 'at least'} ${fmt(ref)}${u}${pct} beyond ${rule.text.slice(rule.text.indexOf('=') + 1)}`;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
