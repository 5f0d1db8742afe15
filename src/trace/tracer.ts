import { clock } from '../clock.js';

/**
 * The trace of every protocol event of every simulated user. Client code calls
 * `tracer.emit(...)` at each event; the tracer keeps the last events per user in memory
 * (always, so findings carry evidence with or without --trace) and, with --trace FILE,
 * writes NDJSON off the hot path.
 *
 * Event names (`ev`) in use: http, socket.opening, socket.open, socket.refused,
 * socket.close, socket.closing, msg.sent, msg.recv, chat.switch, voice.join, voice.leave,
 * webrtc.offer, webrtc.answer, webrtc.ice, webrtc.ice_state, webrtc.conn_state,
 * media.first_audio, media.first_video, webrtc.stats, checkpoint, finding, error.
 */
export interface TraceEvent {
  ev: string;
  /** Simulated user index (stable across runs with the same seed). */
  user?: number;
  /** Client socket id from the ledger, e.g. u3-chat-2. */
  socket?: string;
  /** Peer id `u<index>->u<remoteUserId>`. */
  peer?: string;
  [field: string]: unknown;
}

export interface TraceLine extends TraceEvent {
  /** Monotonic ms since the tracer started. */
  t: number;
}

export interface Tracer {
  /** True when events go to a file (callers may skip building expensive fields otherwise). */
  readonly writing: boolean;
  /** Include message bodies in msg.* events. */
  readonly bodies: boolean;
  emit(e: TraceEvent): void;
  /** The last events concerning a user (and optionally one socket or peer), oldest first. */
  recent(user: number, filter?: { socket?: string; peer?: string }, limit?: number): TraceLine[];
  close(): Promise<void>;
}

/** In-memory tracer: a bounded ring of recent events per user, nothing written. */
export class MemoryTracer implements Tracer {
  readonly writing: boolean = false;
  readonly bodies: boolean = false;
  protected readonly start = clock.now();
  protected readonly rings = new Map<number, TraceLine[]>();

  constructor(protected readonly perUser = 200) {}

  emit(e: TraceEvent): void {
    const line = { t: Math.round((clock.now() - this.start) * 1000) / 1000, ...e } as TraceLine;
    this.remember(line);
  }

  protected remember(line: TraceLine): void {
    if (line.user === undefined) return;
    let ring = this.rings.get(line.user);
    if (!ring) this.rings.set(line.user, (ring = []));
    ring.push(line);
    if (ring.length > this.perUser) ring.splice(0, ring.length - this.perUser);
  }

  recent(user: number, filter?: { socket?: string; peer?: string }, limit = 20): TraceLine[] {
    const ring = this.rings.get(user) ?? [];
    const hits = ring.filter((l) => (!filter?.socket || l.socket === filter.socket) && (!filter?.peer || l.peer === filter.peer));
    return hits.slice(-limit);
  }

  async close(): Promise<void> {}
}
