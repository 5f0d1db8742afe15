import type { TraceLine } from './trace-event.js';

/** A fixed-size circular buffer of trace lines with their global sequence numbers. */
class Ring {
  private readonly lines: (TraceLine | undefined)[];
  private readonly seqs: Float64Array;
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.lines = new Array(capacity);
    this.seqs = new Float64Array(capacity);
  }

  push(seq: number, line: TraceLine): void {
    if (this.capacity === 0) return;
    const at = (this.head + this.size) % this.capacity;
    this.lines[at] = line;
    this.seqs[at] = seq;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
  }

  /** Matching entries, oldest first. */
  collect(match: (l: TraceLine) => boolean, out: Array<[number, TraceLine]>): void {
    for (let i = 0; i < this.size; i++) {
      const at = (this.head + i) % this.capacity;
      const line = this.lines[at]!;
      if (match(line)) out.push([this.seqs[at]!, line]);
    }
  }
}

/**
 * Chat traffic would flush the story of a socket out of one shared ring within seconds (a
 * user in a busy channel receives every message), so each user keeps two rings: one for
 * chatty events (chat messages, getStats samples) and one for everything else (opens,
 * closes, refusals, switches, signaling, ICE and connection states). A finding's evidence
 * merges both back in order, so the close that the server ignored is still there.
 */
export function isChatty(line: TraceLine): boolean {
  const ev = line.ev;
  if (ev === 'webrtc.stats') return true;
  if (ev.startsWith('msg.')) return typeof line.socket !== 'string' || !line.socket.includes('-voice-');
  return false;
}

export interface RingFilter {
  socket?: string;
  peer?: string;
}

/** The bounded in-memory memory of the tracer: per user, the last events of each sort. */
export class EventRings {
  private readonly rings = new Map<number, { chatty: Ring; lifecycle: Ring }>();
  private readonly chattyCap: number;

  /** `perUser` lifecycle events and half as many chatty ones are kept per user. */
  constructor(readonly perUser = 100) {
    this.chattyCap = Math.ceil(perUser / 2);
  }

  add(seq: number, line: TraceLine): void {
    const user = line.user;
    if (typeof user !== 'number') return;
    let r = this.rings.get(user);
    if (!r) this.rings.set(user, (r = { chatty: new Ring(this.chattyCap), lifecycle: new Ring(this.perUser) }));
    (isChatty(line) ? r.chatty : r.lifecycle).push(seq, line);
  }

  /** The last `limit` events of a user (only those of one socket or peer if asked), oldest first. */
  recent(user: number, filter?: RingFilter, limit = 20): TraceLine[] {
    const r = this.rings.get(user);
    if (!r || limit <= 0) return [];
    const match = (l: TraceLine) => (!filter?.socket || l.socket === filter.socket) && (!filter?.peer || l.peer === filter.peer);
    const hits: Array<[number, TraceLine]> = [];
    r.chatty.collect(match, hits);
    r.lifecycle.collect(match, hits);
    hits.sort((a, b) => a[0] - b[0]);
    return hits.slice(-limit).map((h) => h[1]);
  }

  users(): number[] {
    return [...this.rings.keys()];
  }
}
