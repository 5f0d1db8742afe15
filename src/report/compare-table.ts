import Table from 'cli-table3';
import type { CompareResult, CompareRow } from './compare.js';
import { fmt } from './regression-rule.js';
import { formatRate } from './format-value.js';
import { plain, type Palette } from './paint.js';

/**
 * The comparison as one table for people (stderr). With several bases the base column shows
 * the band (mean and min–max), so a reader sees how noisy a metric was before judging it.
 */
export function renderCompareTable(res: CompareResult, opts: { palette?: Palette; baseCount: number; all?: boolean }): string {
  const c = opts.palette ?? plain;
  const multi = opts.baseCount > 1;
  const table = new Table({
    head: ['metric', multi ? `base (mean, min–max of ${opts.baseCount})` : 'base', 'head', 'Δ', 'Δ%', 'rule', ''],
    style: { head: c.red('x') !== 'x' ? ['cyan'] : [], border: c.red('x') !== 'x' ? ['grey'] : [] },
    colAligns: ['left', 'right', 'right', 'right', 'right', 'left', 'left'],
    // no rule between rows: a hundred metrics must fit a screen; group titles separate them
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  // without --all, counters that did not move are left out: they are most of the rows and none of the news
  const rows = opts.all ? res.rows : res.rows.filter((r) => r.group !== 'counter' || r.regression || (r.delta ?? 1) !== 0);
  let group: string | null = null;
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      table.push([c.bold(GROUP_TITLE[r.group]), '', '', '', '', '', '']);
    }
    const tone = toneOf(r);
    const paint = (s: string) => (tone === 'bad' ? c.red(s) : tone === 'good' ? c.green(s) : s);
    table.push([
      r.metric,
      baseCell(r, multi),
      r.head === null ? c.dim('—') : value(r, r.head),
      r.delta === null ? '' : paint(signed(r.delta)),
      r.deltaPct === null ? '' : paint(`${signed(r.deltaPct, 1)}%`),
      r.rule ? c.dim(r.rule.replace(/^[^=]*=/, '')) : '',
      r.regression ? c.red.bold('REGRESSION') : '',
    ]);
  }
  const lines = [table.toString()];
  for (const n of res.notes) lines.push(c.yellow(`note: ${n}`));
  if (res.regressions.length) {
    lines.push(c.red.bold(`${res.regressions.length} regression${res.regressions.length === 1 ? '' : 's'}:`));
    for (const g of res.regressions) lines.push(c.red(`  ${g.metric}: ${g.reason}`));
  } else lines.push(c.green.bold('no regression'));
  return lines.join('\n') + '\n';
}

const GROUP_TITLE: Record<CompareRow['group'], string> = {
  latency: 'latency (ms)',
  rate: 'rates',
  counter: 'counters',
  finding: 'findings per class',
};

/** Rates as every renderer writes them (format-value.ts); other metrics as compare always did. */
function value(r: CompareRow, v: number): string {
  return r.metric.startsWith('rates.') ? formatRate(r.metric.slice('rates.'.length), v) : fmt(v);
}

function baseCell(r: CompareRow, multi: boolean): string {
  if (!r.base) return '—';
  if (!multi) return value(r, r.base.mean);
  return r.base.min === r.base.max ? `${value(r, r.base.mean)}` : `${value(r, r.base.mean)} (${value(r, r.base.min)}–${value(r, r.base.max)})`;
}

/** Worse beyond 1 % paints red, better beyond 1 % green; metrics with no known sense stay plain. */
function toneOf(r: CompareRow): 'bad' | 'good' | null {
  if (r.regression) return 'bad';
  if (r.delta === null || r.delta === 0 || !r.worse) return null;
  if (r.deltaPct !== null && Math.abs(r.deltaPct) < 1) return null;
  const up = r.delta > 0;
  return up === (r.worse === 'up') ? 'bad' : 'good';
}

function signed(v: number, digits?: number): string {
  const s = digits === undefined ? fmt(Math.abs(v)) : Math.abs(v).toFixed(digits);
  return `${v > 0 ? '+' : v < 0 ? '-' : '±'}${s}`;
}
