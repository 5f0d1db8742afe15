import { decodeColumns } from '../metrics/columns.js';
import { LatencyHistogram } from '../metrics/latency-histogram.js';
import type { ShardTrafficReport } from './schema.js';

/**
 * Joins the shards' traffic records (src/client/shard-traffic.ts): every message one shard
 * sent is expected on each socket of every other shard that was subscribed to its server and
 * text channel when it was sent, as the local accounting expects it on the sender's own
 * sockets. Such an expectation is delivered when that socket received the message, excused
 * when the client closed or switched the socket after the send and within the timeout (what
 * a client drops on purpose is not a loss, as in one process), lost otherwise. A receipt that
 * matches no expectation is counted `unexpected`.
 *
 * Clocks: each shard bounds (target clock − its clock) from its own messages' round trips.
 * Between two shards the correction is the smallest one those bounds allow: none when they
 * overlap (the clocks agree within what was measured, as on one machine), else the nearest
 * end. Send times are moved onto the receiver's clock by it, and the latency of a receipt
 * (measured from the send time carried in the message) is corrected by it.
 */
export interface TrafficJoin {
  expected: number;
  delivered: number;
  excused: number;
  lost: number;
  unexpected: number;
  latency: LatencyHistogram;
  /** the per-shard offset bounds, and the largest correction applied between two shards (ms) */
  clocks: Array<{ shard: number; lowMs: number | null; highMs: number | null; samples: number }>;
  maxCorrectionMs: number;
  dropped: number;
}

interface Decoded {
  rec: ShardTrafficReport;
  sent: Float64Array;
  /** server id → segments (socket, filter, from, to) */
  segs: Map<number, number[][]>;
  /** socket → sorted excuse times */
  excuses: Map<number, number[]>;
  /** socket key → raw latency; matched ones are deleted */
  receipts: Map<number, number>;
}

/** One number per (socket, message): socket ids and message numbers stay far below 2^26 each in any run this tool makes. */
const key = (socket: number, seq: number) => socket * 2 ** 26 + seq;

function decode(rec: ShardTrafficReport): Decoded {
  const subs = decodeColumns(rec.subs, 5);
  const segs = new Map<number, number[][]>();
  for (let i = 0; i < subs.length; i += 5) {
    const list = segs.get(subs[i + 1]!) ?? [];
    list.push([subs[i]!, subs[i + 2]!, subs[i + 3]!, subs[i + 4]!]);
    segs.set(subs[i + 1]!, list);
  }
  const ex = decodeColumns(rec.excuses, 2);
  const excuses = new Map<number, number[]>();
  for (let i = 0; i < ex.length; i += 2) {
    const list = excuses.get(ex[i]!) ?? [];
    list.push(ex[i + 1]!);
    excuses.set(ex[i]!, list);
  }
  for (const l of excuses.values()) l.sort((a, b) => a - b);
  const rc = decodeColumns(rec.receipts, 3);
  const receipts = new Map<number, number>();
  for (let i = 0; i < rc.length; i += 3) {
    const k = key(rc[i]!, rc[i + 1]!);
    if (!receipts.has(k)) receipts.set(k, rc[i + 2]!);
  }
  return { rec, sent: decodeColumns(rec.sent, 4), segs, excuses, receipts };
}

/** The smallest correction (ms, added to `from`'s times to read them on `to`'s clock) the bounds allow. */
export function clockCorrection(from: ShardTrafficReport['clock'], to: ShardTrafficReport['clock']): number {
  if (from.lowMs === null || from.highMs === null || to.lowMs === null || to.highMs === null) return 0;
  // (target − from) − (target − to) = to's clock − from's clock
  const lo = from.lowMs - to.highMs;
  const hi = from.highMs - to.lowMs;
  if (lo <= 0 && hi >= 0) return 0;
  return lo > 0 ? lo : hi;
}

/** true when some excuse time lies in (after, until] */
function excusedBetween(times: number[] | undefined, after: number, until: number): boolean {
  if (!times) return false;
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo < times.length && times[lo]! <= until;
}

export function joinTraffic(records: ShardTrafficReport[]): TrafficJoin {
  const parts = records.map(decode);
  const out: TrafficJoin = {
    expected: 0,
    delivered: 0,
    excused: 0,
    lost: 0,
    unexpected: 0,
    latency: new LatencyHistogram(),
    clocks: records.map((r) => ({ shard: r.shard.index, ...r.clock })),
    maxCorrectionMs: 0,
    dropped: records.reduce((a, r) => a + r.dropped, 0),
  };
  for (const to of parts) {
    for (const from of parts) {
      if (from === to) continue;
      // send times of `from` read on the clock of `to`
      const c = clockCorrection(from.rec.clock, to.rec.clock);
      out.maxCorrectionMs = Math.max(out.maxCorrectionMs, Math.abs(c));
      const timeout = to.rec.timeoutMs;
      const s = from.sent;
      for (let i = 0; i < s.length; i += 4) {
        const seq = s[i]!;
        const channel = s[i + 2]!;
        const t = s[i + 3]! + c;
        for (const [socket, filter, a, b] of to.segs.get(s[i + 1]!) ?? []) {
          if (t < a! || t >= b! || (filter !== -1 && filter !== channel)) continue;
          out.expected++;
          const k = key(socket!, seq);
          const raw = to.receipts.get(k);
          if (raw !== undefined) {
            to.receipts.delete(k);
            out.delivered++;
            out.latency.record(raw - c);
          } else if (excusedBetween(to.excuses.get(socket!), t, t + timeout)) out.excused++;
          else out.lost++;
        }
      }
    }
    out.unexpected += to.receipts.size;
  }
  return out;
}
