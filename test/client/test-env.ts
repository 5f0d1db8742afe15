import type { ClientEnv, ClientEvents } from '../../src/client/client-env.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { MemoryTracer } from '../../src/trace/tracer.js';
import { silentLogger } from '../../src/log.js';
import { socketStreamFor } from '../../src/runner/target.js';

/** A client env for tests: fresh metrics, a memory tracer, a silent log, loopback candidates only, never a STUN server. */
export function testEnv(httpUrl: string, wsUrl: string, opts: { signal?: AbortSignal; events?: ClientEvents; heartbeatMs?: number } = {}): ClientEnv {
  const metrics = new Metrics();
  const tracer = new MemoryTracer();
  const events = opts.events ?? {};
  return {
    httpUrl,
    wsUrl,
    metrics,
    tracer,
    log: silentLogger,
    iceServers: [],
    loopbackOnly: true,
    heartbeatMs: opts.heartbeatMs ?? 0,
    signal: opts.signal ?? new AbortController().signal,
    stream: socketStreamFor({ metrics, tracer, events }),
    events,
  };
}
