/**
 * How numbers of a report are written for people, in one place, so the terminal summary,
 * Markdown, JUnit and HTML never show one value three ways (0.9591, 0.96, 0.959).
 */

/** Rates that are fractions of a whole (`deliveryRatio`, `lossRatio`, `errorRate`, ...). */
export function isRatio(name: string): boolean {
  return /(Ratio|Rate)$/.test(name);
}

/**
 * A fraction: 4 decimals, cut rather than rounded so that a ratio short of 1 never reads as
 * 1.0000 and one under a threshold never reads as the threshold; a tiny non-zero one keeps
 * two significant digits instead of reading as 0.
 */
export function formatRatio(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a < 0.001) return String(Number(v.toPrecision(2)));
  const cut = Math.sign(v) * Math.floor(a * 1e4 + 1e-9) / 1e4;
  return cut.toFixed(4);
}

/** A count: whole, with thousands separators. */
export function formatCount(v: number): string {
  if (!Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2);
}

/** A per-second rate: 2 decimals under 10, 1 decimal above. */
export function formatPerSec(v: number): string {
  if (!Number.isFinite(v)) return '—';
  return Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** `rates.<name>` of a report, the same way everywhere. */
export function formatRate(name: string, v: number): string {
  if (isRatio(name)) return formatRatio(v);
  if (name.endsWith('PerSec')) return formatPerSec(v);
  return formatCount(v);
}
