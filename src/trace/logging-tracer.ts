import type { Logger } from '../log.js';
import { formatEventBody, servicePrefixOf } from './format-event.js';
import { sanitizeEvent } from './sanitize.js';
import type { TraceEvent, TraceLine, Tracer } from './tracer.js';

/**
 * Adds one debug log line per event to any tracer, with the Miscord-style prefix of the
 * service the event belongs to ([ChatService], [VoiceService], [NotificationService],
 * [Runner], [LeakDetector]). The line is built from the sanitized event, so the log shows
 * no more than the trace would. `createTracer({ log })` does the same without a wrapper.
 */
export class LoggingTracer implements Tracer {
  private readonly on: boolean;

  constructor(
    readonly inner: Tracer,
    readonly log: Logger,
    private readonly redactAddresses = !inner.bodies,
  ) {
    this.on = log.enabled('debug');
  }

  get writing(): boolean {
    return this.inner.writing || this.on;
  }

  get bodies(): boolean {
    return this.inner.bodies;
  }

  emit(e: TraceEvent): void {
    this.inner.emit(e);
    if (!this.on) return;
    const line = sanitizeEvent(e, 0, { bodies: this.inner.bodies, redactAddresses: this.redactAddresses });
    this.log.debug(servicePrefixOf(line), formatEventBody(line));
  }

  recent(user: number, filter?: { socket?: string; peer?: string }, limit?: number): TraceLine[] {
    return this.inner.recent(user, filter, limit);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
