import { clock } from '../clock.js';
import { ROUTES } from '../protocol/messages.js';
import type { Metrics } from '../metrics/metrics.js';
import { timedSignal } from '../client/http-client.js';

/**
 * The REST canary: authenticated GETs (`/api/auth/me`, `/api/channels/` in turn, and a login
 * every 8th call when given an account) on a schedule, several times a second, whether or not the previous call has answered (up to `maxInFlight`), so a server
 * whose REST routes stall or fail while its sockets hold a resource shows it. Every call is
 * a sample in `canary.http` (and `canary.http.<outcome>` when it failed); `mark()` returns
 * what happened since the last mark, so a phase can judge each of its steps.
 *
 * Any phase may run one during its hold: `startRestCanary(...)`, then `await canary.stop()`.
 */
export interface CanaryWindow {
  calls: number;
  ok: number;
  failed: number;
  /** failures by HTTP status, `timeout` or `network` */
  failures: Record<string, number>;
  /** latency of the calls that answered in this window (ok or not), ms */
  p50: number | null;
  max: number | null;
  /** calls slower than `stallAfterMs` (answered or not) */
  stalled: number;
  /** of those, calls still unanswered at the mark */
  pending: number;
}

export interface RestCanaryOptions {
  httpUrl: string;
  token: string;
  everyMs: number;
  metrics?: Metrics;
  /** a call slower than this counts as stalled (default 5 s) */
  stallAfterMs?: number;
  /** a call is abandoned after this long (default 60 s, longer than a server's own stall) */
  timeoutMs?: number;
  maxInFlight?: number;
  /** the GET routes it takes in turn (default /api/auth/me and /api/channels/: both read the database on Miscord) */
  routes?: string[];
  /** also log in as this account every `loginEvery`-th call (default 8): a route that needs the database and no token */
  login?: { username: string; password: string };
  loginEvery?: number;
  signal?: AbortSignal;
}

export class RestCanary {
  private timer: NodeJS.Timeout | undefined;
  /** calls not answered yet, with when they started */
  private readonly inFlight = new Map<Promise<void>, number>();
  private window = emptyWindow();
  private latencies: number[] = [];
  private readonly stop$ = new AbortController();
  private stopped = false;
  private seq = 0;

  constructor(private readonly o: RestCanaryOptions) {}

  start(): this {
    const tick = () => {
      if (this.stopped) return;
      if (this.inFlight.size < (this.o.maxInFlight ?? 16)) {
        const p = this.call().finally(() => this.inFlight.delete(p));
        this.inFlight.set(p, clock.now());
      }
      this.timer = clock.setTimeout(tick, this.o.everyMs);
    };
    tick();
    return this;
  }

  /** One call now, outside the schedule: resolves with its outcome (used to judge recovery). */
  async probe(): Promise<{ ok: boolean; ms: number }> {
    const before = this.window.ok;
    const start = clock.now();
    await this.call();
    return { ok: this.window.ok > before, ms: clock.now() - start };
  }

  private async call(): Promise<void> {
    const start = clock.now();
    const m = this.o.metrics;
    let outcome: 'ok' | 'refused' | 'timed-out' | 'error' = 'ok';
    let key = '';
    const { signal, dispose } = timedSignal([this.stop$.signal, this.o.signal], this.o.timeoutMs ?? 60_000);
    try {
      const n = this.seq++;
      const routes = this.o.routes ?? [ROUTES.me, ROUTES.servers];
      const login = this.o.login && n % (this.o.loginEvery ?? 8) === (this.o.loginEvery ?? 8) - 1 ? this.o.login : null;
      const res = login
        ? await fetch(this.o.httpUrl + ROUTES.login, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(login).toString(), signal })
        : await fetch(this.o.httpUrl + routes[n % routes.length]!, { headers: { authorization: `Bearer ${this.o.token}` }, signal });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) (outcome = res.status >= 500 ? 'error' : 'refused'), (key = String(res.status));
    } catch (err) {
      if (this.stop$.signal.aborted || this.o.signal?.aborted) return;
      outcome = (err as Error).name === 'TimeoutError' ? 'timed-out' : 'error';
      key = outcome === 'timed-out' ? 'timeout' : 'network';
    } finally {
      dispose();
    }
    const ms = clock.now() - start;
    const w = this.window;
    w.calls++;
    this.latencies.push(ms);
    if (ms > (this.o.stallAfterMs ?? 5000)) w.stalled++;
    if (outcome === 'ok') w.ok++;
    else (w.failed++, (w.failures[key] = (w.failures[key] ?? 0) + 1));
    if (m) {
      m.record('canary.http', ms);
      m.inc(`canary.attempts.${outcome}`);
      if (outcome !== 'ok') (m.record(`canary.http.${outcome}`, ms), m.inc(`canary.failed.${key}`));
    }
  }

  /** What happened since the last mark (or the start). */
  mark(): CanaryWindow {
    const w = this.window;
    // a call still waiting past the stall bound is a stall of this window, whenever it answers
    const now = clock.now();
    for (const started of this.inFlight.values()) if (now - started > (this.o.stallAfterMs ?? 5000)) (w.stalled++, w.pending++);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    w.p50 = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : null;
    w.max = sorted.length ? sorted[sorted.length - 1]! : null;
    this.window = emptyWindow();
    this.latencies = [];
    return w;
  }

  /** Stops the schedule and abandons the calls in flight; idempotent. */
  async stop(): Promise<CanaryWindow> {
    this.stopped = true;
    clock.clearTimeout(this.timer);
    this.stop$.abort();
    await Promise.allSettled([...this.inFlight.keys()]);
    return this.mark();
  }
}

function emptyWindow(): CanaryWindow {
  return { calls: 0, ok: 0, failed: 0, failures: {}, p50: null, max: null, stalled: 0, pending: 0 };
}

export function startRestCanary(o: RestCanaryOptions): RestCanary {
  return new RestCanary(o).start();
}
