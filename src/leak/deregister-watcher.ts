import { clock } from '../clock.js';
import type { SocketRecord, UserLedger } from '../client/ledger.js';
import type { SocketCounts, StatsReading } from '../protocol/stats-reading.js';
import type { SocketKind } from '../protocol/messages.js';
import { LatencyHistogram } from '../metrics/latency-histogram.js';
import type { FindingDraft } from './types.js';

/**
 * close_to_deregister: for every socket a client closes, the time until the server no
 * longer lists it. The detector feeds every stats reading in (and polls at a short interval
 * while closes are pending). With [ext], the server's entries for (user, kind, channel) are
 * counted against the user's sockets still open there: once the server lists no more than
 * that, the pending closes of that key are resolved, oldest first. With v1 only totals by
 * kind are known, so it counts against baseline + every known ledger's open sockets.
 *
 * A close never resolved within `giveUpMs` is dropped: that is a zombie, which the
 * checkpoint diff names; this watcher only measures the ones that do go.
 */
interface Pending {
  rec: SocketRecord;
  userIndex: number;
  userId: number;
  ledger: UserLedger | undefined;
  closedAt: number;
  /** when the latest reading that still listed it was asked for: the server surely held it then */
  heldAt: number;
}

export interface SlowClose {
  socket: string;
  user: number;
  userId: number;
  kind: SocketKind;
  channelId: number | null;
  ms: number;
}

const liveish = (s: SocketRecord) => s.state === 'open' || s.state === 'connecting' || s.state === 'closing';

export class DeregisterWatcher {
  readonly histogram = new LatencyHistogram();
  private pending: Pending[] = [];
  readonly slow: SlowClose[] = [];
  unmeasured = 0;
  givenUp = 0;

  constructor(
    private readonly o: {
      thresholdMs: number;
      giveUpMs: number;
      /** every ledger the detector knows, for the v1 count */
      ledgers: () => Iterable<UserLedger>;
      baseline: () => SocketCounts | null;
      /** v1: sockets of real users coming and going that are tolerated */
      tolerance?: number;
    },
  ) {}

  get pendingCount(): number {
    return this.pending.length;
  }

  add(userIndex: number, userId: number, rec: SocketRecord, ledger: UserLedger | undefined): void {
    if (rec.openedAt === undefined || rec.closedBy === 'server') return; // never registered, or the server closed it itself
    if (rec.crashed) return; // the server learns of a crash from its heartbeat: judged by the crash phase's checkpoint, not timed here
    const closedAt = rec.closedAt ?? clock.now();
    this.pending.push({ rec, userIndex, userId, ledger, closedAt, heldAt: closedAt });
  }

  /** `requestedAt`: when the reading was asked for, the estimate of when the server forgot (off by at most one poll). */
  observe(r: StatsReading, requestedAt: number): void {
    if (!this.pending.length) return;
    const keep: Pending[] = [];
    const resolved: Pending[] = [];
    if (r.ext) {
      // the server's entries counted by (user, kind, channel) once, not filtered per group
      const listed = new Map<string, number>();
      for (const c of r.stats.connections!) {
        const k = `${c.user_id}|${c.kind}|${c.channel_id}`;
        listed.set(k, (listed.get(k) ?? 0) + 1);
      }
      const groups = new Map<string, Pending[]>();
      for (const p of this.pending) {
        const k = `${p.userId}|${p.rec.kind}|${p.rec.channelId}`;
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(p);
      }
      for (const [k, g] of groups) {
        const { rec, ledger } = g[0]!;
        if (!ledger) {
          this.unmeasured += g.length;
          continue;
        }
        const server = listed.get(k) ?? 0;
        const client = [...ledger.sockets.values()].filter((s) => liveish(s) && s.kind === rec.kind && s.channelId === rec.channelId).length;
        const still = Math.max(0, server - client);
        g.sort((a, b) => a.closedAt - b.closedAt);
        resolved.push(...g.slice(0, Math.max(0, g.length - still)));
        keep.push(...g.slice(Math.max(0, g.length - still)));
      }
    } else {
      const base = this.o.baseline();
      if (!base) return;
      const open: Record<SocketKind, number> = { chat: 0, voice: 0, notifications: 0 };
      for (const l of this.o.ledgers()) for (const s of l.sockets.values()) if (liveish(s)) open[s.kind]++;
      for (const kind of ['chat', 'notifications'] as const) {
        const g = this.pending.filter((p) => p.rec.kind === kind).sort((a, b) => a.closedAt - b.closedAt);
        const still = Math.max(0, r.counts[kind] - base[kind] - open[kind] - (this.o.tolerance ?? 0));
        resolved.push(...g.slice(0, Math.max(0, g.length - still)));
        keep.push(...g.slice(Math.max(0, g.length - still)));
      }
      this.unmeasured += this.pending.filter((p) => p.rec.kind === 'voice').length; // v1 does not count voice sockets
    }
    for (const p of resolved) {
      const ms = Math.max(0, requestedAt - p.closedAt);
      this.histogram.record(ms);
      // slow only on proof: a reading asked for past the threshold still listed it. A late
      // poll (a stalled generator) makes `ms` large without saying when the server let go.
      if (p.heldAt - p.closedAt > this.o.thresholdMs) {
        this.slow.push({ socket: p.rec.id, user: p.userIndex, userId: p.userId, kind: p.rec.kind, channelId: p.rec.channelId, ms: Math.round(ms) });
      }
    }
    for (const p of keep) p.heldAt = Math.max(p.heldAt, requestedAt);
    const now = clock.now();
    this.pending = keep.filter((p) => {
      if (now - p.closedAt <= this.o.giveUpMs) return true;
      this.givenUp++;
      return false;
    });
  }

  /** One finding per socket kind (however many closes were slow) whose closes took longer than the threshold to deregister. */
  findings(): FindingDraft[] {
    const byKind = new Map<SocketKind, SlowClose[]>();
    for (const s of this.slow) {
      let l = byKind.get(s.kind);
      if (!l) byKind.set(s.kind, (l = []));
      l.push(s);
    }
    const drafts: FindingDraft[] = [];
    for (const [kind, list] of byKind) {
      const worst = [...list].sort((a, b) => b.ms - a.ms);
      const top = worst[0]!;
      drafts.push({
        class: 'slow-deregister',
        message: `${list.length} ${kind} socket close(s) took over ${this.o.thresholdMs} ms to leave the server's registry (worst ${top.ms} ms, ${top.socket})`,
        subject: { kind, resource: 'close_to_deregister' },
        evidenceOf: { user: top.user, socket: top.socket },
        expected: { maxMs: this.o.thresholdMs },
        observed: { slowCloses: list.length, worstMs: top.ms, p99Ms: this.histogram.percentile(99) },
        details: { slowest: worst.slice(0, 10), histogram: this.histogram.summary() },
      });
    }
    return drafts;
  }
}
