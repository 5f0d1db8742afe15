import { Counter, Gauge, Registry } from 'prom-client';
import { SOCKET_KINDS } from '../protocol/messages.js';
import type { Hub } from './hub.js';
import { openFds } from './stats.js';

/**
 * GET /metrics: Prometheus text from a Registry of this server's own (never prom-client's
 * global one, so two servers in one process, as in tests, do not collide). Values are read
 * at scrape time from the hub, so the hot path pays nothing.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly http: Counter<'route' | 'status'>;

  constructor(hub: Hub) {
    const r = this.registry;
    new Gauge({
      name: 'miscord_connections',
      help: 'Registered WebSocket connections by kind',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        const by: Record<string, number> = { chat: 0, voice: 0, notifications: 0 };
        for (const c of hub.cm.connections()) by[c.kind]!++;
        for (const k of SOCKET_KINDS) this.set({ kind: k }, by[k]!);
      },
    });
    // counters live in the hub; a Counter is re-read from it at scrape time
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(read());
        },
      });
    counter('miscord_connections_opened_total', 'Sockets registered since start', () => hub.cm.counters.connections_opened);
    counter('miscord_connections_closed_total', 'Sockets closed since start', () => hub.cm.counters.connections_closed);
    counter('miscord_connections_rejected_total', 'Sockets refused at accept since start', () => hub.cm.counters.rejected);
    counter('miscord_connections_reaped_total', 'Sockets terminated by the heartbeat since start', () => hub.cm.counters.reaped);
    counter('miscord_slow_consumers_dropped_total', 'Sockets closed because their send queue passed maxSendQueueBytes since start', () => hub.cm.counters.slow_consumers_dropped);
    gauge('miscord_voice_members', 'Entries in all voice rooms', () => hub.voice.memberCount());
    counter('miscord_messages_total', 'Chat messages stored since start', () => hub.store.messageCount());
    new Counter({
      name: 'miscord_deliveries_total',
      help: 'Frames delivered to sockets by kind since start',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        this.reset();
        for (const k of SOCKET_KINDS) this.inc({ kind: k }, hub.delivered[k]);
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes',
      registers: [r],
      collect() {
        this.set(process.memoryUsage().rss);
      },
    });
    new Gauge({
      name: 'nodejs_heap_used_bytes',
      help: 'V8 heap used in bytes',
      registers: [r],
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    new Gauge({
      name: 'process_open_fds',
      help: 'Open file descriptors',
      registers: [r],
      async collect() {
        this.set(await openFds());
      },
    });
    new Gauge({
      name: 'nodejs_active_handles_total',
      help: 'Active libuv resources (handles and requests) keeping the event loop alive',
      registers: [r],
      collect() {
        this.set(process.getActiveResourcesInfo().length);
      },
    });
    this.http = new Counter({ name: 'miscord_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [r] });
  }
}
