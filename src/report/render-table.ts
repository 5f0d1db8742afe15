import Table from 'cli-table3';
import type { Report } from './schema.js';
import { palette } from './palette.js';
import { verdictLine, verdictWord, subjectText } from './verdict-text.js';

const fmtMs = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtNum = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

/** The run's summary for people (stderr): latencies, counts, rates, findings, failed gates, verdict. */
export function renderSummary(r: Report, opts: { color: boolean }): string {
  const c = palette(opts.color);
  const style = { head: opts.color ? ['cyan'] : [], border: opts.color ? ['grey'] : [] };
  // no rule between rows: the summary must fit a screen
  const chars = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
  const out: string[] = [];
  out.push(c.bold(`${r.scenario.name}`) + c.dim(` against ${r.target.url}${r.target.bundled ? ' (bundled)' : ''}, seed ${r.scenario.seed}, ${(r.durationMs / 1000).toFixed(1)} s`));

  const lat = new Table({ head: ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'max'], style, chars, colAligns: ['left', 'right', 'right', 'right', 'right', 'right'] });
  for (const [name, h] of Object.entries(r.histograms)) lat.push([name, String(h.count), fmtMs(h.p50), fmtMs(h.p90), fmtMs(h.p99), fmtMs(h.max)]);
  if (Object.keys(r.histograms).length) out.push(lat.toString());

  const cnt = new Table({ head: ['count', 'value'], style, chars, colAligns: ['left', 'right'] });
  const k = r.counters;
  for (const name of ['chat.sent', 'chat.expected', 'chat.delivered', 'chat.excused', 'chat.lost', 'ws.opened', 'ws.reconnects']) if (k[name] !== undefined) cnt.push([name, String(k[name])]);
  for (const [name, v] of Object.entries(r.rates)) cnt.push([`rates.${name}`, fmtNum(v)]);
  cnt.push(['sockets open at end (client)', String(r.ledger.openSocketsAtEnd)]);
  out.push(cnt.toString());

  if (r.errors.length) {
    out.push(c.bold('errors'));
    for (const e of r.errors) out.push(`  ${c.yellow(String(e.count).padStart(6))}  ${e.kind}: ${e.message}`);
  }
  if (!r.generator.reliable) out.push(c.yellow(`generator unreliable: ${r.generator.unreliableReason}`));

  out.push(c.bold('findings'));
  if (!r.findings.length) out.push(c.dim(r.checkpoints.length ? '  none' : '  none (no leak check ran)'));
  for (const f of r.findings) out.push(`  ${c.red(f.id)} ${c.red(f.class)} ${subjectText(f)}: ${f.message}`);

  for (const g of r.gates) if (!g.passed) out.push(c.red(`gate failed: ${g.name} (${g.source}): ${g.reason}`));
  const v = verdictWord(r);
  const paint = v.tone === 'pass' ? c.green.bold : v.tone === 'incomplete' ? c.yellow.bold : c.red.bold;
  out.push(paint(verdictLine(r)));
  return out.join('\n') + '\n';
}
