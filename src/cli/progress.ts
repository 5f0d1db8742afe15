import type { TimelineSample } from '../report/schema.js';
import type { LiveState } from '../runner/run-scenario.js';
import { remainingMs } from '../runner/phase-plan.js';
import { plain, type Palette } from '../report/paint.js';
import { paletteFor } from './colors.js';

/** What the display writes to: a TTY stream, or a fake one in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  columns?: number;
}

export interface ProgressOptions {
  /** ANSI colour (the caller decides: a TTY without NO_COLOR) */
  color?: boolean;
  /** width of the bar in cells */
  barWidth?: number;
  /** not a terminal: no redraw, one plain line every `everyMs` (default 5 s) instead */
  lines?: boolean;
  everyMs?: number;
}

/** 12s, 1m05s, 1h02m */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `[████░░░░]` filled to `fraction` (0..1); `#` and `-` without colour, so a plain terminal reads it too. */
export function bar(fraction: number, width: number, color: boolean): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return color ? `${'█'.repeat(full)}${'░'.repeat(width - full)}` : `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\u001b\[[0-9;]*m/g;
/** Visible width: ANSI styles take no cells. */
export const visibleLength = (s: string) => s.replace(ANSI_RE, '').length;

/**
 * The progress line's parts, most important first: the phase and its place in the plan, the
 * phase's bar with elapsed and remaining time (timed phases), the run's ETA, users, sockets
 * client against server, delivery ratio, deliveries per second, errors.
 */
export function progressSegments(s: TimelineSample, live: LiveState, p: Palette, barWidth: number, color: boolean): string[] {
  const out: string[] = [];
  const plan = live.plan;
  const idx = live.phaseIndex ?? -1;
  const planned = plan && idx >= 0 ? plan[idx] : undefined;
  const place = plan && idx >= 0 ? `[${idx + 1}/${plan.length}] ` : '';
  out.push(`${p.dim(place)}${p.bold(live.phase)} ${p.dim(formatDuration(live.elapsedMs))}`);
  const phaseMs = live.phaseElapsedMs ?? 0;
  if (planned?.durationMs && planned.timed) {
    const left = Math.max(0, planned.durationMs - phaseMs);
    out.push(`${p.cyan(bar(phaseMs / planned.durationMs, barWidth, color))} ${formatDuration(phaseMs)}/${formatDuration(planned.durationMs)} ${p.dim(`(${formatDuration(left)} left)`)}`);
  } else if (planned) {
    out.push(p.dim(`${formatDuration(phaseMs)} in phase`));
  }
  if (plan) {
    const eta = remainingMs(plan, idx, phaseMs);
    if (eta !== null) out.push(`ETA ~${formatDuration(eta)}`);
  }
  out.push(`users ${live.users}`);
  const server = s.server;
  const mismatch = server !== null && server.total !== s.client.total;
  out.push(`sockets ${s.client.total}${server ? ` / server ${mismatch ? p.yellow(String(server.total)) : server.total}` : ''}`);
  const m = live.messages;
  if (m && m.due > 0) {
    const ratio = m.delivered / m.due;
    const text = `delivered ${(Math.floor(ratio * 1000) / 10).toFixed(1)}%`;
    out.push(m.lost > 0 ? p.red(text) : text);
  }
  out.push(`${Math.round(s.deliveriesPerSec)} dlv/s`);
  out.push(live.errors > 0 ? p.red(`errors ${live.errors}`) : `errors 0`);
  return out;
}

/**
 * Joins the segments that fit in `columns - 1` cells, dropping from the least important;
 * the first (the phase) always stays, cut to the width when it alone is wider.
 */
export function fitLine(segments: string[], columns: number, sep = '  '): string {
  const max = Math.max(10, columns - 1);
  const [head = '', ...rest] = segments;
  if (visibleLength(head) > max) return head.replace(ANSI_RE, '').slice(0, max);
  const kept = [head];
  let width = visibleLength(head);
  for (const seg of rest) {
    const w = visibleLength(seg) + sep.length;
    if (width + w > max) continue;
    kept.push(seg);
    width += w;
  }
  return kept.join(sep);
}

/**
 * Live progress on stderr, not with --quiet: on a TTY one line rewritten in place; on
 * anything else (a CI log) one plain line every few seconds, so a long run is seen to go on.
 * Hand-drawn: a bar fed once a second by the runner needs no timer or dependency of its own.
 */
export class Progress {
  private shown = false;
  private readonly p: Palette;
  private readonly color: boolean;
  private readonly barWidth: number;
  private readonly lines: boolean;
  private readonly everyMs: number;
  private lastLineAt = -Infinity;

  constructor(
    private readonly stream: ProgressStream = process.stderr,
    readonly enabled = !!process.stderr.isTTY,
    o: ProgressOptions = {},
  ) {
    this.color = !!o.color;
    this.p = this.color ? paletteFor({ isTTY: true }, {}) : plain;
    this.barWidth = o.barWidth ?? 20;
    this.lines = !!o.lines;
    this.everyMs = o.everyMs ?? 5000;
  }

  /** The line for a sample (without the redraw codes). */
  line(s: TimelineSample, live: LiveState): string {
    return fitLine(progressSegments(s, live, this.p, this.barWidth, this.color), this.stream.columns ?? 120);
  }

  update(s: TimelineSample, live: LiveState): void {
    if (!this.enabled) return;
    if (this.lines) {
      if (live.elapsedMs - this.lastLineAt < this.everyMs) return;
      this.lastLineAt = live.elapsedMs;
      this.stream.write(`${this.line(s, live)}\n`);
      return;
    }
    this.stream.write(`\r\x1b[2K${this.line(s, live)}`);
    this.shown = true;
  }

  /** Clears the line; idempotent. */
  done(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
