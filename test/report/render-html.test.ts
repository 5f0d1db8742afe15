import { describe, expect, it } from 'vitest';
import { ratesOf } from '../../src/report/build-report.js';
import { groupFindings } from '../../src/report/finding-groups.js';
import { regate } from '../../src/report/regate.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderMarkdown } from '../../src/report/render-md.js';
import { renderSummary } from '../../src/report/render-summary.js';
import type { Finding, Report, TimelineSample } from '../../src/report/schema.js';
import { clientUntilServer, serverPoints } from '../../src/report/timeline-align.js';
import { makeReport } from './fixture.js';

/** A report whose rates come from its counters, as `run` writes them. */
function withCounters(r: Report, counters: Record<string, number>): Report {
  return { ...r, counters, rates: ratesOf(counters, r.durationMs) };
}

/** The last point of the SVG path drawn for the series named `name`. */
function lastPoint(html: string, name: string): [number, number] {
  const m = new RegExp(`<path d="([^"]+)" fill="none"[^>]*><title>${name}</title>`).exec(html);
  expect(m, `a path for ${name}`).not.toBeNull();
  const pts = [...m![1]!.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)];
  const p = pts.at(-1)!;
  return [Number(p[1]), Number(p[2])];
}

describe('html report of a leak', () => {
  it('groups 63 findings of one fault: one row and one collapsible per group, with counts', () => {
    const zombies = Array.from({ length: 63 }, (_, i) => ({ class: 'zombie-socket' as const, subject: { user: i, kind: 'chat' as const, socket: `u${i}-chat-1` } }));
    const stale = [0, 1].map((i) => ({ class: 'stale-voice-member' as const, subject: { user: i, kind: 'voice' as const, roomId: 7 }, checkpoint: 'after voice' }));
    const r = regate(makeReport({ findings: [...zombies, ...stale] }));
    const html = renderHtml(r);
    expect(html).toContain('<h2 id="findings">Findings (65 in 2 groups)</h2>');
    expect(html.match(/<details class="card finding"/g)).toHaveLength(2);
    expect(html).toMatch(/<summary><span class="badge">zombie-socket<\/span> × 63 · chat · at final — e\.g\. zombie-socket on user 0<\/summary>/);
    expect(html).toMatch(/<td>final<\/td><td class="n">63<\/td><td>user 0 chat socket u0-chat-1 <span class="muted">and 62 more<\/span>/);
    // every finding is still listed, and linkable, inside its group
    for (const f of r.findings) expect(html).toContain(`<tr id="f-${f.id}">`);
    // one story per group, not 63
    expect(html.match(/<table class="trace">/g)).toHaveLength(2);
    // the terminal too: a line per group and its first few findings
    const text = renderSummary(r);
    expect(text).toContain('  zombie-socket × 63 · chat · at final\n    F1 zombie-socket user 0 chat socket u0-chat-1: zombie-socket on user 0\n');
    expect(text.match(/^ {4}F\d+ zombie-socket/gm)).toHaveLength(3);
    expect(text).toContain('    … and 60 more in the report\n  stale-voice-member × 2 · voice · at after voice\n');
    expect(text.match(/^ {4}F\d+ stale-voice-member/gm)).toHaveLength(2);
    // markdown says the same groups
    const md = renderMarkdown(r);
    expect(md).toContain('- **zombie-socket** × 63 · chat · at final\n- **stale-voice-member** × 2 · voice · at after voice\n');
  });

  it('groups by class, then kind and checkpoint', () => {
    const f = (id: string, cls: Finding['class'], kind: 'chat' | 'voice' | undefined, checkpoint: string) =>
      ({ id, class: cls, subject: kind ? { kind } : {}, checkpoint }) as unknown as Finding;
    const groups = groupFindings([f('F1', 'zombie-socket', 'chat', 'final'), f('F2', 'slow-deregister', 'chat', 'final'), f('F3', 'zombie-socket', 'voice', 'final'), f('F4', 'zombie-socket', 'chat', 'final'), f('F5', 'zombie-socket', 'chat', 'after connect')]);
    expect(groups.map((g) => [g.class, g.kind, g.checkpoint, g.findings.map((x) => x.id).join(',')])).toEqual([
      ['zombie-socket', 'chat', 'final', 'F1,F4'],
      ['zombie-socket', 'voice', 'final', 'F3'],
      ['zombie-socket', 'chat', 'after connect', 'F5'],
      ['slow-deregister', 'chat', 'final', 'F2'],
    ]);
  });

  it('writes the delivery ratio one way in the terminal, markdown and html', () => {
    const r = regate(withCounters(makeReport({ thresholds: ['rates.deliveryRatio>=1'] }), { 'chat.sent': 1000, 'chat.expected': 100_000, 'chat.delivered': 95_914 }));
    expect(r.rates.deliveryRatio).toBeCloseTo(0.95914, 10);
    const outputs = { terminal: renderSummary(r), md: renderMarkdown(r), html: renderHtml(r) };
    for (const [name, text] of Object.entries(outputs)) {
      expect(text, name).toContain('0.9591');
      expect(text, name).not.toMatch(/0\.96(?!\d)|0\.959(?!\d)|0\.95914/);
    }
    // html: the tile, the gate's observed value and reason, and the footer
    expect(outputs.html.match(/0\.9591(?!\d)/g)!.length).toBeGreaterThanOrEqual(4);
  });

  it('has one errors total: the card, the footer and the errors section agree; refusals are their own', () => {
    const r = regate(withCounters({ ...makeReport(), errors: [{ kind: 'errors.ws', message: 'socket error after open', count: 2 }, { kind: 'refusals.4008', message: 'refused', count: 33 }, { kind: 'target', message: 'no /metrics', count: 1 }] }, { 'chat.sent': 10, 'errors.ws': 2, 'refusals.4008': 33 }));
    const html = renderHtml(r);
    expect(html).toContain('<div class="tile bad"><div class="v">2</div><div class="k">errors</div></div>');
    expect(html).toContain('<div class="tile bad"><div class="v">33</div><div class="k">refusals</div></div>');
    expect(html).toMatch(/<footer>rates: .*errors 2 · .*refusals 33/);
    expect(html).toContain('<p>2 errors (the <code>errors.*</code> counters) · 33 refusals · 1 note about the target or the run</p>');
    expect(html).not.toMatch(/<div class="v">3[56]<\/div><div class="k">errors/);
    expect(renderSummary(r)).toContain('errors 2, refusals 33, notes 1');
  });
});

