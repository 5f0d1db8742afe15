import { clock } from '../clock.js';
import type { PhaseConfig, Scenario } from '../scenario/schema.js';

/** One top-level phase of a run as the progress display sees it. */
export interface PlannedPhase {
  name: string;
  type: string;
  /** how long it should take (ms), or null when nothing says so ahead (it depends on the target) */
  durationMs: number | null;
  /** true when durationMs is the phase's own clock (chat, churn, idle, soak), false when it is a lower bound estimate */
  timed: boolean;
}

/** The phase's expected length: its clock when it has one, else what its parameters add up to. */
function expected(p: PhaseConfig, s: Scenario): { durationMs: number | null; timed: boolean } {
  switch (p.type) {
    case 'chat':
    case 'churn':
    case 'soak':
      return { durationMs: p.duration ?? s.duration, timed: true };
    case 'idle':
      return { durationMs: p.duration, timed: true };
    case 'connect':
      return { durationMs: p.rampUp, timed: false };
    case 'disconnect':
      return { durationMs: p.rampDown, timed: false };
    case 'switch':
      return { durationMs: p.switches * p.interval, timed: false };
    case 'multi-tab':
      return { durationMs: p.hold, timed: false };
    case 'voice':
      return { durationMs: p.stagger * Math.max(0, p.usersPerRoom - 1) + p.hold, timed: false };
    case 'freeze':
      return { durationMs: p.wait ?? null, timed: false };
    default:
      // custom (scripted) phases: their own function decides
      return { durationMs: null, timed: false };
  }
}

/** The plan of a scenario's top-level phases, named as the run names them (`<type>#<index>` without a name). */
export function planPhases(s: Scenario): PlannedPhase[] {
  return s.phases.map((p, i) => ({ name: p.name ?? `${p.type}#${i}`, type: p.type, ...expected(p, s) }));
}

/**
 * The time left in the run (ms) as far as the plan says: what remains of the current phase
 * plus every later phase. Null when a phase ahead (or the current one) has no known length.
 * Checkpoints and the final settle come on top; the caller shows it as an estimate.
 */
export function remainingMs(plan: readonly PlannedPhase[], index: number, phaseElapsedMs: number): number | null {
  if (index < 0 || index >= plan.length) return null;
  let left = 0;
  for (let i = index; i < plan.length; i++) {
    const d = plan[i]!.durationMs;
    if (d === null) return null;
    left += i === index ? Math.max(0, d - phaseElapsedMs) : d;
  }
  return left;
}

/** The live figures of the plan and the messages (LiveState's fields of the same names). */
export interface PlanFigures {
  /** the top-level phase running: its place in the plan (0-based; -1 before the first and after the last) */
  phaseIndex?: number;
  /** ms since that top-level phase began */
  phaseElapsedMs?: number;
  /** the scenario's top-level phases with their expected lengths */
  plan?: PlannedPhase[];
  /** the messages so far: sent, due (expected minus excused), delivered, lost */
  messages?: { sent: number; due: number; delivered: number; lost: number };
}

/** The LiveState fields of the plan and the messages, from the run's metrics (chat.* counters, flushed each sample). */
export function liveProgress(
  metrics: { get(name: string): number },
  plan: PlannedPhase[],
  at: { index: number; since: number },
  now = clock.now(),
): PlanFigures {
  const c = (k: string) => metrics.get(k);
  return {
    phaseIndex: at.index,
    phaseElapsedMs: Math.max(0, now - at.since),
    plan,
    messages: { sent: c('chat.sent'), due: c('chat.expected') - c('chat.excused'), delivered: c('chat.delivered'), lost: c('chat.lost') },
  };
}
