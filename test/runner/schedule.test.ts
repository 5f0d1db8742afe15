import { describe, it, expect } from 'vitest';
import { createRng } from '../../src/runner/rng.js';
import { FIRE_AHEAD_MS, chatSchedule, churnSchedule, connectSchedule, runTimed, switchPlan } from '../../src/runner/schedule.js';
import { clock } from '../../src/clock.js';

const chatOpts = { durationMs: 10_000, messagesPerUserPerSec: 2, typingRatio: 0.3, pingEveryMs: 1000 };

describe('schedules from the seed', () => {
  it('the same seed gives the same schedule, another seed another one', () => {
    const users = [0, 1, 2, 3, 4];
    const a = chatSchedule(createRng(42), users, chatOpts);
    const b = chatSchedule(createRng(42), users, chatOpts);
    const c = chatSchedule(createRng(43), users, chatOpts);
    expect(a.length).toBeGreaterThan(50);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(churnSchedule(createRng(9), { arrivalsPerSec: 5, durationMs: 10_000, stay: { min: 1000, max: 5000 } })).toEqual(churnSchedule(createRng(9), { arrivalsPerSec: 5, durationMs: 10_000, stay: { min: 1000, max: 5000 } }));
    expect(switchPlan(createRng(1), 3, 0, 4, 10, 200)).toEqual(switchPlan(createRng(1), 3, 0, 4, 10, 200));
  });

  it("a user's stream does not depend on who else is in the run (shards see the same events)", () => {
    const all = chatSchedule(createRng(5), [0, 1, 2, 3], chatOpts);
    const shard0 = chatSchedule(createRng(5), [0, 2], chatOpts);
    expect(shard0).toEqual(all.filter((e) => e.user % 2 === 0));
  });

  it('is sorted, inside the duration, and near the asked rate', () => {
    const users = Array.from({ length: 50 }, (_, i) => i);
    const ev = chatSchedule(createRng(3), users, { ...chatOpts, typingRatio: 0 });
    for (let i = 1; i < ev.length; i++) expect(ev[i]!.at).toBeGreaterThanOrEqual(ev[i - 1]!.at);
    expect(ev.every((e) => e.at >= 0 && e.at < chatOpts.durationMs)).toBe(true);
    const messages = ev.filter((e) => e.kind === 'message').length;
    // 50 users x 2/s x 10 s = 1000 expected; a Poisson count stays well within 15 %
    expect(messages).toBeGreaterThan(850);
    expect(messages).toBeLessThan(1150);
  });

  it('never switches to the channel the user is in', () => {
    const plan = switchPlan(createRng(2), 0, 1, 3, 50, 100);
    let cur = 1;
    for (const s of plan) {
      expect(s.channel).not.toBe(cur);
      expect(s.channel).toBeGreaterThanOrEqual(0);
      expect(s.channel).toBeLessThan(3);
      cur = s.channel;
    }
  });

  it('ramps connections evenly and churn respects maxUsers', () => {
    expect(connectSchedule([0, 1, 2, 3], 1000).map((a) => a.at)).toEqual([0, 250, 500, 750]);
    expect(churnSchedule(createRng(1), { arrivalsPerSec: 100, durationMs: 10_000, stay: { min: 1, max: 2 }, maxUsers: 7 })).toHaveLength(7);
  });

  it('forked streams are independent of the order they are forked in', () => {
    const r1 = createRng(11);
    const x = r1.fork('a').next();
    r1.fork('b').next();
    const r2 = createRng(11);
    r2.fork('b').next();
    expect(r2.fork('a').next()).toBe(x);
  });
});

describe('runTimed', () => {
  it('fires events due within FIRE_AHEAD_MS in one wake-up, timing the early ones from when they fired', async () => {
    const start = clock.now();
    const fired: Array<{ at: number; intended: number; firedAt: number }> = [];
    const events = [{ at: 0 }, { at: FIRE_AHEAD_MS / 2 }, { at: 40 }];
    await runTimed(events, start, (e, intended) => fired.push({ at: e.at, intended, firedAt: clock.now() }), new AbortController().signal);
    expect(fired.map((f) => f.at)).toEqual([0, FIRE_AHEAD_MS / 2, 40]);
    for (const f of fired) {
      // never timed from later than it was due, nor from before it was sent
      expect(f.intended).toBeLessThanOrEqual(start + f.at);
      expect(f.intended).toBeLessThanOrEqual(f.firedAt);
      expect(f.firedAt).toBeGreaterThanOrEqual(start + f.at - FIRE_AHEAD_MS);
    }
    // the second is due 1 ms after the first, yet fires in the same wake-up
    expect(fired[1]!.firedAt - fired[0]!.firedAt).toBeLessThan(0.5);
  });
});
