import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { mergeReports } from '../../src/report/merge.js';
import { regate } from '../../src/report/regate.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderJunit } from '../../src/report/render-junit.js';
import { renderMarkdown } from '../../src/report/render-md.js';
import { renderSummary } from '../../src/report/render-summary.js';
import { renderGateSummary } from '../../src/report/render-gate-summary.js';
import { FindingClassSchema } from '../../src/report/schema.js';
import { latencies, makeReport } from './fixture.js';

/** A report with something in every section: failed and passed gates, findings with evidence, voice. */
function richReport() {
  return regate(
    makeReport({
      samples: {
        'chat.deliver': latencies(2000, 1, 30, 1),
        'chat.switch': latencies(200, 3, 10, 2),
        'ws.connect.chat': latencies(100, 2, 5, 3),
        'http.login': latencies(50, 60, 40, 4),
        close_to_deregister: latencies(80, 1, 1600, 5),
      },
      findings: [
        { class: 'zombie-socket', message: 'server still holds u3-chat-2 <chat> 1.5 s after the client closed it', evidence: { details: { serverId: 'c17' }, trace: [{ t: 10.5, ev: 'socket.open', user: 3, socket: 'u3-chat-2' }, { t: 812.25, ev: 'socket.close', user: 3, socket: 'u3-chat-2', by: 'client', code: 1000 }] } },
        { class: 'stale-voice-member' },
      ],
      voiceRooms: 3,
      timelineSeconds: 40,
      clientSockets: 40,
      serverSockets: 44,
      thresholds: ['chat.deliver.p99<25ms', 'rates.deliveryRatio>=1', 'findings.total==0'],
    }),
  );
}

/** MB_KEEP_RENDER=/some/dir keeps the rendered files, to look at them (headless Chromium for the HTML). */
function keep(name: string, text: string) {
  const dir = process.env.MB_KEEP_RENDER;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
}

