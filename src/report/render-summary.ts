import Table from 'cli-table3';
import type { Report } from './schema.js';
import { plain, type Palette } from './paint.js';
import { resourceTrends } from './trend-text.js';
import { gateJudged } from './gates.js';
import { formatRate } from './format-value.js';
import { errorTotals } from './error-totals.js';
import { groupFindings, groupTitle } from './finding-groups.js';

/** Findings printed per group; the rest are counted (every one is in the report). */
const SHOWN_PER_GROUP = 3;
import { verdictLine, verdictWord, subjectText } from './verdict-text.js';
import { DEFAULT_SUMMARY_STATS, statValue, type SummaryStat } from '../metrics/summary-stats.js';

const fmtMs = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The run's summary for people (stderr): latencies, counts, rates, findings, failed gates, verdict. */
export function renderSummary(r: Report, opts: { palette?: Palette; stats?: readonly SummaryStat[] } = {}): string {
  const stats = opts.stats ?? DEFAULT_SUMMARY_STATS;
  const c = opts.palette ?? plain;
  // cli-table3 paints its own head and border: only when the palette paints at all
  const colored = c.red('x') !== 'x';
  const style = { head: colored ? ['cyan'] : [], border: colored ? ['grey'] : [] };
  // no rule between rows: the summary must fit a screen
  const chars = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
  const out: string[] = [];
  out.push(c.bold(`${r.scenario.name}`) + c.dim(` against ${r.target.url}${r.target.bundled ? ' (bundled)' : ''}, seed ${r.scenario.seed}, ${(r.durationMs / 1000).toFixed(1)} s`));
  const incomplete = r.status === 'incomplete';
  // the reason first: an incomplete run's tables are the least of what a person needs
  if (incomplete) out.push(c.yellow.bold(`run incomplete: ${r.abortReason ?? 'no reason given'}`));

  const cols = stats.filter((s) => s !== 'count');
  const lat = new Table({ head: ['latency (ms)', 'count', ...cols], style, chars, colAligns: ['left', 'right', ...cols.map(() => 'right' as const)] });
  for (const [name, h] of Object.entries(r.histograms)) if (h.count > 0 || !incomplete) lat.push([name, String(h.count), ...cols.map((s) => (h.count ? fmtMs(statValue(h, s)) : '—'))]);
  if (lat.length) out.push(lat.toString());

  const cnt = new Table({ head: ['count', 'value'], style, chars, colAligns: ['left', 'right'] });
  const k = r.counters;
  for (const name of ['chat.sent', 'chat.expected', 'chat.delivered', 'chat.excused', 'chat.lost', 'ws.opened', 'ws.reconnects']) if (k[name] !== undefined) cnt.push([name, String(k[name])]);
  for (const [name, v] of Object.entries(r.rates)) cnt.push([`rates.${name}`, formatRate(name, v)]);
  cnt.push(['sockets open at end (client)', String(r.ledger.openSocketsAtEnd)]);
  out.push(cnt.toString());

  if (r.errors.length) {
    const e = errorTotals(r);
    out.push(c.bold(`errors ${e.errors}, refusals ${e.refusals}${e.notes ? `, notes ${e.notes}` : ''}`));
    for (const e of r.errors) out.push(`  ${c.yellow(String(e.count).padStart(6))}  ${e.kind}: ${e.message}`);
  }
  if (!r.generator.reliable) out.push(c.yellow(`generator unreliable: ${r.generator.unreliableReason}`));

  const trends = resourceTrends(r);
  if (trends.length) {
    out.push(c.bold(`resource trend per cycle (${trends[0]!.n} cycles)`));
    for (const t of trends) out.push(`  ${t.name.padEnd(24)} ${t.text.padStart(10)}  R² ${t.r2.toFixed(2)}  ${c.dim(t.verdict)}`);
  }

  out.push(c.bold('findings'));
  if (!r.findings.length) out.push(c.dim(r.checkpoints.length ? '  none' : '  none (no leak check ran)'));
  // one fault is often dozens of findings: a line per group, then its first few
  const groups = groupFindings(r.findings);
  for (const g of groups) {
    if (groups.length > 1 || g.findings.length > SHOWN_PER_GROUP) out.push(`  ${c.red(groupTitle(g))}`);
    const shown = g.findings.length > SHOWN_PER_GROUP + 1 ? g.findings.slice(0, SHOWN_PER_GROUP) : g.findings;
    for (const f of shown) out.push(`    ${c.red(f.id)} ${c.red(f.class)} ${subjectText(f)}: ${f.message}`);
    if (shown.length < g.findings.length) out.push(c.dim(`    … and ${g.findings.length - shown.length} more in the report`));
  }

  // nothing silently skipped: each check that could not run, and why
  for (const [cls, ch] of Object.entries(r.checks ?? {})) if (ch.status === 'skipped' || ch.status === 'inconclusive') out.push(c.yellow(`check ${ch.status}: ${cls}: ${ch.reason ?? 'no reason given'}`));

  // a gate that could not be judged is said once, as not judged, never also as failed; a run
  // that stopped early measured little, so there they are one line, not a wall
  const unjudged = r.gates.filter((g) => !gateJudged(g));
  for (const g of r.gates) if (!g.passed && gateJudged(g)) out.push(c.red(`gate failed: ${g.name} (${g.source}): ${g.reason}`));
  if (incomplete && unjudged.length) out.push(c.yellow(`${unjudged.length} gate${unjudged.length === 1 ? '' : 's'} not judged, nothing measured before the run stopped: ${unjudged.map((g) => g.name).join(', ')}`));
  else for (const g of unjudged) out.push(c.yellow(`gate not judged: ${g.name} (${g.source}): ${g.reason}`));
  const v = verdictWord(r);
  const paint = v.tone === 'pass' ? c.green.bold : v.tone === 'incomplete' ? c.yellow.bold : c.red.bold;
  out.push(paint(verdictLine(r)));
  return out.join('\n') + '\n';
}
