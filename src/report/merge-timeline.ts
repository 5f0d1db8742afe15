import type { TimelineSample } from './schema.js';

/**
 * Aligns per-part timelines on wall time (1 s buckets from the earliest start) and combines
 * them. Client-side figures add up across parts. Server-side figures are one server seen from
 * every part when they share a target, so they take the max per bucket, never the sum.
 * Within a part's own span, a bucket it missed (sampling jitter) repeats its last sample,
 * so a part never looks like it dropped to zero for a second.
 */
export interface TimelinePart {
  startMs: number;
  samples: TimelineSample[];
}

export type ServerMode = 'max' | 'sum';

export function mergeTimelines(parts: TimelinePart[], startMs: number, server: ServerMode): TimelineSample[] {
  if (parts.length === 1 && parts[0]!.startMs === startMs) return parts[0]!.samples;
  const perPart = parts.map((p) => bucketize(p, startMs));
  const lo = Math.min(...perPart.map((b) => b.lo));
  const hi = Math.max(...perPart.map((b) => b.hi));
  const out: TimelineSample[] = [];
  if (!Number.isFinite(lo)) return out;
  for (let b = lo; b <= hi; b++) {
    const present = perPart.map((p) => p.at(b)).filter((s): s is TimelineSample => !!s);
    if (present.length) out.push(combineSamples(b * 1000, present, server));
  }
  return out;
}

function bucketize(p: TimelinePart, startMs: number) {
  const buckets = new Map<number, TimelineSample>();
  for (const s of p.samples) buckets.set(Math.round((p.startMs + s.t - startMs) / 1000), s);
  const keys = [...buckets.keys()];
  const lo = keys.length ? Math.min(...keys) : Infinity;
  const hi = keys.length ? Math.max(...keys) : -Infinity;
  let last: TimelineSample | undefined;
  const filled = new Map<number, TimelineSample>();
  for (let b = lo; b <= hi; b++) {
    last = buckets.get(b) ?? last;
    if (last) filled.set(b, last);
  }
  return { lo, hi, at: (b: number) => filled.get(b) };
}

/** Combines one sample per part taken at the same time (also the live progress of --workers). */
export function combineSamples(t: number, xs: TimelineSample[], mode: ServerMode): TimelineSample {
  const sum = (f: (s: TimelineSample) => number) => xs.reduce((a, s) => a + f(s), 0);
  const servers = xs.map((s) => s.server).filter((s): s is NonNullable<TimelineSample['server']> => s !== null);
  const pick = (f: (v: NonNullable<TimelineSample['server']>) => number) =>
    mode === 'max' ? Math.max(...servers.map(f)) : servers.reduce((a, v) => a + f(v), 0);
  const optional = (k: 'serverRssBytes' | 'serverHeapBytes' | 'serverOpenFds' | 'serverOpenHandles') => {
    const vs = xs.map((s) => s[k]).filter((v): v is number => typeof v === 'number');
    if (!vs.length) return undefined;
    return mode === 'max' ? Math.max(...vs) : vs.reduce((a, v) => a + v, 0);
  };
  const out: TimelineSample = {
    t,
    phase: [...new Set(xs.map((s) => s.phase))].join('/'),
    users: sum((s) => s.users),
    client: {
      total: sum((s) => s.client.total),
      chat: sum((s) => s.client.chat),
      voice: sum((s) => s.client.voice),
      notifications: sum((s) => s.client.notifications),
    },
    server: servers.length
      ? { total: pick((v) => v.total), chat: pick((v) => v.chat), voice: pick((v) => v.voice), notifications: pick((v) => v.notifications) }
      : null,
    peers: sum((s) => s.peers),
    messagesPerSec: sum((s) => s.messagesPerSec),
    deliveriesPerSec: sum((s) => s.deliveriesPerSec),
    errorsPerSec: sum((s) => s.errorsPerSec),
    eventLoopDelayMs: Math.max(...xs.map((s) => s.eventLoopDelayMs)),
  };
  for (const k of ['serverRssBytes', 'serverHeapBytes', 'serverOpenFds', 'serverOpenHandles'] as const) {
    const v = optional(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}
