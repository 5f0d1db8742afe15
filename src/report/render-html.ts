import { LatencyHistogram } from '../metrics/latency-histogram.js';
import { FindingClassSchema, type Finding, type Gate, type Report, type ReportHistogram } from './schema.js';
import { gateJudged, gateObserved, gateRank } from './gates.js';
import { clientUntilServer, serverPoints } from './timeline-align.js';
import { groupFindings, groupTitle, type FindingGroup } from './finding-groups.js';
import { formatRate } from './format-value.js';
import { errorTotals } from './error-totals.js';
import { HTML_STYLE } from './html-style.js';
import { resourceTrends } from './trend-text.js';
import { barChart, esc, lineChart, type Series } from './svg-chart.js';
import { DEFAULT_SUMMARY_STATS, statValue, type SummaryStat } from '../metrics/summary-stats.js';
import { brief, bytes, duration, num, subjectText, verdictLine, verdictWord } from './verdict-text.js';

/**
 * One self-contained HTML page: inline CSS and SVG drawn here, no script, no network. Order
 * follows what a reader asks: did it pass, what failed and why, what leaked and how, then
 * the latency curves, the sockets over time (client beside server), and media quality.
 */
export function renderHtml(r: Report, opts: { stats?: readonly SummaryStat[] } = {}): string {
  const v = verdictWord(r);
  const sections = [
    header(r),
    tiles(r),
    notes(r),
    gates(r),
    findings(r),
    latency(r, opts.stats ?? DEFAULT_SUMMARY_STATS),
    timeline(r),
    voice(r),
    checkpoints(r),
    errors(r),
    footer(r),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>miscord-bench · ${esc(r.scenario.name)} · ${esc(v.word)}</title>
<style>${HTML_STYLE}</style></head>
<body><main>
${sections.join('\n')}
</main></body></html>
`;
}

const COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#0891b2', '#db2777', '#ca8a04', '#475569'];
const LATENCY_ORDER = ['chat.deliver', 'chat.switch', 'ws.ping_rtt', 'ws.connect.chat', 'ws.connect.notifications', 'ws.connect.voice', 'http.login', 'http.register', 'voice.join', 'webrtc.offer_answer', 'webrtc.connected', 'webrtc.first_audio', 'screen.first_frame', 'close_to_deregister'];

function header(r: Report): string {
  const v = verdictWord(r);
  const shard = r.shards.length > 1 ? `${r.shards.length} shards merged` : r.shards.length === 1 && r.shards[0]!.count > 1 ? `shard ${r.shards[0]!.index}/${r.shards[0]!.count}` : 'one process';
  const facts: Array<[string, string]> = [
    ['users', num(r.ledger.users)],
    ['duration', duration(r.durationMs)],
    ['target', `${r.target.url}${r.target.bundled ? ' (bundled)' : ''}${r.target.extStats ? '' : ' · v1 stats'}`],
    ['seed', String(r.scenario.seed)],
    ['started', r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')],
    ['run', shard],
  ];
  const nav = ['gates', 'findings', 'latency', 'timeline', ...(r.voice ? ['voice'] : []), 'checkpoints', ...(r.errors.length ? ['errors'] : [])];
  return `<header class="verdict ${v.tone}"><div class="word">${esc(v.word)}</div><div><h1>${esc(r.scenario.name)}</h1><div class="why">${esc(r.scenario.description)}</div><div class="why">${esc(verdictLine(r))}</div></div></header>
<div class="facts">${facts.map(([k, x]) => `<span>${esc(k)} <b>${esc(x)}</b></span>`).join('')}</div>
<nav>${nav.map((n) => `<a href="#${n}">${n}</a>`).join('')}</nav>`;
}

function tiles(r: Report): string {
  const t: Array<{ k: string; v: string; tone?: 'bad' | 'good' }> = [];
  const ratio = r.rates.deliveryRatio;
  if (ratio !== undefined) t.push({ k: 'delivery ratio', v: formatRate('deliveryRatio', ratio), tone: ratio < 1 ? 'bad' : 'good' });
  const d = r.histograms['chat.deliver'];
  if (d?.count) t.push({ k: 'chat.deliver p99', v: `${num(d.p99)} ms` });
  const failed = r.gates.filter((g) => !g.passed && gateJudged(g)).length;
  const unjudged = r.gates.filter((g) => !gateJudged(g)).length;
  t.push({ k: 'gates failed', v: `${failed} / ${r.gates.length}`, tone: failed ? 'bad' : r.gates.length && !unjudged ? 'good' : undefined });
  if (unjudged) t.push({ k: 'gates not judged', v: `${unjudged} / ${r.gates.length}`, tone: 'bad' });
  t.push({ k: 'findings', v: String(r.findings.length), tone: r.findings.length ? 'bad' : 'good' });
  t.push({ k: 'sockets opened', v: num(r.ledger.connectionsCreated) });
  t.push({ k: 'open at the end', v: num(r.ledger.openSocketsAtEnd), tone: r.ledger.openSocketsAtEnd ? 'bad' : undefined });
  const chatted = (r.counters['chat.sent'] ?? 0) > 0;
  if (r.rates.deliveriesPerSec !== undefined && (chatted || !r.voice)) t.push({ k: 'deliveries / s', v: formatRate('deliveriesPerSec', r.rates.deliveriesPerSec) });
  if (r.voice && r.voice.totals.audioFramesExpected > 0) {
    const q = r.voice.totals.audioFramesReceived / r.voice.totals.audioFramesExpected;
    t.push({ k: 'audio frames received', v: `${(q * 100).toFixed(1)}%`, tone: q < 0.99 ? 'bad' : 'good' });
  }
  // the same totals as the footer's rates and the errors section: refusals are their own tile
  const e = errorTotals(r);
  t.push({ k: 'errors', v: num(e.errors), tone: e.errors ? 'bad' : undefined });
  if (e.refusals) t.push({ k: 'refusals', v: num(e.refusals), tone: 'bad' });
  return `<div class="tiles">${t.map((x) => `<div class="tile ${x.tone ?? ''}"><div class="v">${esc(x.v)}</div><div class="k">${esc(x.k)}</div></div>`).join('')}</div>`;
}

function notes(r: Report): string {
  const n: string[] = [];
  if (r.status === 'incomplete') n.push(`<b>The run could not complete:</b> ${esc(r.abortReason ?? 'no reason given')}. What follows is what was measured until then.`);
  if (!r.generator.reliable) n.push(`<b>The generator was saturated</b>, so latencies may be its own: ${esc(r.generator.unreliableReason ?? '')}`);
  for (const x of r.notes ?? []) n.push(esc(x));
  return n.map((x) => `<div class="note">${x}</div>`).join('');
}

function gates(r: Report): string {
  if (!r.gates.length) return `<h2 id="gates">Gates</h2><p class="muted">No gates: the scenario has no thresholds and none were given.</p>`;
  const mark = (g: Gate) => (g.passed ? '<span class="ok">✓</span>' : gateJudged(g) ? '<span class="ko">✗</span>' : '<span class="nj" title="not judged">?</span>');
  const rows = [...r.gates]
    .sort((a, b) => gateRank(a) - gateRank(b))
    .map((g) => `<tr class="${g.passed ? '' : gateJudged(g) ? 'failed' : 'unjudged'}"><td>${mark(g)}</td><td><code>${esc(g.name)}</code></td><td>${g.source}</td><td class="n">${esc(gateObserved(g))}</td><td>${gateJudged(g) ? '' : '<b>not judged:</b> '}${esc(g.reason)}</td></tr>`);
  return `<h2 id="gates">Gates</h2><table><tr><th></th><th>gate</th><th>source</th><th class="n">observed</th><th>why</th></tr>${rows.join('')}</table>`;
}

function findings(r: Report): string {
  // a class is ✓ only where its check was judged: skipped, inconclusive and not applicable say so
  const classes = FindingClassSchema.options.map((c) => {
    const n = r.findings.filter((f) => f.class === c).length;
    if (n) return `<span class="badge">${esc(c)} × ${n}</span>`;
    const check = r.checks?.[c];
    if (!check || check.status === 'judged') return `<span class="badge clean">${esc(c)} ✓</span>`;
    const why = check.reason ? ` title="${esc(check.reason)}"` : '';
    return `<span class="badge unjudged"${why}>${esc(c)} ${check.status === 'not-applicable' ? '–' : '?'} <small>${esc(check.status)}</small></span>`;
  });
  const unjudged = Object.values(r.checks ?? {}).some((c) => c.status === 'skipped' || c.status === 'inconclusive');
  if (!r.findings.length) return `<h2 id="findings">Findings (0)</h2><div>${classes.join(' ')}</div><p class="muted">${unjudged ? 'No finding, but not every check could run: see the checks marked ? above.' : 'No leak found in the checks marked ✓: the server-side sockets, voice members and peers matched what the clients held and saw.'}</p>`;
  // one fault is often dozens of findings: one row and one section per group, not per finding
  const groups = groupFindings(r.findings);
  const rows = groups.map(
    (g, i) =>
      `<tr><td><a href="#g-${i + 1}"><span class="badge">${esc(g.class)}</span></a></td><td>${esc(g.kind ?? '—')}</td><td>${esc(g.checkpoint)}</td><td class="n">${num(g.findings.length)}</td><td>${esc(subjectText(g.findings[0]!))}${g.findings.length > 1 ? ` <span class="muted">and ${num(g.findings.length - 1)} more</span>` : ''}</td></tr>`,
  );
  // the first group of each class is open: one story per class, the rest a click away
  const seen = new Set<string>();
  const cards = groups.map((g, i) => {
    const open = !seen.has(g.class);
    seen.add(g.class);
    return groupCard(g, i + 1, open);
  });
  return `<h2 id="findings">Findings (${r.findings.length} in ${groups.length} group${groups.length === 1 ? '' : 's'})</h2><div>${classes.join(' ')}</div>
<table style="margin-top:10px"><tr><th>class</th><th>kind</th><th>checkpoint</th><th class="n">findings</th><th>subjects</th></tr>${rows.join('')}</table>
${cards.join('')}`;
}

/** Findings listed in one group's section; the rest are in the JSON report. */
const GROUP_ROWS = 200;

function groupCard(g: FindingGroup, n: number, open: boolean): string {
  const f = g.findings[0]!;
  const shown = g.findings.slice(0, GROUP_ROWS);
  const list = `<table class="list"><tr><th>id</th><th>subject</th><th>expected</th><th>observed</th><th class="n">age</th><th>message</th></tr>${shown
    .map(
      (x) =>
        `<tr id="f-${esc(x.id)}"><td class="mono">${esc(x.id)}</td><td>${esc(subjectText(x))}</td><td class="mono">${esc(brief(x.expected))}</td><td class="mono">${esc(brief(x.observed))}</td><td class="n">${x.ageMs === null ? '—' : esc(duration(x.ageMs))}</td><td>${esc(x.message)}</td></tr>`,
    )
    .join('')}</table>${g.findings.length > shown.length ? `<p class="muted">…and ${g.findings.length - shown.length} more in the JSON report.</p>` : ''}`;
  const details = f.evidence.details && Object.keys(f.evidence.details).length ? `<details><summary>details of ${esc(f.id)}</summary><pre>${esc(JSON.stringify(f.evidence.details, null, 2))}</pre></details>` : '';
  const related = (f.evidence.trace ?? []).filter((l) => (l as { related?: boolean }).related).length;
  const story = g.findings.length > 1 ? `the story of ${esc(f.id)}, the first of them` : `trace of the subject`;
  const trace = f.evidence.trace?.length
    ? `<details open><summary>${story} (${f.evidence.trace.length - related} events${related ? `, with ${related} event${related === 1 ? '' : 's'} of the user's other ${f.subject.kind ?? ''} sockets in grey` : ''})</summary>${traceTable(f)}</details>`
    : '';
  return `<details class="card finding" id="g-${n}"${open ? ' open' : ''}><summary><span class="badge">${esc(g.class)}</span> ${esc(groupTitle(g).slice(g.class.length + 1))} — ${esc(g.findings.length > 1 ? `e.g. ${f.message}` : f.message)}</summary>
${list}${details}${trace}</details>`;
}

function traceTable(f: Finding): string {
  const rows = (f.evidence.trace ?? []).slice(-40).map((line) => {
    const { t, ev, user: _user, related, ...rest } = line as Record<string, unknown>;
    // the closes and refusals are usually the story of a leak: make them stand out; the
    // user's other sockets, there for context, stay in grey
    const cls = [related ? 'related' : '', typeof ev === 'string' && /close|refus|leave|closing/.test(ev) ? 'hl' : ''].filter(Boolean).join(' ');
    const hl = cls ? ` class="${cls}"` : '';
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `<tr${hl}><td class="n">${esc(typeof t === 'number' ? t.toFixed(1) : String(t ?? ''))}</td><td>${esc(String(ev ?? ''))}</td><td>${esc(fields.length > 200 ? `${fields.slice(0, 199)}…` : fields)}</td></tr>`;
  });
  return `<table class="trace"><tr><th class="n">t ms</th><th>event</th><th>fields</th></tr>${rows.join('')}</table>`;
}

function orderedHistograms(r: Report): Array<[string, ReportHistogram]> {
  const rank = (k: string) => {
    const i = LATENCY_ORDER.indexOf(k);
    return i < 0 ? LATENCY_ORDER.length : i;
  };
  return Object.entries(r.histograms).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

function latency(r: Report, stats: readonly SummaryStat[]): string {
  const cols = stats.filter((s) => s !== 'count');
  const hs = orderedHistograms(r);
  if (!hs.length) return `<h2 id="latency">Latency</h2><p class="muted">Nothing was measured.</p>`;
  // an empty histogram has no percentiles: dashes, not zeros that read as "instant"
  const unmeasured = hs.filter(([, h]) => h.count === 0).map(([k]) => k);
  const rows = hs.filter(([, h]) => h.count > 0).map(([k, h]) => `<tr><td><code>${esc(k)}</code></td><td class="n">${num(h.count)}</td>${cols.map((s) => `<td class="n">${num(statValue(h, s))}</td>`).join('')}</tr>`);
  const charts = hs.filter(([, h]) => h.count > 0).map(([k, h], i) => percentileChart(k, h, COLORS[i % COLORS.length]!));
  return `<h2 id="latency">Latency</h2>
<table><tr><th>metric (ms)</th><th class="n">count</th>${cols.map((s) => `<th class="n">${esc(s)}</th>`).join('')}</tr>${rows.join('')}</table>
${unmeasured.length ? `<p class="muted">No samples: ${unmeasured.map((k) => `<code>${esc(k)}</code>`).join(', ')}.</p>` : ''}
<p class="muted">Percentile distributions, decoded from the stored HDR histograms: the x axis is in "nines" (90 %, 99 %, 99.9 %…), so the tail gets as much room as the median.</p>
<div class="grid3">${charts.join('')}</div>`;
}

function percentileChart(name: string, h: ReportHistogram, color: string): string {
  const hist = LatencyHistogram.decode(h);
  const maxX = Math.max(1, Math.min(5, Math.log10(Math.max(10, h.count))));
  const points: Array<[number, number]> = [];
  for (let x = 0; x <= maxX + 1e-9; x += 0.05) points.push([x, hist.percentile(100 * (1 - 10 ** -x))]);
  points.push([maxX, hist.percentile(100)]);
  const ticks = [0, 1, 2, 3, 4, 5].filter((x) => x <= maxX).map((x) => ({ x, label: x === 0 ? '0%' : `${(100 * (1 - 10 ** -x)).toFixed(Math.max(0, x - 2))}%` }));
  return `<div class="card">${lineChart([{ name: `n=${h.count}`, color, points, area: true }], { width: 340, height: 200, title: name, yLabel: 'ms', xTicks: ticks })}</div>`;
}

interface PhaseBand {
  from: number;
  to: number;
  label: string;
  shade: boolean;
  /** the same number for every band of one phase name, spelled out in the legend */
  key: string;
}

function phaseBands(r: Report): PhaseBand[] {
  const bands: PhaseBand[] = [];
  const keys = new Map<string, string>();
  for (const s of r.timeline) {
    const x = s.t / 1000;
    const last = bands.at(-1);
    if (last && last.label === s.phase) last.to = x;
    else {
      if (last) last.to = x;
      if (!keys.has(s.phase)) keys.set(s.phase, String(keys.size + 1));
      // alternate shading so neighbouring phases are told apart
      bands.push({ from: x, to: x, label: s.phase, shade: bands.length % 2 === 0, key: keys.get(s.phase)! });
    }
  }
  return bands;
}

/** Every phase by its full name, with the number a band too narrow for the name shows. */
function phaseLegend(bands: PhaseBand[]): string {
  const seen = new Map<string, { key: string; seconds: number; from: number }>();
  for (const b of bands) {
    const cur = seen.get(b.label);
    if (cur) cur.seconds += b.to - b.from;
    else seen.set(b.label, { key: b.key, seconds: b.to - b.from, from: b.from });
  }
  if (!seen.size) return '';
  const items = [...seen].map(([label, x]) => `<span><b>${esc(x.key)}</b>${esc(label)} <span class="muted">from ${esc(num(x.from, 1))} s, ${esc(num(x.seconds, 1))} s</span></span>`);
  return `<div class="phases">phases: ${items.join('')}</div>`;
}

function timeline(r: Report): string {
  if (!r.timeline.length) return `<h2 id="timeline">Timeline</h2><p class="muted">No timeline samples.</p>`;
  const t = (s: { t: number }) => s.t / 1000;
  const bands = phaseBands(r);
  // server figures at the time they were read, client ones up to the server's last reading
  const at = serverPoints(r.timeline);
  const read = at.filter((p) => p.sample.server !== null);
  const client = clientUntilServer(r.timeline, at);
  const sockets: Series[] = [
    { name: 'client: open sockets', color: '#2563eb', points: client.map((s) => [t(s), s.client.total]) },
    { name: 'server: registered sockets', color: '#ea580c', dashed: true, points: read.map((p) => [t(p), p.sample.server!.total]) },
  ];
  const perKind = (['chat', 'notifications', 'voice'] as const)
    .filter((k) => r.timeline.some((s) => s.client[k] || s.server?.[k]))
    .map((k) =>
      lineChart(
        [
          { name: 'client', color: '#2563eb', points: client.map((s) => [t(s), s.client[k]]) },
          { name: 'server', color: '#ea580c', dashed: true, points: read.map((p) => [t(p), p.sample.server![k]]) },
        ],
        { width: 340, height: 180, title: `${k} sockets`, xLabel: 's', step: true },
      ),
    );
  const rates: Series[] = [
    { name: 'messages/s', color: '#16a34a', points: r.timeline.map((s) => [t(s), s.messagesPerSec]) },
    { name: 'deliveries/s', color: '#9333ea', points: r.timeline.map((s) => [t(s), s.deliveriesPerSec]) },
    ...(r.timeline.some((s) => s.errorsPerSec) ? [{ name: 'errors/s', color: '#dc2626', points: r.timeline.map((s): [number, number] => [t(s), s.errorsPerSec]) }] : []),
  ];
  const serverFigure = (k: 'serverRssBytes' | 'serverOpenFds', scale = 1): Array<[number, number]> =>
    at.filter((p) => typeof p.sample[k] === 'number').map((p) => [t(p), (p.sample[k] as number) / scale]);
  const extra: string[] = [];
  extra.push(lineChart([{ name: 'event-loop delay p99', color: '#475569', points: r.timeline.map((s) => [t(s), s.eventLoopDelayMs]) }], { width: 520, height: 200, title: 'generator event-loop delay (ms)', xLabel: 's', bands }));
  if (r.timeline.some((s) => typeof s.serverRssBytes === 'number'))
    extra.push(lineChart([{ name: 'server RSS (MiB)', color: '#0891b2', points: serverFigure('serverRssBytes', 1048576) }], { width: 520, height: 200, title: 'server memory', xLabel: 's', yMin: 0, bands }));
  if (r.timeline.some((s) => typeof s.serverOpenFds === 'number'))
    extra.push(lineChart([{ name: 'server open fds', color: '#ca8a04', points: serverFigure('serverOpenFds') }], { width: 520, height: 200, title: 'server file descriptors', xLabel: 's', bands }));
  return `<h2 id="timeline">Timeline</h2>
<p class="muted">Sampled every second; the server's figures are drawn at the time they were read, and the client line stops at the server's last reading, so the two end together. A server line that stays above the client line after the clients close is a leak the server has not let go of; shaded bands are the scenario's phases (hover a band for its name).</p>
<div class="card">${lineChart(sockets, { width: 1060, height: 280, title: 'open sockets: client against server', xLabel: 'seconds', step: true, bands })}${phaseLegend(bands)}</div>
<div class="grid3">${perKind.map((c) => `<div class="card">${c}</div>`).join('')}</div>
<div class="grid2">${r.timeline.some((s) => s.messagesPerSec || s.deliveriesPerSec) ? `<div class="card">${lineChart(rates, { width: 520, height: 200, title: 'messages per second', xLabel: 's', bands })}</div>` : ''}${extra.map((c) => `<div class="card">${c}</div>`).join('')}</div>`;
}

function voice(r: Report): string {
  if (!r.voice) return '';
  const rooms = r.voice.rooms;
  const ratio = (rx: number, ex: number) => (ex > 0 ? rx / ex : 0);
  const rows = [...rooms.map((x) => ({ ...x, label: String(x.roomId) })), { ...r.voice.totals, roomId: -1, label: 'all rooms' }].map(
    (x) =>
      `<tr${x.roomId === -1 ? ' style="font-weight:600"' : ''}><td>${esc(x.label)}</td><td class="n">${x.members}</td><td class="n">${x.pairs}</td><td class="n">${num(x.audioFramesReceived)} / ${num(x.audioFramesExpected)} (${(ratio(x.audioFramesReceived, x.audioFramesExpected) * 100).toFixed(1)}%)</td><td class="n">${x.tonesDetected} / ${2 * x.pairs}</td><td class="n">${num(x.videoFramesReceived)}</td><td class="n">${num(x.packetsLost)}</td><td class="n">${num(x.jitterMs)}</td><td class="n">${num(x.rttMs)}</td><td class="n">${x.concealedRatio === null ? '—' : (x.concealedRatio * 100).toFixed(2) + '%'}</td><td class="n">${bytes(x.bytesSent)} / ${bytes(x.bytesReceived)}</td></tr>`,
  );
  const bars = barChart(
    rooms.map((x) => {
      const q = ratio(x.audioFramesReceived, x.audioFramesExpected);
      return { label: `room ${x.roomId}`, value: q, color: q >= 0.99 ? '#16a34a' : q >= 0.9 ? '#ca8a04' : '#dc2626', text: `${(q * 100).toFixed(1)}%` };
    }),
    { width: 520, max: 1, title: 'audio frames received / expected' },
  );
  const tones = barChart(
    // pairs are unordered, tones are heard one way: each pair has two directions to check
    rooms.map((x) => ({ label: `room ${x.roomId}`, value: x.pairs ? x.tonesDetected / (2 * x.pairs) : 0, color: x.tonesDetected >= 2 * x.pairs ? '#16a34a' : '#dc2626', text: `${x.tonesDetected}/${2 * x.pairs}` })),
    { width: 520, max: 1, title: 'directions in which the receiver heard the sender’s tone' },
  );
  return `<h2 id="voice">Media quality per room</h2>
<table><tr><th>room</th><th class="n">members</th><th class="n">pairs</th><th class="n">audio frames</th><th class="n">tones heard</th><th class="n">video frames</th><th class="n">packets lost</th><th class="n">jitter ms</th><th class="n">rtt ms</th><th class="n">concealed</th><th class="n">bytes sent / received</th></tr>${rows.join('')}</table>
<div class="grid2"><div class="card">${bars}</div><div class="card">${tones}</div></div>`;
}

function checkpoints(r: Report): string {
  if (!r.checkpoints.length) return `<h2 id="checkpoints">Checkpoints</h2><p class="muted">No leak checkpoints (leak check off).</p>`;
  const rows = r.checkpoints.map(
    (c) =>
      `<tr class="${c.findings.length ? 'failed' : ''}"><td>${esc(c.name)}</td><td class="n" title="${esc(c.at)}">${esc(sinceStart(r, c.at))}</td><td>${c.mode}</td><td class="n">${num(c.settledMs)} ms${c.stable ? '' : ' (not stable)'}</td><td>${esc(viewText(c.server))}</td><td>${esc(viewText(c.client))}</td><td class="n">${c.findings.length ? `<span class="ko">${c.findings.length}</span>` : '<span class="ok">0</span>'}</td></tr>`,
  );
  const l = r.ledger;
  const trends = resourceTrends(r);
  const trendTable = trends.length
    ? `<h3 style="margin-top:14px">Server resources per cycle (a line fitted over ${trends[0]!.n} cycles)</h3><table><tr><th>resource</th><th class="n">growth per cycle</th><th class="n">R²</th><th>judged</th></tr>${trends
        .map((t) => `<tr class="${!t.reportOnly && t.perCycle > t.tolerance ? 'failed' : ''}"><td><code>${esc(t.name)}</code></td><td class="n">${esc(t.text)}</td><td class="n">${t.r2.toFixed(2)}</td><td>${esc(t.verdict)}</td></tr>`)
        .join('')}</table>`
    : '';
  return `<h2 id="checkpoints">Checkpoints</h2>
<table><tr><th>checkpoint</th><th class="n">at</th><th>stats</th><th class="n">settled</th><th>server view</th><th>client view</th><th class="n">findings</th></tr>${rows.join('')}</table>
<p>Client ledger: ${num(l.connectionsCreated)} sockets opened, ${num(l.connectionsDestroyed)} closed, ${num(l.openSocketsAtEnd)} open at the end; ${num(l.reconnectAttempts)} reconnects, ${num(l.refusals)} refusals; peers ${num(l.peersCreated)} created, ${num(l.peersClosed)} closed, ${num(l.openPeersAtEnd)} open at the end.
${Object.entries(l.byKind).map(([k, x]) => `<code>${esc(k)}</code> ${x.opened}/${x.closed}`).join(' · ')}</p>${trendTable}`;
}

/** "+12.3 s" from the run's start for an ISO time (the stamp itself when either is unreadable). */
function sinceStart(r: Report, at: string): string {
  const ms = Date.parse(at) - Date.parse(r.startedAt);
  return Number.isFinite(ms) ? `+${(ms / 1000).toFixed(1)} s` : at;
}

/**
 * A checkpoint's server or client view in a line: its top-level numbers and its first
 * record of numbers (counts, open), e.g. "users 20 · open: chat 20, voice 0, notifications 20".
 */
function viewText(v: Record<string, unknown> | null): string {
  if (!v) return '—';
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'number') parts.push(`${k} ${num(x)}`);
    else if (x && typeof x === 'object' && !Array.isArray(x) && (k === 'counts' || k === 'open')) {
      const nums = Object.entries(x as Record<string, unknown>).filter(([, y]) => typeof y === 'number');
      if (nums.length) parts.push(`${k}: ${nums.map(([a, y]) => `${a} ${num(y as number)}`).join(', ')}`);
    }
  }
  return parts.length ? parts.join(' · ') : brief(v);
}

function errors(r: Report): string {
  if (!r.errors.length && !r.ledger.lastErrors.length) return '';
  const rows = r.errors.slice(0, 50).map((e) => `<tr><td><code>${esc(e.kind)}</code></td><td class="n">${num(e.count)}</td><td>${esc(e.message)}</td></tr>`);
  const last = r.ledger.lastErrors.slice(0, 20).map((e) => `<tr><td>user ${e.user}</td><td>${esc(e.error)}</td></tr>`);
  const e = errorTotals(r);
  const sum = `<p>${num(e.errors)} error${e.errors === 1 ? '' : 's'} (the <code>errors.*</code> counters) · ${num(e.refusals)} refusal${e.refusals === 1 ? '' : 's'}${e.notes ? ` · ${num(e.notes)} note${e.notes === 1 ? '' : 's'} about the target or the run` : ''}</p>`;
  return `<h2 id="errors">Errors</h2>${sum}${rows.length ? `<table><tr><th>kind</th><th class="n">count</th><th>message</th></tr>${rows.join('')}</table>` : ''}${last.length ? `<h3 style="margin-top:12px">last error per user</h3><table>${last.join('')}</table>` : ''}`;
}

function footer(r: Report): string {
  const g = r.generator;
  const rates = Object.entries(r.rates).map(([k, x]) => `${esc(k)} ${esc(formatRate(k, x))}`).join(' · ');
  return `<footer>rates: ${rates}<br>generator: ${g.processes} process${g.processes === 1 ? '' : 'es'}, event-loop delay p99 ${num(g.eventLoopDelayP99Ms)} ms (max ${num(g.eventLoopDelayMaxMs)}), CPU ${num((g.cpuUserMs + g.cpuSystemMs) / 1000)} s, peak RSS ${bytes(g.peakRssBytes)}<br>miscord-bench ${esc(r.tool.version)} · report schema ${r.schemaVersion} · ${esc(r.startedAt)} → ${esc(r.endedAt)}</footer>`;
}