describe('timeline: server and client lines', () => {
  // as the sampler records them: the server's figures land one sample late
  const clientTotals = [0, 10, 20, 20, 20, 10, 0];
  const timeline = (died = false): TimelineSample[] =>
    clientTotals.map((c, k) => {
      const prev = k > 0 && !(died && k >= 3) ? clientTotals[k - 1]! : null;
      return {
        t: k * 1000,
        phase: k < 1 ? 'connect' : 'chat',
        users: c / 2,
        client: { total: c, chat: c / 2, voice: 0, notifications: c / 2 },
        server: prev === null ? null : { total: prev, chat: prev / 2, voice: 0, notifications: prev / 2 },
        peers: 0,
        messagesPerSec: 0,
        deliveriesPerSec: 0,
        errorsPerSec: 0,
        eventLoopDelayMs: 1,
      };
    });

  it('draws the server figures at the time they were read: a clean run matches at every point and ends together', () => {
    const tl = timeline();
    const at = serverPoints(tl).filter((p) => p.sample.server);
    const client = clientUntilServer(tl, serverPoints(tl));
    expect(at.map((p) => [p.t, p.sample.server!.total])).toEqual(client.map((s) => [s.t, s.client.total]));
    // a sample that says when its server figures were read is drawn there
    expect(serverPoints([{ ...tl[2]!, serverT: 1900 }])[0]!.t).toBe(1900);
    const html = renderHtml(regate({ ...makeReport(), timeline: tl }));
    expect(lastPoint(html, 'client: open sockets')).toEqual(lastPoint(html, 'server: registered sockets'));
  });

  it('keeps the whole client line when the server stopped answering early', () => {
    const tl = timeline(true);
    expect(clientUntilServer(tl, serverPoints(tl))).toHaveLength(tl.length);
  });

  it('never cuts a phase label: a narrow band shows its number, the legend and the tooltip the full name', () => {
    const tl = [...timeline(), ...Array.from({ length: 60 }, (_, i) => ({ ...timeline()[6]!, t: (7 + i) * 1000, phase: 'disconnect' }))];
    const html = renderHtml(regate({ ...makeReport(), timeline: tl }));
    expect(html).not.toMatch(/<text class="bl"[^>]*>[^<]*…/);
    expect(html).not.toContain('connec…');
    // the 1 s connect band is narrow: its number, and its name as a tooltip
    expect(html).toMatch(/<g class="phase"><title>connect<\/title><rect [^>]*\/><text class="bl"[^>]*>1<\/text><\/g>/);
    expect(html).toMatch(/<text class="bl"[^>]*>disconnect<\/text>/);
    expect(html).toContain('<div class="phases">phases: <span><b>1</b>connect');
    expect(html).toContain('<b>3</b>disconnect');
  });
});
