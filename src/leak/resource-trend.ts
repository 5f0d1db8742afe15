import type { FindingDraft } from './types.js';

/**
 * resource-growth: a least-squares line through settled samples taken at the checkpoints
 * of a soak, one per cycle. A leak is a slope that is both significant (t-statistic and R²)
 * and larger than the tolerance of its resource, so one noisy sample (a GC, a warm-up)
 * never makes a finding. A garbage-collected heap is judged by its floor (floorOf). The
 * verdict is the whole run's: the detector judges it at the final checkpoint only, so a
 * slope seen on the early cycles and contradicted by later ones never stands as a finding.
 */
export interface Trend {
  n: number;
  slope: number;
  intercept: number;
  r2: number;
  /** slope / its standard error; Infinity for a perfect line */
  t: number;
}

export function fitTrend(points: Array<[number, number]>): Trend | null {
  const n = points.length;
  if (n < 3) return null;
  let sx = 0, sy = 0;
  for (const [x, y] of points) { sx += x; sy += y; }
  const mx = sx / n, my = sy / n;
  let sxx = 0, sxy = 0, syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const sse = Math.max(0, syy - slope * sxy);
  const r2 = syy === 0 ? 0 : 1 - sse / syy;
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const t = se === 0 ? (slope === 0 ? 0 : Infinity * Math.sign(slope)) : slope / se;
  return { n, slope, intercept, r2, t };
}

export interface ResourceSample {
  cycle: number;
  values: Record<string, number>;
}

export interface Tolerance {
  /** growth per cycle tolerated, absolute */
  perCycle: number;
  /** growth per cycle tolerated, as a fraction of the mean */
  relative?: number;
  /** stricter evidence for noisy resources */
  minSamples?: number;
  minR2?: number;
  /** shown in the trend, never a finding (RSS follows the allocator, not the program) */
  reportOnly?: boolean;
  /**
   * judge the floor, not the samples: a garbage-collected heap climbs between collections
   * and drops at each one, so only its troughs (what survives a collection) can show a leak
   */
  floor?: boolean;
  /**
   * a count the users hold while they are connected (fds, handles): growth that is given back
   * once every user has left (the final reading at or below the first cycle's) was load, not a leak
   */
  releasedAtEnd?: boolean;
}

/**
 * The lower envelope of a garbage-collector sawtooth: the local minima of the whole run (a
 * sample no higher than its neighbours), each lowered to the least value seen at or after it,
 * since memory that a later collection frees was never retained. A leak raises every trough;
 * a sawtooth leaves them level.
 */
export function floorOf(points: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let least = Infinity;
  for (let i = points.length - 1; i >= 0; i--) {
    const y = points[i]![1];
    least = Math.min(least, y);
    const prev = points[i - 1]?.[1] ?? Infinity;
    const next = points[i + 1]?.[1] ?? Infinity;
    if (y <= prev && y <= next) out.push([points[i]![0], least]);
  }
  // a climb between two major collections spans several cycles (7 in a recorded healthy soak):
  // only a longer run without troughs is judged by its pairs
  if (out.length >= 3 || points.length < 10) return out.reverse();
  // a heap that only climbs has no troughs to speak of: the least of each pair of cycles,
  // lowered to the least later value, is its floor then (a sawtooth keeps its troughs above)
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < points.length; i += 2) pairs.push([points[i]![0], Math.min(points[i]![1], points[i + 1]![1])]);
  for (let i = pairs.length - 2; i >= 0; i--) pairs[i]![1] = Math.min(pairs[i]![1], pairs[i + 1]![1]);
  return pairs;
}

/**
 * Defaults: handles and fds are exact and must not grow at all. The heap is sampled without
 * a forced GC, so a stretch between two major collections climbs too: it needs more cycles,
 * a cleaner line and a larger step to count.
 */
