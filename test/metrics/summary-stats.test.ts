import { describe, expect, it } from 'vitest';
import { DEFAULT_SUMMARY_STATS, parseSummaryStats } from '../../src/metrics/summary-stats.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderMarkdown } from '../../src/report/render-md.js';
import { renderSummary } from '../../src/report/render-summary.js';
import { latencies, makeReport } from '../report/fixture.js';

const report = () => makeReport({ samples: { 'chat.deliver': latencies(500, 1, 30, 1) } });

describe('--summary-stats', () => {
  it('defaults to k6-style min, mean, p50, p95, p99, max', () => {
    expect(DEFAULT_SUMMARY_STATS).toEqual(['min', 'mean', 'p50', 'p95', 'p99', 'max']);
  });

  it('parses a list and refuses unknown or repeated names', () => {
    expect(parseSummaryStats('min, p99.9 ,max')).toEqual(['min', 'p99.9', 'max']);
    expect(() => parseSummaryStats('min,p42')).toThrow(/unknown statistic 'p42'/);
    expect(() => parseSummaryStats('max,max')).toThrow(/named twice/);
    expect(() => parseSummaryStats(' , ')).toThrow(/at least one/);
    expect(() => parseSummaryStats('avg')).toThrow(expect.objectContaining({ code: 'MB_ERR_USAGE', exitCode: 2 }));
  });

  it('every renderer shows the same chosen columns, in order', () => {
    const r = report();
    const h = r.histograms['chat.deliver']!;
    const stats = parseSummaryStats('p95,mean');
    const table = renderSummary(r, { stats });
    const head = table.split('\n').find((l) => l.includes('latency (ms)'))!;
    expect(head.indexOf('p95')).toBeGreaterThan(0);
    expect(head.indexOf('p95')).toBeLessThan(head.indexOf('mean'));
    expect(head).not.toContain('p99');
    const md = renderMarkdown(r, { stats });
    expect(md).toContain('| metric | count | p95 | mean |');
    const html = renderHtml(r, { stats });
    expect(html).toContain('<th class="n">count</th><th class="n">p95</th><th class="n">mean</th></tr>');
    // the default set everywhere else
    expect(renderSummary(r)).toMatch(/min.*mean.*p50.*p95.*p99.*max/);
    expect(renderMarkdown(r)).toContain('| metric | count | min | mean | p50 | p95 | p99 | max |');
    expect(h.p95).toBeGreaterThan(0);
  });
});
