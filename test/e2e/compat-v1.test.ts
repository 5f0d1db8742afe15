import { describe, expect, it } from 'vitest';
import { benchRun, target, tinyChat } from './helpers.js';

/**
 * The bench against a plain Miscord (the reference server in compat v1 mode): v1 stats
 * only, 403 refusals on the upgrade, no in-band switch, no ping frames, new_message chat.
 */
describe('run against a plain (v1) Miscord', () => {
  it('smoke completes: exit 0, delivery ratio 1, extStats false, switching falls back to reconnecting, no findings', async () => {
    const s = await target({ compat: 'v1', maxPerUser: 4 });
    const r = await benchRun('smoke', s.url, ['--users', '6', '--duration', '2s']);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report;
    expect(rep.status).toBe('completed');
    expect(rep.target).toMatchObject({ url: s.url, bundled: false, extStats: false });
    expect(rep.rates.deliveryRatio).toBe(1);
    expect(rep.counters['chat.delivered']).toBeGreaterThan(0);
    expect(rep.findings).toEqual([]);
    expect(rep.checkpoints.length).toBeGreaterThan(0);
    expect(rep.checkpoints.every((c) => c.mode === 'v1')).toBe(true);
    // in-band switching was tried, refused as an unknown type, and every switch then reconnected
    const fallback = rep.errors.filter((e) => e.kind === 'target' && /does not support in-band switch_channel/.test(e.message));
    expect(fallback).toHaveLength(1);
    expect(r.stderr.match(/WARN .*does not support in-band switch_channel/g)).toHaveLength(1);
    expect(rep.histograms['chat.switch']!.count).toBe(6 * 3 + 6 * 2);
    expect(rep.counters['errors.switch'] ?? 0).toBe(0);
    // the server saw only reconnects: no channel_switched was ever sent, sockets came and went
    const st = await s.stats();
    expect(st.counters!.connections_opened).toBe(rep.ledger.connectionsCreated);
    expect(st.counters!.rejected).toBe(0);
  });

  it('a zombie-socket server is caught by the v1 totals diff (exit 5); the clean one gives nothing', async () => {
    const clean = await target({ compat: 'v1', maxPerUser: 4 });
    const leaky = await target({ compat: 'v1', maxPerUser: 4, faults: ['zombie-socket'] });
    const scenario = tinyChat('v1-zombie');
    const [ok, bad] = await Promise.all([benchRun(scenario, clean.url), benchRun(scenario, leaky.url)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.report.findings).toEqual([]);
    expect(ok.report.target.extStats).toBe(false);
    expect(bad.code, bad.stderr).toBe(5);
    expect(bad.report.target.extStats).toBe(false);
    expect(bad.report.checkpoints.every((c) => c.mode === 'v1')).toBe(true);
    const classes = new Set(bad.report.findings.map((f) => f.class));
    expect([...classes]).toEqual(['zombie-socket']);
    // named by kind, as v1 totals allow: both chat and notifications sockets stayed registered
    expect(bad.report.findings.map((f) => f.subject.kind).sort()).toContain('chat');
    expect(bad.stderr).toMatch(/zombie-socket/);
  });

  it('refusals seen as HTTP 403 on the upgrade are recorded as such, with the status and reason', async () => {
    // a second tab brings a user to 4 sockets: the 4th (its second chat socket) is over the limit
    const s = await target({ compat: 'v1', maxPerUser: 3 });
    const r = await benchRun(tinyChat('v1-refused', { thresholds: ['rates.deliveryRatio>=1'] }), s.url, ['--no-leak-check']);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report;
    expect(rep.counters['refusals.403']).toBe(2);
    expect(Object.keys(rep.counters).filter((k) => k.startsWith('refusals.')).sort()).toEqual(['refusals.403', 'refusals.chat.403']);
    expect(rep.counters['refusals.chat.403']).toBe(2);
    // the refused attempts are samples of ws.connect.chat (a gate on refusals by kind can be written)
    expect(rep.counters['ws.attempts.chat.refused']).toBe(2);
    expect(rep.rates.refusals).toBe(2);
    expect(rep.ledger.refusals).toBe(2);
    expect(rep.errors).toContainEqual(expect.objectContaining({ kind: 'refusals.403', count: 2, message: expect.stringMatching(/HTTP 403 on the upgrade/) }));
    expect(rep.ledger.lastErrors.map((e) => e.error)).toContainEqual(expect.stringMatching(/^refused chat: 403 .*MAX_CONNECTIONS_PER_USER/));
    expect((await s.stats()).counters!.rejected).toBe(2);
  });
});