export const DEFAULT_TOLERANCES: Record<string, Tolerance> = {
  'server.open_fds': { perCycle: 0.5, releasedAtEnd: true },
  'server.open_handles': { perCycle: 0.5, releasedAtEnd: true },
  'server.heap_used_bytes': { perCycle: 256 * 1024, minSamples: 3, minR2: 0.6, floor: true },
  // measured after a full collection (the server honoured ?gc=1): what is retained, no sawtooth to see through
  'server.heap_after_gc_bytes': { perCycle: 256 * 1024, minSamples: 4, minR2: 0.6 },
  'server.rss_bytes': { perCycle: 4 * 1024 * 1024, relative: 0.05, reportOnly: true },
  // the generator judges itself by the same rules: its fds may step by one (a keep-alive socket)
  // but must not climb; its heap is judged by its floor, as the server's; its RSS is shown
  'bench.fds': { perCycle: 1 },
  'bench.heap_used_bytes': { perCycle: 512 * 1024, minSamples: 3, minR2: 0.6, floor: true },
  'bench.heap_after_gc_bytes': { perCycle: 256 * 1024, minSamples: 4, minR2: 0.6 },
  'bench.rss_bytes': { perCycle: 4 * 1024 * 1024, relative: 0.05, reportOnly: true },
};

export interface TrendOptions {
  minSamples?: number;
  minT?: number;
  minR2?: number;
  tolerances?: Record<string, Tolerance>;
  /** the readings once every user has left (the final checkpoint's): what a releasedAtEnd resource kept */
  end?: Record<string, number | undefined>;
  /** where a growth given back at the end is said (a note, not a finding) */
  notes?: string[];
}

/** `n` counts the points fitted: the troughs for a floor rule, the samples otherwise; `samples` all of them */
export type ResourceTrend = Trend & { perCycle: number; tolerance: number; rule: Tolerance; samples: number; floor?: boolean };

export function trendsOf(samples: ResourceSample[], o: TrendOptions = {}): Record<string, ResourceTrend> {
  // the first cycle warms caches up: leave it out once there are enough others
  const minSamples = o.minSamples ?? 4;
  const use = samples.length > minSamples ? samples.slice(1) : samples;
  const tol = o.tolerances ?? DEFAULT_TOLERANCES;
  const out: Record<string, ResourceTrend> = {};
  const names = new Set(use.flatMap((s) => Object.keys(s.values)));
  for (const name of names) {
    const tl = tol[name] ?? { perCycle: 0, relative: 0.02 };
    // a floor is judged on the whole run: the first cycle's trough is as good as any other
    const src = tl.floor ? samples : use;
    const all = src.filter((s) => Number.isFinite(s.values[name])).map((s) => [s.cycle, s.values[name]!] as [number, number]);
    const pts = tl.floor ? floorOf(all) : all;
    const t = fitTrend(pts);
    if (!t) continue;
    const mean = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
    out[name] = { ...t, perCycle: t.slope, tolerance: Math.max(tl.perCycle, (tl.relative ?? 0) * mean), rule: tl, samples: all.length, ...(tl.floor ? { floor: true } : {}) };
  }
  return out;
}

export function checkResourceGrowth(samples: ResourceSample[], o: TrendOptions = {}): FindingDraft[] {
  const minSamples = o.minSamples ?? 4;
  const minT = o.minT ?? 3;
  const minR2 = o.minR2 ?? 0.6;
  const drafts: FindingDraft[] = [];
  for (const [name, t] of Object.entries(trendsOf(samples, o))) {
    if (t.rule.reportOnly || t.n < (t.floor ? (t.rule.minSamples ?? 3) : Math.max(minSamples, t.rule.minSamples ?? 0)) || t.slope <= t.tolerance || t.t < minT || t.r2 < Math.max(minR2, t.rule.minR2 ?? 0)) continue;
    const end = o.end?.[name];
    const first = samples.find((x) => Number.isFinite(x.values[name]))?.values[name];
    if (t.rule.releasedAtEnd && end !== undefined && first !== undefined && end <= first) {
      o.notes?.push(`${name} rose across the soak cycles but was back at ${end} (first cycle: ${first}) once every user had left: held by the load, not leaked`);
      continue;
    }
    const unit = name.endsWith('bytes') ? ' bytes' : '';
    const over = t.floor ? `${t.samples} cycles (its floor, ${t.n} troughs, ` : `${t.n} cycles (`;
    drafts.push({
      class: 'resource-growth',
      message: `${name} grows by ${Math.round(t.slope)}${unit} per cycle over ${over}R² ${t.r2.toFixed(2)}, t ${Number.isFinite(t.t) ? t.t.toFixed(1) : '∞'}), beyond the tolerance of ${Math.round(t.tolerance)}${unit}`,
      subject: { resource: name },
      expected: { maxPerCycle: t.tolerance },
      observed: { perCycle: t.slope, r2: t.r2, t: Number.isFinite(t.t) ? t.t : null, n: t.n },
      details: { samples },
    });
  }
  return drafts;
}
