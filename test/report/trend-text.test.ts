import { describe, expect, it } from 'vitest';
import { resourceTrends } from '../../src/report/trend-text.js';
import type { Report } from '../../src/report/schema.js';

const MiB = 1024 * 1024;
const report = (...trends: Array<Record<string, unknown> | null>) => ({ checkpoints: trends.map((trend, i) => ({ name: `c${i}`, server: trend === null ? null : { trend } })) }) as unknown as Report;

describe('resourceTrends', () => {
  it('reads the last checkpoint that has a trend, and says for each resource what the detector made of it', () => {
    const r = report(
      { 'server.open_fds': { perCycle: 99, tolerance: 1 } },
      {
        'server.heap_used_bytes': { perCycle: 1.5 * MiB, tolerance: 256 * 1024, r2: 0.95, n: 8 },
        'server.open_fds': { perCycle: 0.25, tolerance: 1, r2: 0.1, n: 8 },
        'bench.heap_used_bytes': { perCycle: 2 * MiB, tolerance: MiB, r2: 0.3, n: 8 },
        'server.rss_bytes': { perCycle: -MiB, tolerance: MiB, r2: 0.9, n: 8, rule: { reportOnly: true } },
      },
      null,
    );
    expect(resourceTrends(r).map((t) => [t.name, t.text, t.verdict])).toEqual([
      ['server.heap_used_bytes', '+1.5 MiB', 'over +256.0 KiB'],
      ['server.open_fds', '+0.25', 'within +1.00'],
      ['bench.heap_used_bytes', '+2.0 MiB', 'over +1.0 MiB but no steady climb (R² < 0.6)'],
      ['server.rss_bytes', '-1.0 MiB', 'shown only'],
    ]);
    expect(resourceTrends(r)[0]).toMatchObject({ perCycle: 1.5 * MiB, r2: 0.95, n: 8, reportOnly: false, toleranceText: '+256.0 KiB' });
  });

  it('takes a rule’s own minR2 above the floor of 0.6; skips entries without numbers', () => {
    const r = report({ 'server.open_fds': { perCycle: 3, tolerance: 1, r2: 0.7, rule: { minR2: 0.8 } }, junk: { perCycle: 'x' } });
    expect(resourceTrends(r).map((t) => t.verdict)).toEqual(['over +1.00 but no steady climb (R² < 0.8)']);
  });

  it('is [] for a run without trends', () => {
    expect(resourceTrends(report(null, {}))).toEqual([]);
  });
});
