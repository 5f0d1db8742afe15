import type { Report } from './schema.js';
import { bytes } from './verdict-text.js';

/** One resource's trend over a soak's cycles, as the leak detector fitted it. */
export interface TrendRow {
  name: string;
  /** growth per cycle, in the resource's unit */
  perCycle: number;
  tolerance: number;
  r2: number;
  n: number;
  reportOnly: boolean;
  /** "+1.2 MiB" or "+0.01" */
  text: string;
  toleranceText: string;
  /** what the detector made of it, for a person */
  verdict: string;
}

/** The resource trend of the run's last checkpoint that has one (soak runs), or []. */
export function resourceTrends(r: Report): TrendRow[] {
  for (const c of [...r.checkpoints].reverse()) {
    const trend = (c.server as { trend?: Record<string, { perCycle?: number; tolerance?: number; r2?: number; n?: number; rule?: { reportOnly?: boolean; minR2?: number } }> } | null)?.trend;
    if (!trend || typeof trend !== 'object') continue;
    const rows: TrendRow[] = [];
    for (const [name, t] of Object.entries(trend)) {
      if (typeof t?.perCycle !== 'number' || typeof t.tolerance !== 'number') continue;
      const isBytes = name.endsWith('bytes');
      const show = (v: number) => (isBytes ? `${v < 0 ? '-' : '+'}${bytes(Math.abs(v))}` : `${v < 0 ? '' : '+'}${v.toFixed(2)}`);
      const r2 = t.r2 ?? 0;
      const minR2 = Math.max(0.6, t.rule?.minR2 ?? 0);
      const verdict = t.rule?.reportOnly
        ? 'shown only'
        : t.perCycle <= t.tolerance
          ? `within ${show(t.tolerance)}`
          : r2 < minR2
            ? `over ${show(t.tolerance)} but no steady climb (R² < ${minR2})`
            : `over ${show(t.tolerance)}`;
      rows.push({ name, perCycle: t.perCycle, tolerance: t.tolerance, r2, n: t.n ?? 0, reportOnly: !!t.rule?.reportOnly, text: show(t.perCycle), toleranceText: show(t.tolerance), verdict });
    }
    if (rows.length) return rows;
  }
  return [];
}
