import { describe, expect, it } from 'vitest';
import { liveProgress, planPhases, remainingMs } from '../../src/runner/phase-plan.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';

const scenario = parseScenario({
  name: 'plan',
  description: 'one of each',
  users: 4,
  duration: '3s',
  phases: [
    { type: 'connect', rampUp: '200ms' },
    { type: 'chat', name: 'talk', duration: '1s', messagesPerUserPerSec: 1 },
    { type: 'chat', messagesPerUserPerSec: 1 },
    { type: 'switch', switches: 4, interval: '250ms' },
    { type: 'voice', rooms: 1, usersPerRoom: 3, stagger: '100ms', hold: '500ms' },
    { type: 'idle', duration: '300ms' },
    { type: 'disconnect', rampDown: '50ms' },
  ],
});

describe('planPhases', () => {
  it('names each phase as the run does and gives its clock, or what its parameters add up to', () => {
    expect(planPhases(scenario)).toEqual([
      { name: 'connect#0', type: 'connect', durationMs: 200, timed: false },
      { name: 'talk', type: 'chat', durationMs: 1000, timed: true },
      // a chat phase without a duration runs for the scenario's
      { name: 'chat#2', type: 'chat', durationMs: 3000, timed: true },
      { name: 'switch#3', type: 'switch', durationMs: 1000, timed: false },
      { name: 'voice#4', type: 'voice', durationMs: 100 * 2 + 500, timed: false },
      { name: 'idle#5', type: 'idle', durationMs: 300, timed: true },
      { name: 'disconnect#6', type: 'disconnect', durationMs: 50, timed: false },
    ]);
  });
});

describe('remainingMs', () => {
  const plan = [
    { name: 'a', type: 'chat', durationMs: 1000, timed: true },
    { name: 'b', type: 'idle', durationMs: 500, timed: true },
  ];

  it('is what is left of the current phase plus every later one, never negative for an overrun', () => {
    expect(remainingMs(plan, 0, 0)).toBe(1500);
    expect(remainingMs(plan, 0, 400)).toBe(1100);
    expect(remainingMs(plan, 0, 5000)).toBe(500);
    expect(remainingMs(plan, 1, 100)).toBe(400);
  });

  it('is null outside the plan or when a phase ahead has no known length', () => {
    expect(remainingMs(plan, -1, 0)).toBeNull();
    expect(remainingMs(plan, 2, 0)).toBeNull();
    expect(remainingMs([...plan, { name: 'c', type: 'custom', durationMs: null, timed: false }], 0, 0)).toBeNull();
  });
});

describe('liveProgress', () => {
  it('reads the chat counters: due is expected minus excused; elapsed from the phase start, never negative', () => {
    const counters: Record<string, number> = { 'chat.sent': 10, 'chat.expected': 30, 'chat.excused': 4, 'chat.delivered': 25, 'chat.lost': 1 };
    const metrics = { get: (k: string) => counters[k] ?? 0 };
    const plan = planPhases(scenario);
    expect(liveProgress(metrics, plan, { index: 1, since: 1000 }, 1750)).toEqual({ phaseIndex: 1, phaseElapsedMs: 750, plan, messages: { sent: 10, due: 26, delivered: 25, lost: 1 } });
    expect(liveProgress(metrics, plan, { index: 1, since: 2000 }, 1750).phaseElapsedMs).toBe(0);
  });
});
