import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { clock } from '../clock.js';

export interface NdjsonWriterOptions {
  /** lines are joined into chunks of about this many characters before one write (64 KiB) */
  chunkBytes?: number;
  /** at most this much text waits in memory, here and in the stream; beyond it lines are dropped (8 MiB of text, about 18 MB of heap) */
  maxBufferedBytes?: number;
  /** a partial chunk is written after at most this long, so a live trace can be followed (250 ms) */
  flushMs?: number;
  /** the line that replaces `count` dropped lines once writing resumes */
  droppedLine?: (count: number) => string;
}

/**
 * Appends NDJSON lines to a file without distorting the run that produces them: no sync
 * I/O and no promise per line. Lines are joined into chunks, chunks go to one WriteStream,
 * and while the stream is above its high-water mark chunks wait here until `drain`. Memory
 * stays bounded: past `maxBufferedBytes` lines are dropped and counted, and a single
 * `droppedLine(count)` takes their place when there is room again.
 */
export class NdjsonWriter {
  private readonly stream: WriteStream;
  private readonly chunkBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly droppedLine: (count: number) => string;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** event lines (not drop markers) waiting here, and handed to the stream but not yet confirmed */
  private pendingCount = 0;
  private inFlight = 0;
  private lostAccepted = 0;
  private waitingForDrain = false;
  private unreportedDrops = 0;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;
  private readonly opened: Promise<void>;
  /** lines accepted (written or waiting) */
  accepted = 0;
  /** lines accepted that reached the file or are on their way (accepted minus those a write error lost) */
  get written(): number {
    return this.accepted - this.lostAccepted;
  }
  /** lines dropped because the disk could not keep up or the file failed */
  dropped = 0;
  /** the first error of the file, after which every line is dropped */
  error: Error | null = null;

  constructor(
    readonly file: string,
    opts: NdjsonWriterOptions = {},
  ) {
    this.chunkBytes = opts.chunkBytes ?? 64 * 1024;
    this.maxBufferedBytes = Math.max(opts.maxBufferedBytes ?? 8 * 1024 * 1024, this.chunkBytes);
    this.droppedLine = opts.droppedLine ?? ((count) => JSON.stringify({ ev: 'trace.dropped', count }));
    this.stream = createWriteStream(file, { highWaterMark: this.chunkBytes * 2 });
    this.stream.on('drain', this.onDrain);
    this.stream.on('error', this.onError);
    this.opened = once(this.stream, 'open').then(() => undefined);
    // an unawaited rejection would crash the process: the error is kept in `error` anyway
    this.opened.catch(() => {});
    this.timer = clock.setInterval(() => this.flush(), opts.flushMs ?? 250);
    this.timer.unref?.();
  }

  /** Resolves once the file is open; rejects with the open error (missing folder, no permission). */
  ready(): Promise<void> {
    return this.opened;
  }

  /**
   * True when a line of about `size` characters would be dropped now: callers skip
   * serialising it, so tracing gets cheaper, not dearer, while the disk falls behind.
   */
  full(size = 256): boolean {
    if (this.error || this.closing) return true;
    return this.stream.writableLength + this.pendingBytes + size > this.maxBufferedBytes;
  }

  /** Counts a line that was not even serialised because the writer was full. */
  skip(): void {
    this.drop();
  }

  /** Queues one line (without its newline). Returns false when it was dropped. */
  write(line: string): boolean {
    if (this.error || this.closing) return this.drop();
    if (this.stream.writableLength + this.pendingBytes + line.length + 1 > this.maxBufferedBytes) return this.drop();
    if (this.unreportedDrops > 0) {
      this.push(this.droppedLine(this.unreportedDrops));
      this.unreportedDrops = 0;
    }
    this.push(line);
    this.pendingCount++;
    this.accepted++;
    if (this.pendingBytes >= this.chunkBytes) this.flush();
    return true;
  }

  /** Hands the pending lines to the stream unless it asked us to wait. */
  flush(): void {
    if (this.waitingForDrain || this.pending.length === 0 || this.error) return;
    const chunk = this.pending.join('\n') + '\n';
    const n = this.pendingCount;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingCount = 0;
    this.inFlight += n;
    // one callback per chunk, not per line: it tells how many lines a write error lost
    const ok = this.stream.write(chunk, (err) => {
      if (!err) this.inFlight -= n;
    });
    if (!ok) this.waitingForDrain = true;
  }

  /** Resolves once every accepted line has reached the file (the buffer is empty again). */
  async idle(): Promise<void> {
    while (!this.error && !this.closing) {
      if (this.waitingForDrain) {
        await once(this.stream, 'drain').catch(() => undefined);
        continue;
      }
      this.flush();
      if (this.waitingForDrain) continue;
      // an empty write completes after every write before it
      await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
      if (this.pending.length === 0 && !this.waitingForDrain) return;
    }
  }

  /** Writes everything still waiting and resolves when the file is complete. Idempotent. */
  close(lastLine?: () => string): Promise<void> {
    this.closing ??= this.finish(lastLine);
    return this.closing;
  }

  private async finish(lastLine?: () => string): Promise<void> {
    clock.clearInterval(this.timer);
    if (!this.error) {
      if (this.unreportedDrops > 0) this.push(this.droppedLine(this.unreportedDrops));
      this.unreportedDrops = 0;
      if (lastLine) this.push(lastLine());
      // on close the bound no longer matters: everything accepted goes out
      this.waitingForDrain = false;
      this.flush();
    }
    this.stream.off('drain', this.onDrain);
    if (this.stream.destroyed || this.stream.closed) return;
    const done = once(this.stream, 'close').catch(() => undefined);
    this.stream.end();
    await done;
  }

  private push(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
  }

  private drop(): false {
    this.dropped++;
    this.unreportedDrops++;
    return false;
  }

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    this.flush();
  };

  private readonly onError = (err: Error): void => {
    if (this.error) return;
    this.error = err;
    const lost = this.pendingCount + this.inFlight;
    this.lostAccepted += lost;
    this.dropped += lost;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingCount = 0;
    this.inFlight = 0;
  };
}
