import type { Report } from './schema.js';
import { brief, bytes, duration, num, subjectText, verdictLine, verdictWord } from './verdict-text.js';
import { formatRate } from './format-value.js';
import { groupFindings } from './finding-groups.js';
import { errorTotals } from './error-totals.js';
import { gateJudged, gateObserved, gateRank } from './gates.js';
import { DEFAULT_SUMMARY_STATS, statValue, type SummaryStat } from '../metrics/summary-stats.js';

/**
 * Markdown for a CI step summary ($GITHUB_STEP_SUMMARY): the verdict first, then what a
 * person needs to act on (failed gates, findings), then the numbers.
 */
export function renderMarkdown(r: Report, opts: { stats?: readonly SummaryStat[] } = {}): string {
  const cols = (opts.stats ?? DEFAULT_SUMMARY_STATS).filter((s) => s !== 'count');
  const out: string[] = [];
  const v = verdictWord(r);
  const icon = { pass: '✅', fail: '❌', leak: '🚰', incomplete: '⚠️' }[v.tone];
  out.push(`## ${icon} miscord-bench · ${esc(r.scenario.name)} · ${v.word}`, '');
  out.push(`**Verdict:** ${esc(verdictLine(r))}`, '');
  const shards = r.shards.length > 1 ? ` · ${r.shards.length} shards` : r.shards.length === 1 && r.shards[0]!.count > 1 ? ` · shard ${r.shards[0]!.index}/${r.shards[0]!.count}` : '';
  out.push(
    `${r.ledger.users} users · ${duration(r.durationMs)} · seed ${r.scenario.seed} · target \`${r.target.url}\`${r.target.bundled ? ' (bundled)' : ''}${shards} · ${r.startedAt}`,
    '',
  );
  if (!r.generator.reliable) out.push(`> ⚠️ **The generator was saturated**, latencies may be its own: ${esc(r.generator.unreliableReason ?? '')}`, '');
  for (const n of r.notes ?? []) out.push(`> ${esc(n)}`);
  if (r.notes?.length) out.push('');

  out.push('### Gates', '');
  if (!r.gates.length) out.push('_No gates: the scenario has no thresholds._', '');
  else {
    const gates = [...r.gates].sort((a, b) => gateRank(a) - gateRank(b));
    out.push(table(['', 'gate', 'source', 'observed', 'why'], gates.map((g) => [g.passed ? '✅' : gateJudged(g) ? '❌' : '❔ not judged', code(g.name), g.source, gateObserved(g), esc(g.reason)])), '');
  }

  out.push(`### Findings (${r.findings.length})`, '');
  if (!r.findings.length) out.push('_No leak found._', '');
  else {
    // one line per group (class, kind, checkpoint): one fault's dozens of findings read as one
    for (const g of groupFindings(r.findings)) out.push(`- **${g.class}** × ${g.findings.length}${g.kind ? ` · ${esc(g.kind)}` : ''} · at ${esc(g.checkpoint)}`);
    out.push('');
    const shown = r.findings.slice(0, 50);
    out.push(
      table(
        ['id', 'class', 'subject', 'expected', 'observed', 'age', 'message'],
        shown.map((f) => [f.id, f.class, esc(subjectText(f)), code(brief(f.expected)), code(brief(f.observed)), f.ageMs === null ? '—' : duration(f.ageMs), esc(f.message)]),
      ),
      '',
    );
    if (r.findings.length > shown.length) out.push(`_…and ${r.findings.length - shown.length} more in the JSON report._`, '');
  }

  const hs = Object.entries(r.histograms).filter(([, h]) => h.count > 0);
  const unmeasured = Object.entries(r.histograms).filter(([, h]) => h.count === 0).map(([k]) => code(k));
  if (hs.length) {
    out.push('### Latency (ms)', '');
    out.push(table(['metric', 'count', ...cols], hs.map(([k, h]) => [code(k), num(h.count), ...cols.map((s) => num(statValue(h, s)))]), 'lr' + 'r'.repeat(cols.length)), '');
  }
  if (unmeasured.length) out.push(`No samples: ${unmeasured.join(', ')}.`, '');
  const rates = Object.entries(r.rates);
  if (rates.length) {
    out.push('### Rates', '');
    out.push(table(['rate', 'value'], rates.map(([k, v]) => [code(k), formatRate(k, v)]), 'lr'), '');
  }
  if (r.voice) {
    const t = r.voice.totals;
    out.push('### Voice', '');
    out.push(
      table(
        ['room', 'members', 'audio frames', 'tones heard', 'video frames', 'lost', 'jitter ms', 'rtt ms'],
        [
          ...r.voice.rooms.map((x) => [String(x.roomId), num(x.members), `${num(x.audioFramesReceived)} / ${num(x.audioFramesExpected)}`, `${x.tonesDetected}/${2 * x.pairs}`, num(x.videoFramesReceived), num(x.packetsLost), num(x.jitterMs), num(x.rttMs)]),
          ['**all**', num(t.members), `${num(t.audioFramesReceived)} / ${num(t.audioFramesExpected)}`, `${t.tonesDetected}/${2 * t.pairs}`, num(t.videoFramesReceived), num(t.packetsLost), num(t.jitterMs), num(t.rttMs)],
        ],
        'lrrrrrrr',
      ),
      '',
    );
  }
  out.push('### Sockets', '');
  const l = r.ledger;
  out.push(
    `${num(l.connectionsCreated)} opened, ${num(l.connectionsDestroyed)} closed, ${num(l.openSocketsAtEnd)} open at the end · ${num(l.reconnectAttempts)} reconnects · ${num(l.refusals)} refusals · peers ${num(l.peersCreated)} created, ${num(l.peersClosed)} closed`,
    '',
  );
  if (r.errors.length) {
    const e = errorTotals(r);
    out.push('### Errors', '', `${num(e.errors)} errors · ${num(e.refusals)} refusals${e.notes ? ` · ${num(e.notes)} notes about the target or the run` : ''}`, '');
    out.push(table(['kind', 'count', 'message'], r.errors.slice(0, 30).map((e) => [code(e.kind), num(e.count), esc(e.message)]), 'lrl'), '');
  }
  const g = r.generator;
  out.push(
    `<sub>miscord-bench ${esc(r.tool.version)} · report schema ${r.schemaVersion} · generator: ${g.processes} process${g.processes === 1 ? '' : 'es'}, event-loop delay p99 ${num(g.eventLoopDelayP99Ms)} ms, CPU ${num((g.cpuUserMs + g.cpuSystemMs) / 1000)} s, peak RSS ${bytes(g.peakRssBytes)}</sub>`,
    '',
  );
  return out.join('\n');
}

function table(head: string[], rows: string[][], align?: string): string {
  const sep = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [head, sep, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Escapes what would break a table cell or start markup. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;')).replace(/\r?\n/g, ' ');
}

function code(s: string): string {
  return `\`${s.replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}\``;
}
