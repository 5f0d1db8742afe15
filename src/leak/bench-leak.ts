import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readdirSync } from 'node:fs';
import type { FindingDraft, LeakUserView } from './types.js';
import { label } from './views.js';

/**
 * bench-leak: the generator's own sockets, timers and handles not back to their baseline
 * once every user has left. The ledgers are the truth for sockets and timers (wrtc holds
 * the process open while Node's handle list shows nothing); /proc/self/fd and the active
 * resources catch what the ledgers do not know about.
 */
export interface BenchSample {
  fds: number | null;
  /** process.getActiveResourcesInfo() counted by type */
  resources: Record<string, number>;
}

let collector: (() => void) | null | undefined;

/**
 * A full collection, without --expose-gc on the command line: V8's flag set at run time
 * exposes `gc` to a new context (node's own tests do the same). null if the engine refuses.
 */
function fullGc(): (() => void) | null {
  if (collector !== undefined) return collector;
  try {
    collector = (globalThis as { gc?: () => void }).gc ?? null;
    if (!collector) {
      setFlagsFromString('--expose-gc');
      collector = runInNewContext('gc') as () => void;
    }
  } catch {
    collector = null;
  }
  return collector;
}

/** The generator's own memory at a soak cycle's checkpoint: the heap after a full collection (what it retains), and RSS. */
export function benchMemory(): { heapUsed: number; rss: number; afterGc: boolean } {
  const gc = fullGc();
  gc?.();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, afterGc: gc !== null };
}

export function benchSample(): BenchSample {
  let fds: number | null = null;
  try {
    fds = readdirSync('/proc/self/fd').length;
  } catch {
    // not Linux: the ledgers and active resources still tell
  }
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  return { fds, resources };
}

/** Resource types that are sockets or native handles; timers churn too much to judge by count. */
const JUDGED = ['TCPSocketWrap', 'TCPWRAP', 'PipeWrap', 'UDPWRAP', 'FSReqCallback'];

export function checkBenchLeak(users: LeakUserView[], baseline: BenchSample | null, now: BenchSample | null, tolerance = 16): FindingDraft[] {
  const drafts: FindingDraft[] = [];
  for (const v of users) {
    const base = { user: v.ledger.index, userId: v.ledger.userId ?? undefined, username: v.ledger.username };
    const open = [...v.ledger.sockets.values()].filter((s) => s.state === 'open' || s.state === 'connecting' || s.state === 'closing');
    for (const s of open) {
      drafts.push({
        class: 'bench-leak',
        message: `${label(v)} left but its ${s.kind} socket ${s.id} is still ${s.state}${s.frozen ? ' (frozen)' : ''}${s.abandoned ? ' (abandoned by a leaky switch)' : ''}`,
        subject: { ...base, kind: s.kind, socket: s.id },
        expected: 'closed',
        observed: s.state,
        since: s.openedAt,
        details: { ledgerRecord: s },
      });
    }
    const t = v.ledger.resources.timer;
    if (t.created > t.released) {
      drafts.push({
        class: 'bench-leak',
        message: `${label(v)} left but ${t.created - t.released} of its timers still run`,
        subject: { ...base, resource: 'timer' },
        expected: { open: 0 },
        observed: { open: t.created - t.released, ...t },
        details: { resources: v.ledger.resources },
      });
    }
  }
  if (baseline && now) {
    if (baseline.fds !== null && now.fds !== null && now.fds - baseline.fds > tolerance) {
      drafts.push({
        class: 'bench-leak',
        message: `the generator holds ${now.fds} open file descriptors, ${now.fds - baseline.fds} more than before the run (tolerance ${tolerance})`,
        subject: { resource: 'fds' },
        expected: { max: baseline.fds + tolerance },
        observed: now.fds,
        details: { baseline, now },
      });
    }
    for (const type of JUDGED) {
      const d = (now.resources[type] ?? 0) - (baseline.resources[type] ?? 0);
      if (d <= tolerance) continue;
      drafts.push({
        class: 'bench-leak',
        message: `the generator has ${d} more active ${type} handles than before the run (tolerance ${tolerance})`,
        subject: { resource: `handles:${type}` },
        expected: { max: (baseline.resources[type] ?? 0) + tolerance },
        observed: now.resources[type] ?? 0,
        details: { baseline, now },
      });
    }
  }
  return drafts;
}
