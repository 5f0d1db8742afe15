import type { TimelineSample } from './schema.js';

/**
 * The server's figures of a timeline at the time they were read. The sampler takes the
 * client's counts at each tick, then starts a read of the server that lands in the next
 * sample: drawn at that sample's time the server line lags the client's by one sample, and
 * at the end, when the clients have just closed, it sits above the client's and reads as a
 * leak. A sample that says when its server figures were read (`serverT`) is drawn there;
 * one that does not is drawn at the previous sample's time, when its read started.
 */
export interface ServerPoint {
  /** ms since the run started */
  t: number;
  sample: TimelineSample;
}

export function serverPoints(timeline: readonly TimelineSample[]): ServerPoint[] {
  const out: ServerPoint[] = [];
  timeline.forEach((s, k) => {
    const t = s.serverT ?? (k > 0 ? timeline[k - 1]!.t : s.t);
    out.push({ t, sample: s });
  });
  return out;
}

/**
 * The client's samples up to the server's last reading, for charts that set the two side
 * by side: both lines end at the same time, so a clean run's lines end together. Only the
 * one sample the server's reading lags behind is dropped: when the server stopped answering
 * earlier (it died, its stats went away), the client's line is kept whole.
 */
export function clientUntilServer(timeline: readonly TimelineSample[], points: readonly ServerPoint[]): TimelineSample[] {
  const read = points.filter((p) => p.sample.server !== null);
  if (!read.length) return [...timeline];
  const last = read.at(-1)!.t;
  const after = timeline.filter((s) => s.t > last).length;
  return after <= 1 ? timeline.filter((s) => s.t <= last) : [...timeline];
}
