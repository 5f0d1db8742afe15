import { clock } from '../clock.js';
import type { TraceEvent, TraceLine } from './trace-event.js';
import { EventRings } from './event-rings.js';
import { sanitizeEvent } from './sanitize.js';

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
 * The tracer itself writes trace.start (first line: wall time, version, what is redacted),
 * trace.dropped (lines lost while the disk could not keep up, with their count) and
 * trace.end (last line: events, dropped); a file without trace.end was cut short.
 *
 * Implementations: `createTracer` / `openTracer` (src/trace/run-tracer.ts) for a run,
 * `MemoryTracer` below for tests.
 */
export type { TraceEvent, TraceLine } from './trace-event.js';

export interface Tracer {
  /**
   * True when events go to a file or to the debug log, i.e. someone reads every event:
   * callers may skip chatty events (each message received) or expensive fields otherwise.
   */
  readonly writing: boolean;
  /** Include message bodies in msg.* events. */
  readonly bodies: boolean;
  emit(e: TraceEvent): void;
  /** The last events concerning a user (and optionally one socket or peer), oldest first. */
  recent(user: number, filter?: { socket?: string; peer?: string }, limit?: number): TraceLine[];
  close(): Promise<void>;
}

/**
 * In-memory tracer: bounded rings of recent events per user, nothing written. Bodies are
 * stripped and addresses redacted exactly as in a run without --trace-bodies.
 */
export class MemoryTracer implements Tracer {
  readonly writing: boolean = false;
  readonly bodies: boolean = false;
  protected readonly start = clock.now();
  protected readonly rings: EventRings;
  private seq = 0;

  constructor(protected readonly perUser = 200) {
    this.rings = new EventRings(perUser);
  }

  emit(e: TraceEvent): void {
    const line = sanitizeEvent(e, Math.round((clock.now() - this.start) * 1000) / 1000, { bodies: false, redactAddresses: true });
    this.remember(line);
  }

  protected remember(line: TraceLine): void {
    this.rings.add(++this.seq, line);
  }

  recent(user: number, filter?: { socket?: string; peer?: string }, limit = 20): TraceLine[] {
    return this.rings.recent(user, filter, limit);
  }

  async close(): Promise<void> {}
}
