import { closeSync, openSync, writeSync } from 'node:fs';
import { MbError } from '../errors.js';
import type { TimelineSample } from '../report/schema.js';
import type { LiveState } from '../runner/run-scenario.js';

/**
 * `--stream FILE`: the run as JSON lines, written as they come (one synchronous write per
 * line, so `tail -f` and a crash both see every line up to the last second):
 *
 *   {"type":"start","at":"<ISO>","scenario":"…","target":"…"}               when the run starts
 *   {"type":"plan","at":"<ISO>","plan":[{name,type,durationMs,timed}…]}     before the first sample
 *   {"type":"sample","at":"<ISO>","sample":{…timeline sample…},"live":{…}}   once a second
 *   {"type":"end","at":"<ISO>","status":"completed","exitCode":0,"durationMs":…,"report":"<path>","abortReason":null}
 *
 * `live` is the LiveState of the sample without the plan (it has its own line) and
 * without counters (the end's report has them all).
 */
export interface StreamEnd {
  status: string;
  exitCode: number;
  durationMs: number;
  report: string | null;
  abortReason: string | null;
  abortedBy?: unknown;
}

export class StreamWriter {
  private fd: number | null;
  private planned = false;

  /** Opens (truncates) the file now: a path we cannot write is a usage error before the run. */
  constructor(
    readonly path: string,
    head: { scenario: string; target: string },
  ) {
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw new MbError('MB_ERR_USAGE', `--stream ${path} cannot be written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    this.line({ type: 'start', ...head });
  }

  private line(obj: Record<string, unknown>): void {
    if (this.fd === null) return;
    writeSync(this.fd, JSON.stringify({ ...obj, at: new Date().toISOString() }) + '\n');
  }

  sample(sample: TimelineSample, live: LiveState): void {
    const { plan, counters: _c, ...rest } = live;
    if (!this.planned && plan) {
      this.planned = true;
      this.line({ type: 'plan', plan });
    }
    this.line({ type: 'sample', sample, live: rest });
  }

  /** Writes the end line and closes; idempotent (a second call writes nothing). */
  end(e: StreamEnd): void {
    if (this.fd === null) return;
    this.line({ type: 'end', ...e });
    closeSync(this.fd);
    this.fd = null;
  }
}
