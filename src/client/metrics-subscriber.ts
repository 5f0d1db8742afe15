import type { Metrics } from '../metrics/metrics.js';
import type { SocketKind } from '../protocol/messages.js';
import type { SocketEvent, SocketEventKind, SocketSubscriber } from './socket-events.js';

/** How a connect attempt ended: every attempt is a sample in `ws.connect.<kind>`, whatever its outcome. */
export type ConnectOutcome = 'ok' | 'refused' | 'timed-out' | 'error';

/** The event kinds the metrics count (never a per-message one). */
export const METRICS_KINDS: readonly SocketEventKind[] = ['open', 'refused', 'failed', 'error', 'closed'];

/** Records one connect attempt: its time in `ws.connect.<kind>` (and `.<outcome>` when it failed), its outcome counted. */
function recordAttempt(metrics: Metrics, kind: SocketKind, ms: number, outcome: ConnectOutcome): void {
  metrics.record(`ws.connect.${kind}`, ms);
  if (outcome !== 'ok') metrics.record(`ws.connect.${kind}.${outcome}`, ms);
  metrics.inc(`ws.attempts.${kind}.${outcome}`);
}

/** Counts a refusal under `refusals.<status or code>` (old gates) and `refusals.<kind>.<status or code>`. */
export function countRefusal(metrics: Metrics, kind: SocketKind, statusOrCode: number | undefined): void {
  metrics.inc(`refusals.${statusOrCode}`);
  metrics.inc(`refusals.${kind}.${statusOrCode}`);
}

/**
 * The metrics' side of the socket stream: opens, connect attempts and their times, refusals,
 * errors and drops. A voice signaling socket is counted in `ws.connect.voice` and `refusals.*`
 * only (its attempts, drops and errors are the voice session's `voice.*` metrics).
 */
export function metricsSubscriber(metrics: Metrics): SocketSubscriber {
  return (e: SocketEvent) => {
    const voice = e.socket === 'voice';
    switch (e.kind) {
      case 'open':
        if (voice) return metrics.record('ws.connect.voice', e.connectMs);
        metrics.inc('ws.opened');
        return recordAttempt(metrics, e.socket, e.connectMs, 'ok');
      case 'refused':
        if (e.connectMs !== undefined) recordAttempt(metrics, e.socket, e.connectMs, 'refused');
        return countRefusal(metrics, e.socket, e.refusal.status ?? e.refusal.code);
      case 'failed': {
        const timedOut = /timed out/i.test(e.error ?? '');
        recordAttempt(metrics, e.socket, e.connectMs, timedOut ? 'timed-out' : 'error');
        metrics.inc('errors.ws.connect');
        if (timedOut) metrics.inc(`errors.ws.connect_timeout.${e.socket}`);
        return;
      }
      case 'error':
        if (!voice) metrics.inc('errors.ws');
        return;
      case 'closed':
        // an accepted socket closed at once for a limit or a bad token is a refusal all the same
        if (e.refused) countRefusal(metrics, e.socket, e.code);
        else if (!voice && e.by === 'server' && !e.rec.frozen) metrics.inc(`ws.dropped.${e.socket}`);
        return;
      default:
        return;
    }
  };
}
