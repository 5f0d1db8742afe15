import type { SocketCounts } from '../protocol/stats-reading.js';
import type { FindingDraft, LeakUserView, Reconciliation } from './types.js';
import { classify, countByKind } from './views.js';
import { clock } from '../clock.js';

/**
 * The diff without [ext] stats: totals by socket type against the baseline read before
 * the run, so real users of a shared deployment cancel out. A plain Miscord counts chat and
 * notifications sockets only (its voice signaling sockets are invisible to it), so only
 * those two kinds are diffed; `tolerance` absorbs real users coming and going meanwhile.
 */
export interface V1ReconcileInput {
  baseline: SocketCounts;
  counts: SocketCounts;
  users: LeakUserView[];
  frozenWindowMs: number | null;
  frozenSince?: Map<string, number>;
  tolerance?: number;
  final?: boolean;
  now?: number;
}

const V1_KINDS = ['chat', 'notifications'] as const;

export function reconcileV1(input: V1ReconcileInput): Reconciliation {
  const now = input.now ?? clock.now();
  const tol = input.tolerance ?? 0;
  const drafts: FindingDraft[] = [];
  const notes: string[] = ['v1 stats: totals by type against the baseline; per-socket attribution needs the [ext] stats'];
  let pending = false;
  const inconclusive: Array<{ class: 'zombie-socket'; why: string }> = [];
  const req = { chat: 0, notifications: 0, voice: 0 };
  const opt = { chat: 0, notifications: 0, voice: 0 };
  const frozenDue = { chat: 0, notifications: 0, voice: 0 };
  const frozenIds: Record<string, string[]> = { chat: [], notifications: [] };
  // what the bench itself closed: a zombie is a closed socket still counted, so no more than these can be its own
  const closed = { chat: 0, notifications: 0, voice: 0 };
  for (const v of input.users) {
    const c = classify(v);
    for (const s of c.closed) closed[s.kind]++;
    for (const [k, n] of Object.entries(v.ledger.retired.byKind)) closed[k as keyof typeof closed] += n.closed;
    const r = countByKind(c.required);
    const o = countByKind(c.optional);
    for (const k of V1_KINDS) {
      req[k] += r[k];
      opt[k] += o[k];
    }
    for (const f of c.frozen) {
      if (f.kind === 'voice') continue;
      const since = f.frozenAt ?? input.frozenSince?.get(f.id);
      if (input.frozenWindowMs !== null && since !== undefined && now - since >= input.frozenWindowMs) {
        frozenDue[f.kind]++;
        frozenIds[f.kind]!.push(f.id);
      } else {
        opt[f.kind]++; // not yet due (or no heartbeat known): either answer is right
        if (input.frozenWindowMs !== null) pending = true;
      }
    }
  }
  for (const k of V1_KINDS) {
    const base = input.baseline[k];
    const server = input.counts[k];
    const lo = base + req[k] - tol;
    const hi = base + req[k] + opt[k] + tol;
    if (server > hi + frozenDue[k]) {
      // more than even the frozen sockets explain: the rest are closed sockets still counted
      const extra = server - hi - frozenDue[k];
      if (extra > closed[k]) {
        // more than the bench ever closed: at least extra - closed belong to someone else on a
        // shared deployment; totals alone cannot tell whether any of the rest are ours
        notes.push(`${extra} more ${k} socket(s) than the baseline and the bench's open ones, but the bench closed only ${closed[k]}: another client moved the total`);
        // none closed: none can be ours (judged clean); some closed: totals cannot tell which
        if (closed[k] > 0) inconclusive.push({ class: 'zombie-socket', why: `v1 totals: ${extra - closed[k]} ${k} socket(s) beyond anything the bench closed belong to another client; whether the bench's own ${closed[k]} closes left any behind cannot be told from totals` });
        continue;
      }
      drafts.push({
        class: 'zombie-socket',
        message: `the server counts ${extra} more ${k} socket(s) than the baseline (${base}) plus the simulated users' open ones (${req[k]}): sockets the clients closed are still registered`,
        subject: { kind: k },
        expected: { max: hi + frozenDue[k], baseline: base, clientOpen: req[k], clientInFlight: opt[k] },
        observed: server,
        details: { baseline: input.baseline, counts: input.counts },
      });
    }
    const frozenLeft = Math.min(frozenDue[k], Math.max(0, server - hi));
    if (frozenLeft > 0) {
      drafts.push({
        class: 'frozen-not-reaped',
        message: `the server still counts ${frozenLeft} of ${frozenDue[k]} frozen ${k} socket(s) past its heartbeat window of ${input.frozenWindowMs} ms`,
        subject: { kind: k },
        expected: { max: hi },
        observed: server,
        details: { frozenSockets: frozenIds[k], baseline: input.baseline, counts: input.counts },
      });
    }
    if (!input.final && server < lo) {
      drafts.push({
        class: 'phantom-socket',
        message: `the server counts ${lo + tol - server} fewer ${k} socket(s) than the baseline (${base}) plus the simulated users' open ones (${req[k]}): open client sockets it has forgotten`,
        subject: { kind: k },
        expected: { min: lo + tol, baseline: base, clientOpen: req[k] },
        observed: server,
        details: { baseline: input.baseline, counts: input.counts },
      });
    }
  }
  if (input.frozenWindowMs === null && Object.values(frozenIds).flat().length === 0 && input.users.some((v) => classify(v).frozen.length)) {
    notes.push('frozen-not-reaped skipped: the server\'s heartbeat is unknown (no [ext] config, none given)');
  }
  return { drafts, pending, notes, inconclusive };
}
