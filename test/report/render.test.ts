import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { mergeReports } from '../../src/report/merge.js';
import { regate } from '../../src/report/regate.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderJunit } from '../../src/report/render-junit.js';
import { renderMarkdown } from '../../src/report/render-md.js';
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
