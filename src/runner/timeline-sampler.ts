import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { clock } from '../clock.js';
import { fetchMetricsSample, fetchStats } from '../client/fetch-stats.js';
import { sampleOfStats, type ServerSample, type SocketCounts } from '../protocol/stats-reading.js';
import type { DeliveryTracker } from '../client/delivery-tracker.js';
import type { SimulatedUser } from '../client/simulated-user.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TimelineSample } from '../report/schema.js';

export interface SamplerOptions {
  httpUrl: string;
  /** read the server's counts each second (off when the stats route is missing) */
  serverStats: boolean;
  users(): Iterable<SimulatedUser>;
  online(): number;
  phase(): string;
  tracker: DeliveryTracker;
  metrics: Metrics;
  signal: AbortSignal;
  onSample?(s: TimelineSample): void;
  intervalMs?: number;
}

/** Sums of every `errors.*` counter. */
export function errorTotal(metrics: Metrics): number {
  let n = 0;
  for (const [k, v] of metrics.counters) if (k.startsWith('errors.')) n += v;
  return n;
}

/** Open sockets and peers the simulated users hold, by kind. */
export function clientCounts(users: Iterable<SimulatedUser>): { counts: SocketCounts; peers: number } {
  const counts: SocketCounts = { total: 0, chat: 0, voice: 0, notifications: 0 };
  let peers = 0;
  for (const u of users) {
    for (const s of u.ledger.sockets.values()) {
      if (s.state !== 'open') continue;
      counts.total++;
      counts[s.kind]++;
    }
    peers += u.ledger.peersCreated - u.ledger.peersClosed;
  }
  return { counts, peers };
}

/**
 * The timeline: once a second, the client's open sockets, the server's counts (when its
 * stats answer), rates, and the generator's event-loop delay. Also sweeps the delivery
 * accounting so lost messages are counted as they time out.
 */
export class TimelineSampler {
  readonly samples: TimelineSample[] = [];
  /** event-loop delay over the whole run */
  readonly eld: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly perSecond: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private timer: NodeJS.Timeout | undefined;
  private readonly start = clock.now();
  private last = { at: clock.now(), sent: 0, delivered: 0, errors: 0 };
  private inFlight: Promise<void> | null = null;
  /** the target's /metrics has the sample's figures (until it turns out not to) */
  private viaMetrics = true;
  private stopped = false;
  private lastServer: Pick<TimelineSample, 'server' | 'serverRssBytes' | 'serverHeapBytes' | 'serverOpenFds' | 'serverOpenHandles'> = { server: null };

  constructor(private readonly o: SamplerOptions) {}

  begin(): void {
    this.eld.enable();
    this.perSecond.enable();
    this.timer = clock.setInterval(() => this.tick(), this.o.intervalMs ?? 1000);
    this.timer.unref?.();
  }

  private tick(): void {
    const { tracker, metrics } = this.o;
    tracker.sweep();
    tracker.flush();
    const now = clock.now();
    const dt = Math.max(1e-3, (now - this.last.at) / 1000);
    const errors = errorTotal(metrics);
    const { counts, peers } = clientCounts(this.o.users());
    const eldMs = this.perSecond.count > 0 ? this.perSecond.percentile(99) / 1e6 : 0;
    this.perSecond.reset();
    const sample: TimelineSample = {
      t: Math.round(now - this.start),
      phase: this.o.phase(),
      users: this.o.online(),
      client: counts,
      ...this.lastServer,
      peers,
      messagesPerSec: round1((tracker.sent - this.last.sent) / dt),
      deliveriesPerSec: round1((tracker.delivered - this.last.delivered) / dt),
      errorsPerSec: round1((errors - this.last.errors) / dt),
      eventLoopDelayMs: round1(eldMs),
    };
    this.last = { at: now, sent: tracker.sent, delivered: tracker.delivered, errors };
    this.samples.push(sample);
    this.o.onSample?.(sample);
    this.readServer();
  }

  /**
   * The server's view arrives asynchronously and lands in the next sample (null if it did not
   * answer). It comes from `/metrics` while the target serves what it needs there, else from
   * the stats route (a plain Miscord).
   */
  private readServer(): void {
    if (!this.o.serverStats || this.inFlight || this.stopped || this.o.signal.aborted) return;
    const opts = { timeoutMs: 900, signal: this.o.signal };
    const read = async (): Promise<ServerSample> => {
      if (this.viaMetrics) {
        const s = await fetchMetricsSample(this.o.httpUrl, opts);
        if (s) return s;
        this.viaMetrics = false;
      }
      return sampleOfStats(await fetchStats(this.o.httpUrl, opts));
    };
    this.inFlight = read()
      .then((s) => {
        this.lastServer = { server: s.counts, serverRssBytes: s.rssBytes, serverHeapBytes: s.heapBytes, serverOpenFds: s.openFds, serverOpenHandles: s.openHandles };
      })
      .catch(() => {
        this.lastServer = { server: null };
      })
      .finally(() => {
        this.inFlight = null;
      });
  }

  /** Takes a last sample and stops; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clock.clearInterval(this.timer);
    this.timer = undefined;
    this.tick();
    this.eld.disable();
    this.perSecond.disable();
    await this.inFlight;
  }
}

const round1 = (v: number) => Math.round(v * 10) / 10;
