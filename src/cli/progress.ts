import type { TimelineSample } from '../report/schema.js';
import type { LiveState } from '../runner/run-scenario.js';

/**
 * Live progress on stderr, one line rewritten in place, only for a TTY and not --quiet
 * (a piped stderr gets nothing of it).
 */
export class Progress {
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    readonly enabled = !!process.stderr.isTTY,
  ) {}

  update(s: TimelineSample, live: LiveState): void {
    if (!this.enabled) return;
    const line = `[${(live.elapsedMs / 1000).toFixed(0)}s] ${live.phase}  users ${live.users}  sockets ${s.client.total}${s.server ? ` (server ${s.server.total})` : ''}  msg/s ${s.messagesPerSec}  deliveries/s ${s.deliveriesPerSec}  errors ${live.errors}`;
    this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns ?? 120) - 1)}`);
    this.shown = true;
  }

  /** Clears the line; idempotent. */
  done(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
