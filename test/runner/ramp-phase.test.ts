import { describe, expect, it, onTestFinished } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { ReportSchema } from '../../src/report/schema.js';
import { kneeSymptoms, type RampStep } from '../../src/runner/ramp-phase.js';
import { limitProxy } from './limit-proxy.js';

const scenario = (ramp: Record<string, unknown> = {}) =>
  parseScenario({
    name: 'ramp-test',
    description: 'the ramp phase',
    users: 1,
    setup: { servers: 1, textChannels: 1, voiceChannels: 0 },
    settle: 500,
    phases: [{ type: 'ramp', name: 'ramp', step: 5, max: 20, hold: 200, canaryEvery: 50, stallAfter: 1500, recoverWithin: 8000, ...ramp }],
  });

describe('the ramp phase', () => {
  it('finds no knee on a clean server, and measures every step', async () => {
    const s = await createReferenceServer({ port: 0 });
    onTestFinished(() => s.close());
    const r = await runScenario({ scenario: scenario(), target: s.url, logLevel: 'error', leakCheck: false });
    expect(r.status).toBe('completed');
    expect(r.findings).toEqual([]);
    expect(r.counters['ramp.attempts.notifications.accepted']).toBe(20);
    expect(r.counters['ramp.peak_open.notifications']).toBe(20);
    expect(r.histograms['ramp.connect.notifications']!.count).toBe(20);
    expect(r.histograms['canary.http']!.count).toBeGreaterThan(4);
    expect(r.counters['canary.attempts.ok']).toBe(r.histograms['canary.http']!.count);
    expect(r.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/ramp of notifications sockets to 20 .* 5:.* 10:.* 15:.* 20:.* — no knee/));
    expect(() => ReportSchema.parse(r)).not.toThrow();
  });

  it('ramps voice sockets over as many rooms as their max_users needs', async () => {
    const s = await createReferenceServer({ port: 0 });
    onTestFinished(() => s.close());
    const sc = parseScenario({ name: 'v', description: 'v', users: 1, setup: { servers: 1, textChannels: 1, voiceChannels: 0, maxVoiceUsers: 3 }, phases: [{ type: 'ramp', kind: 'voice', step: 3, max: 7, hold: 100, canaryEvery: 50 }] });
    const r = await runScenario({ scenario: sc, target: s.url, logLevel: 'error', leakCheck: false });
    expect(r.findings).toEqual([]);
    expect(r.counters['ramp.attempts.voice.accepted']).toBe(7);
    expect(r.counters['ramp.peak_open.voice']).toBe(7);
  });

  it('takes refusals past the declared total for the promise kept, not a knee', async () => {
    const s = await createReferenceServer({ port: 0, maxTotal: 12 });
    onTestFinished(() => s.close());
    const r = await runScenario({ scenario: scenario({ kind: 'chat', stopAtKnee: false }), target: s.url, logLevel: 'error', leakCheck: false });
    expect(r.findings).toEqual([]);
    expect(r.counters['ramp.attempts.chat.accepted']).toBe(12);
    // the reference server refuses past its total with 1013 after the upgrade or 503 on it
    const expected = Object.entries(r.counters).filter(([k]) => /^expected_refusals\.chat\.(1013|503)$/.test(k));
    expect(expected.reduce((a, [, v]) => a + v, 0)).toBe(8);
    expect(r.counters['ramp.attempts.chat.refused']).toBe(8);
  });

  it('finds the knee of a pooled resource: stalled refusals and a failing canary, then the recovery', async () => {
    const t = await limitProxy({ pool: 8, stallMs: 2500 });
    const r = await runScenario({ scenario: scenario(), target: t.url, logLevel: 'error', leakCheck: false });
    const knees = r.findings.filter((f) => f.class === 'capacity-knee');
    expect(knees).toHaveLength(1);
    const k = knees[0]!;
    // step 10: the two sockets past the pool of 8 stall 2.5 s and get 403; the canary answers 500
    expect(k.observed).toMatchObject({ n: 8, recovered: true });
    expect(k.message).toMatch(/capacity knee at 8 notifications sockets: 2 of 5 new sockets refused \(403×2\) below the declared total of 1000; 2 new sockets took over 1500 ms to connect .*REST canary failed \d+ of \d+ calls \(500×\d+/);
    expect(k.message).toMatch(/recovered \d+ ms after the sockets closed/);
    expect(r.counters['ramp.attempts.notifications.refused']).toBe(2);
    expect(r.histograms['ramp.connect.notifications.refused']!.count).toBe(2);
    expect(r.counters['canary.failed.500']).toBeGreaterThan(0);
    expect(t.open()).toBe(0);
  });

  it('judges a latency jump against the first steps, with a floor for jitter', () => {
    const w = (p50: number) => ({ calls: 10, ok: 10, failed: 0, failures: {}, p50, max: p50, stalled: 0, pending: 0 });
    const step = (p50: number): RampStep => ({ open: 10, attempted: 5, accepted: 5, refused: {}, timedOut: 0, errors: 0, connectP50: 1, connectMax: 2, stalledConnects: 0, pingP50: 1, pingMax: 1, pingsLost: 0, canary: w(p50) });
    const first = [step(2), step(3)];
    const p = { latencyJump: 5, stallAfter: 5000 };
    expect(kneeSymptoms(step(50), [...first, step(50)], w(2), p, 1000, 0)).toEqual([]);
    expect(kneeSymptoms(step(400), [...first, step(400)], w(2), p, 1000, 0)).toEqual(['REST canary p50 400 ms, 200× the first steps\' 2 ms']);
    // a 4008 is the per-user limit (sockets the server still holds), not capacity; a 1013 below the total is
    expect(kneeSymptoms({ ...step(2), accepted: 4, refused: { 4008: 1 } }, first, w(2), p, 1000, 0)).toEqual([]);
    expect(kneeSymptoms({ ...step(2), accepted: 4, refused: { 1013: 1 } }, first, w(2), p, 1000, 0)).toEqual(['1 of 5 new sockets refused (1013×1) below the declared total of 1000']);
  });
});

describe('the run-wide canary', () => {
  it('samples the REST API through every phase of any run, and says when it fails', async () => {
    const t = await limitProxy({ pool: 2, stallMs: 0 });
    const r = await runScenario({
      scenario: parseScenario({ name: 'c', description: 'c', users: 3, canary: 100, setup: { servers: 1, textChannels: 1, voiceChannels: 0 }, phases: [{ type: 'connect', chat: false }, { type: 'idle', duration: 600 }, { type: 'disconnect' }] }),
      target: t.url,
      logLevel: 'error',
      leakCheck: false,
    });
    // three notifications sockets exhaust a pool of 2: the third is refused, and /api/auth/me answers 500 while two are open
    expect(r.histograms['canary.http']!.count).toBeGreaterThan(3);
    expect(r.counters['canary.failed.500']).toBeGreaterThan(0);
    expect(r.counters['canary.attempts.ok']).toBeGreaterThan(0);
  });
});