describe('renderers', () => {
  const r = richReport();

  it('markdown: verdict first, then gates, findings, latency and errors', () => {
    const md = renderMarkdown(r);
    keep('report.md', md);
    const first = md.split('\n')[0]!;
    expect(first).toMatch(/^## .* miscord-bench · smoke · leak found$/);
    const order = ['**Verdict:** leak found (exit 5', '### Gates', '### Findings (2)', '### Latency (ms)', '### Voice'].map((s) => md.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(md).toContain('| ❌ | `chat.deliver.p99<25ms` | scenario |');
    // a message with markup cannot break the table or inject HTML
    expect(md).toContain('&lt;chat&gt;');
  });

  it('junit: parses as XML, one case per gate and per finding class', () => {
    const xml = renderJunit(r);
    keep('report.xml', xml);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testsuite' || n === 'testcase' }).parse(xml);
    const [gates, leaks] = doc.testsuites.testsuite;
    expect(gates.testcase.map((c: { name: string }) => c.name)).toEqual(r.gates.map((g) => g.name));
    expect(gates.testcase.filter((c: { failure?: unknown }) => c.failure).map((c: { name: string }) => c.name)).toEqual(r.gates.filter((g) => !g.passed).map((g) => g.name));
    expect(leaks.testcase.map((c: { name: string }) => c.name)).toEqual(FindingClassSchema.options);
    const failedLeaks = leaks.testcase.filter((c: { failure?: unknown }) => c.failure).map((c: { name: string }) => c.name);
    expect(failedLeaks).toEqual(['zombie-socket', 'stale-voice-member']);
    expect(Number(doc.testsuites.failures)).toBe(r.gates.filter((g) => !g.passed).length + 2);
    expect(leaks.testcase.find((c: { name: string }) => c.name === 'zombie-socket').failure['#text']).toContain('<chat>');
  });

  it('junit: an incomplete run has a failed "run completed" case', () => {
    const xml = renderJunit(regate(makeReport({ status: 'incomplete' })));
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toMatch(/<testcase classname="miscord-bench.smoke.gates" name="run completed" time="0">\s*<failure type="incomplete" message="server died">/);
  });

  it('html: self-contained, no script, no external resource, every section drawn', () => {
    const html = renderHtml(r);
    keep('report.html', html);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(/i);
    // the only URLs in the page are the report's own loopback target, shown as text
    for (const u of html.match(/https?:\/\/[^\s"'<)]+/g) ?? []) expect(u).toMatch(/^http:\/\/127\.0\.0\.1/);
    for (const id of ['gates', 'findings', 'latency', 'timeline', 'voice', 'checkpoints']) expect(html).toContain(`id="${id}"`);
    expect(html).toMatch(/<header class="verdict leak"><div class="word">leak found<\/div>/);
    expect(html).toContain('open sockets: client against server');
    // one percentile curve per histogram with samples, decoded from the encoding
    expect(html.match(/<svg class="chart"/g)!.length).toBeGreaterThanOrEqual(5 + 2);
    expect(html).toContain('server still holds u3-chat-2 &lt;chat&gt;');
    expect(html).not.toContain('<chat>');
  });

  it('html and markdown render merged and empty reports too', () => {
    const merged = regate(mergeReports([makeReport({ shard: { index: 0, count: 2 } }), makeReport({ shard: { index: 1, count: 2 }, startedAt: '2026-01-01T00:00:01.000Z' })]));
    keep('merged.html', renderHtml(merged));
    expect(renderHtml(merged)).toContain('2 shards merged');
    expect(renderMarkdown(merged)).toContain('merged from 2 reports (shards of one run): s0, s1');
    const empty = regate(makeReport({ samples: {}, timelineSeconds: 0 }));
    expect(renderHtml(empty)).toContain('Nothing was measured');
    expect(renderMarkdown(empty).split('\n')[0]).toMatch(/passed$/);
  });
});

describe('gates that could not be judged', () => {
  it('an unreachable target: 4 gates not judged, said once, never also as failed gates', () => {
    const r = regate(
      makeReport({ status: 'incomplete', samples: {}, counters: {}, thresholds: ['chat.deliver.p99<250ms', 'ws.connect.chat.p99<1s', 'rates.deliveryRatio>=1', 'findings.total==0'] }),
    );
    const unreachable = regate({ ...r, checkpoints: [], rates: {} });
    expect(unreachable.verdict).toMatchObject({ exitCode: 3, failedGates: 0, unjudgedGates: 4 });
    const text = renderSummary(unreachable);
    expect(text.match(/not judged/g)).toHaveLength(2);
    expect(text).toContain('4 gates not judged, nothing measured before the run stopped');
    expect(text).not.toMatch(/failed gate|gate failed/);
    expect(text.trim().split('\n').at(-1)).toMatch(/^incomplete \(exit 3, 4 gates not judged, incomplete: server died\)$/);
  });

  it('findings.total==0 with no leak check is not judged anywhere: summary, gate, md, html, junit', () => {
    const base = makeReport({ thresholds: ['findings.total==0', 'chat.deliver.p99<1s'] });
    const r = regate({ ...base, checkpoints: [{ ...base.checkpoints[0]!, mode: 'none', server: null }] });
    expect(r.verdict).toMatchObject({ exitCode: 4, passed: false, failedGates: 0, unjudgedGates: 1 });
    const summary = renderSummary(r);
    expect(summary).toContain("gate not judged: findings.total==0 (scenario): findings.total: no checkpoint read the server's counts");
    expect(summary.trim().split('\n').at(-1)).toBe('not judged (exit 4, 1 gate not judged)');
    expect(renderGateSummary(r)).toMatch(/^\? findings.total==0 \(scenario\) not judged: /m);
    expect(renderMarkdown(r)).toContain('| ❔ not judged | `findings.total==0` | scenario | — |');
    const html = renderHtml(r);
    expect(html).toContain('<tr class="unjudged"><td><span class="nj" title="not judged">?</span></td><td><code>findings.total==0</code>');
    expect(html).not.toMatch(/<span class="ok">✓<\/span><\/td><td><code>findings\.total==0/);
    const xml = renderJunit(r);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toMatch(/name="findings.total==0" time="0">\s*<skipped message="not judged: /);
    expect(xml).toContain('failures="0" errors="0" skipped="1"');
  });
});
