import { clock, delay } from '../clock.js';
import type { Rng } from './rng.js';

/**
 * Schedules computed up front from the seed: the same seed gives the same schedule, and
 * every event carries its intended time, so latency is measured from when something was
 * meant to happen (a stalled generator or server cannot hide behind coordinated omission).
 * Times are ms offsets from the phase start.
 */

export interface Arrival {
  at: number;
  user: number;
}

/** Closed model: users arrive evenly over `rampUpMs` (all at once for 0). */
export function connectSchedule(users: readonly number[], rampUpMs: number): Arrival[] {
  const n = users.length;
  return users.map((user, i) => ({ at: n > 1 ? (rampUpMs * i) / n : 0, user }));
}

export type ChatEventKind = 'message' | 'typing' | 'ping';

export interface ChatEvent {
  at: number;
  user: number;
  kind: ChatEventKind;
}

export interface ChatScheduleOptions {
  durationMs: number;
  messagesPerUserPerSec: number;
  typingRatio: number;
  pingEveryMs: number;
}

const TYPING_LEAD_MS = 300;

/** Each user sends as a Poisson process (seeded exponential gaps), types before some messages, pings regularly. */
export function chatSchedule(rng: Rng, users: readonly number[], o: ChatScheduleOptions): ChatEvent[] {
  const out: ChatEvent[] = [];
  for (const user of users) {
    const r = rng.fork(`chat-u${user}`);
    if (o.messagesPerUserPerSec > 0) {
      for (let t = r.exp(o.messagesPerUserPerSec) * 1000; t < o.durationMs; t += r.exp(o.messagesPerUserPerSec) * 1000) {
        if (r.next() < o.typingRatio) out.push({ at: Math.max(0, t - TYPING_LEAD_MS), user, kind: 'typing' });
        out.push({ at: t, user, kind: 'message' });
      }
    }
    if (o.pingEveryMs > 0) {
      for (let t = r.range(0, o.pingEveryMs); t < o.durationMs; t += o.pingEveryMs) out.push({ at: t, user, kind: 'ping' });
    }
  }
  return out.sort((a, b) => a.at - b.at || a.user - b.user);
}

export interface SwitchStep {
  at: number;
  /** index into the server's text channels */
  channel: number;
}

/** Each user hops `switches` times, every `intervalMs` after a seeded offset, never to the channel it is in. */
export function switchPlan(rng: Rng, user: number, startChannel: number, channels: number, switches: number, intervalMs: number): SwitchStep[] {
  const r = rng.fork(`switch-u${user}`);
  const offset = r.range(0, intervalMs);
  const out: SwitchStep[] = [];
  let cur = startChannel;
  for (let k = 0; k < switches; k++) {
    let next = cur;
    if (channels > 1) {
      next = r.int(0, channels - 2);
      if (next >= cur) next++;
    }
    out.push({ at: offset + k * intervalMs, channel: next });
    cur = next;
  }
  return out;
}

export interface ChurnArrival {
  at: number;
  /** arrival number in the phase (global across shards) */
  n: number;
  stayMs: number;
}

/** Open model: Poisson arrivals at `arrivalsPerSec`, each staying a uniform random while. */
export function churnSchedule(rng: Rng, o: { arrivalsPerSec: number; durationMs: number; stay: { min: number; max: number }; maxUsers?: number }): ChurnArrival[] {
  const r = rng.fork('churn');
  const out: ChurnArrival[] = [];
  for (let t = r.exp(o.arrivalsPerSec) * 1000; t < o.durationMs; t += r.exp(o.arrivalsPerSec) * 1000) {
    if (o.maxUsers !== undefined && out.length >= o.maxUsers) break;
    out.push({ at: t, n: out.length, stayMs: r.range(o.stay.min, Math.max(o.stay.min, o.stay.max)) });
  }
  return out;
}

/**
 * Events due within this many ms of now fire with the ones due now: one wake-up of the
 * event loop for a burst instead of one per event (a wake-up costs more CPU than sending a
 * message). An event fired early is timed from when it fired, so no latency is understated.
 */
export const FIRE_AHEAD_MS = 2;

/**
 * Fires each event at its intended time (start + at), passing that time along. One loop
 * for all users, so a generator stall delays events without dropping them: the latency of
 * what fires late is still measured from when it was meant to fire.
 *
 * A `fire` that returns a promise starts a task that runTimed owns: it returns only once
 * every task has settled, also when the signal aborts the schedule (the abort is rethrown
 * after them), so no task's rejection is left without a listener. The settled results come
 * back in firing order.
 */
export async function runTimed<E extends { at: number }>(events: readonly E[], start: number, fire: (e: E, intended: number) => unknown, signal: AbortSignal, aheadMs = FIRE_AHEAD_MS): Promise<PromiseSettledResult<unknown>[]> {
  const tasks: Promise<PromiseSettledResult<unknown>>[] = [];
  let settled: PromiseSettledResult<unknown>[] = [];
  let i = 0;
  try {
    while (i < events.length) {
      if (signal.aborted) throw signal.reason;
      const now = clock.now();
      while (i < events.length && start + events[i]!.at <= now + aheadMs) {
        const e = events[i++]!;
        const due = start + e.at;
        const task = fire(e, due < now ? due : now);
        // settled at once, so a task that fails while the schedule sleeps is never an unhandled rejection
        if (task instanceof Promise) tasks.push(task.then((value) => ({ status: 'fulfilled', value }) as const, (reason: unknown) => ({ status: 'rejected', reason }) as const));
      }
      if (i < events.length) await delay(Math.min(1000, Math.max(0, start + events[i]!.at - clock.now())), signal);
    }
  } finally {
    // on the abort path too: the tasks listen to the same signal, so they end promptly
    settled = await Promise.all(tasks);
  }
  return settled;
}
