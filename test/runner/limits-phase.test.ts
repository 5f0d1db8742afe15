import { describe, expect, it, onTestFinished } from 'vitest';
import { createReferenceServer, type ReferenceServerOptions } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { ReportSchema, type Report } from '../../src/report/schema.js';
import { limitProxy } from './limit-proxy.js';

const scenario = (limits: Record<string, unknown> = {}) =>
  parseScenario({
    name: 'limits-test',
    description: 'the limits phase',
    users: 1,
    setup: { servers: 1, textChannels: 1, voiceChannels: 1, maxVoiceUsers: 3 },
    settle: 500,
    phases: [{ type: 'limits', name: 'limits', totalBound: 40, ...limits }],
  });

async function server(o: ReferenceServerOptions = {}): Promise<string> {
  const s = await createReferenceServer({ port: 0, ...o });
  onTestFinished(() => s.close());
  return s.url;
}

const violations = (r: Report) => r.findings.filter((f) => f.class === 'limit-violated');

describe('the limits phase', () => {
  it('passes a clean server: each limit holds exactly, the refusals it explains counted apart', async () => {
    const r = await runScenario({ scenario: scenario(), target: await server({ maxTotal: 20 }), logLevel: 'error' });
    expect(r.status).toBe('completed');
    expect(r.findings).toEqual([]);
    const c = r.counters;
    expect(c['limits.checked.per_user']).toBe(1);
    expect(c['limits.checked.total']).toBe(1);
    expect(c['limits.checked.room']).toBe(1);
    // three orders of kinds: the 4th socket is notifications, voice, notifications
    expect(c['expected_refusals.notifications.4008']).toBe(2);
    expect(c['expected_refusals.voice.4008']).toBe(1);
    expect(c['expected_refusals.notifications.1013']).toBe(1);
    expect(c['expected_refusals.voice.4005']).toBe(1);
    // 3 rounds of 3 (a user each) + 20 in all + a room of 3 plus a second tab
    expect(c['limits.attempts.accepted']).toBe(9 + 20 + 4);
    expect(Object.keys(c).filter((k) => k.startsWith('errors.') || k.startsWith('refusals.') || k.startsWith('limits.unexpected'))).toEqual([]);
    expect(r.rates.errors).toBe(0);
    expect(r.verdict.exitCode).toBe(0);
    expect(() => ReportSchema.parse(r)).not.toThrow();
  });

  it('finds a socket accepted past the promised per-user limit, with the counts at that moment', async () => {
    // the server takes 4 where 3 are promised (--expect-max-per-user 3): an off-by-one
    const r = await runScenario({ scenario: scenario({ total: false, room: false }), target: await server({ maxPerUser: 4 }), expectMaxPerUser: 3, logLevel: 'error' });
    const [f, ...more] = violations(r);
    expect(more).toEqual([]);
    expect(f!.message).toMatch(/socket 4 of user .* \(notifications, chat, voice, notifications\) was accepted past the per-user limit of 3 \(the server holds 4 of its sockets\)/);
    expect(f!.observed).toMatchObject({ acceptedAt: 4, counts: { userSockets: 4 } });
    expect(r.verdict.exitCode).toBe(5);
  });

  it('finds a socket refused before the promised per-user limit', async () => {
    const r = await runScenario({ scenario: scenario({ total: false, room: false, maxPerUser: 4 }), target: await server({ maxPerUser: 3 }), logLevel: 'error' });
    const [f] = violations(r);
    expect(f!.message).toMatch(/socket 4 of user .* was refused with close 4008 before the per-user limit of 4/);
    expect(f!.observed).toMatchObject({ refusedAt: 4, code: 4008 });
  });

  it('finds the total limit off by one', async () => {
    const r = await runScenario({ scenario: scenario({ perUser: false, room: false, maxTotal: 12 }), target: await server({ maxTotal: 13 }), logLevel: 'error' });
    const [f, ...more] = violations(r);
    expect(more).toEqual([]);
    expect(f!.message).toMatch(/socket 13 in all was accepted past the total limit of 12 \(the server holds 13\)/);
  });

  it('skips a total beyond its bound, and says so', async () => {
    const r = await runScenario({ scenario: scenario({ perUser: false, room: false }), target: await server(), logLevel: 'error' });
    expect(r.findings).toEqual([]);
    expect(r.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/total limit skipped: 1000 is above totalBound 40/));
  });

  it("holds a room to the max_users the server shows: one seat too many or too few is a violation", async () => {
    const more = await runScenario({ scenario: scenario({ perUser: false, total: false }), target: (await limitProxy({ maxUsersShift: 1 })).url, logLevel: 'error' });
    expect(violations(more).map((f) => f.message)).toEqual([expect.stringMatching(/voice room \d+ \(max_users 4\) refused its distinct user 4 of 4 with close 4005/)]);
    const fewer = await runScenario({ scenario: scenario({ perUser: false, total: false }), target: (await limitProxy({ maxUsersShift: -1 })).url, logLevel: 'error' });
    expect(violations(fewer).map((f) => f.message)).toEqual([expect.stringMatching(/voice room \d+ accepted distinct user 3 past its max_users of 2 \(the members route lists 3\)/)]);
  });
});
