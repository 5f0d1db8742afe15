import { clock } from '../clock.js';
import { MbError } from '../errors.js';
import type { Logger } from '../log.js';
import { TOOL_VERSION } from '../version.js';
import { EventRings } from './event-rings.js';
import { formatEventBody, servicePrefixOf } from './format-event.js';
import { NdjsonWriter } from './ndjson-writer.js';
import { sanitizeEvent, type SanitizeOptions } from './sanitize.js';
import type { TraceEvent, TraceLine, Tracer } from './tracer.js';

export interface TracerOptions {
  /** the run's id, written in trace.start so `trace --report` can tell the trace belongs to the report */
  runId?: string;
  /** write NDJSON here (`run --trace FILE`); without it only the in-memory rings are kept */
  file?: string;
  /** keep message bodies (`--trace-bodies`); also shows addresses unless `redactAddresses` says otherwise */
  bodies?: boolean;
  /** redact non-loopback addresses in ICE candidates and SDP (default: unless bodies; `--trace-addresses` turns it off) */
  redactAddresses?: boolean;
  /** lifecycle events kept in memory per user for evidence (100; half as many chat messages) */
  perUser?: number;
  /** with a logger at debug level, every event is also one human line on it */
  log?: Logger;
  /** bound of the text waiting for the disk before lines are dropped (8 MiB) */
  maxBufferedBytes?: number;
  /** lines are written in chunks of about this size (64 KiB) */
  chunkBytes?: number;
}

export interface TracerStats {
  /** events emitted */
  events: number;
  /** lines that reached the file or are on their way (0 without one) */
  written: number;
  /** lines dropped because the disk could not keep up, or after a write error */
  dropped: number;
  /** the file's error, if writing failed (the run goes on without the rest of the trace) */
  error: string | null;
}

/**
 * The tracer of a run: every event is sanitized (bodies stripped, addresses redacted), kept
 * in the per-user rings that findings draw their evidence from, written to the NDJSON file
 * if there is one, and logged at debug level if asked. `emit` never throws and never waits.
 */
export class RunTracer implements Tracer {
  readonly writing: boolean;
  readonly bodies: boolean;
  private readonly sanitize: SanitizeOptions;
  private readonly start = clock.now();
  private readonly rings: EventRings;
  private readonly writer: NdjsonWriter | null;
  private readonly log: Logger | null;
  private seq = 0;
  private events = 0;
  private closing: Promise<void> | null = null;

  constructor(opts: TracerOptions = {}) {
    this.bodies = opts.bodies ?? false;
    this.sanitize = { bodies: this.bodies, redactAddresses: opts.redactAddresses ?? !this.bodies };
    this.rings = new EventRings(opts.perUser ?? 100);
    this.log = opts.log?.enabled('debug') ? opts.log : null;
    // the debug log reads every event too, so emitters must not skip the chatty ones
    this.writing = !!opts.file || this.log !== null;
    this.writer = opts.file
      ? new NdjsonWriter(opts.file, {
          chunkBytes: opts.chunkBytes,
          maxBufferedBytes: opts.maxBufferedBytes,
          droppedLine: (count) => JSON.stringify({ t: this.now(), ev: 'trace.dropped', count }),
        })
      : null;
    this.writer?.write(
      JSON.stringify({
        t: 0,
        ev: 'trace.start',
        ...(opts.runId ? { run: opts.runId } : {}),
        wall: new Date(clock.wall()).toISOString(),
        tool: 'miscord-bench',
        version: TOOL_VERSION,
        bodies: this.sanitize.bodies,
        addresses: this.sanitize.redactAddresses ? 'redacted' : 'shown',
      }),
    );
  }

  /** ms since the tracer started, to the microsecond. */
  now(): number {
    return Math.round((clock.now() - this.start) * 1000) / 1000;
  }

  emit(e: TraceEvent): void {
    const line = sanitizeEvent(e, this.now(), this.sanitize);
    this.events++;
    this.rings.add(++this.seq, line);
    if (this.writer) {
      if (this.writer.full()) this.writer.skip();
      else this.writer.write(serialise(line));
    }
    if (this.log) this.log.debug(servicePrefixOf(line), formatEventBody(line));
  }

  recent(user: number, filter?: { socket?: string; peer?: string }, limit = 20): TraceLine[] {
    return this.rings.recent(user, filter, limit);
  }

  stats(): TracerStats {
    return {
      events: this.events,
      written: this.writer?.written ?? 0,
      dropped: this.writer?.dropped ?? 0,
      error: this.writer?.error ? String(this.writer.error.message) : null,
    };
  }

  /** Resolves once the file is open (rejects with MB_ERR_USAGE if it cannot be written). */
  async ready(): Promise<void> {
    if (!this.writer) return;
    try {
      await this.writer.ready();
    } catch (err) {
      throw new MbError('MB_ERR_USAGE', `cannot write the trace file ${this.writer.file}: ${(err as Error).message}`, { file: this.writer.file }, { cause: err });
    }
  }

  /** Resolves once every line emitted so far has reached the file (tests, checkpoints). */
  async idle(): Promise<void> {
    await this.writer?.idle();
  }

  /** Flushes and resolves when the file is complete (its last line is `trace.end`). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.writer
      ? this.writer.close(() => JSON.stringify({ t: this.now(), ev: 'trace.end', events: this.events, dropped: this.writer!.dropped }))
      : Promise.resolve();
    return this.closing;
  }
}

function serialise(line: TraceLine): string {
  try {
    return JSON.stringify(line);
  } catch (err) {
    // a BigInt or a cycle in one event must not lose the event's existence
    return JSON.stringify({ t: line.t, ev: line.ev, user: line.user, socket: line.socket, peer: line.peer, error: `unserialisable event: ${(err as Error).message}` });
  }
}

/** The tracer of a run, synchronously; a bad file shows up in `stats().error` (prefer `openTracer`). */
export function createTracer(opts: TracerOptions = {}): RunTracer {
  return new RunTracer(opts);
}

/** The tracer of a run, once its file is open: a path that cannot be written is a usage error (exit 2). */
export async function openTracer(opts: TracerOptions = {}): Promise<RunTracer> {
  const tracer = new RunTracer(opts);
  try {
    await tracer.ready();
  } catch (err) {
    await tracer.close();
    throw err;
  }
  return tracer;
}
