import type { ClientEvents, WireEvent } from './client-env.js';
import type { SocketEvent, SocketEventKind, SocketSubscriber } from './socket-events.js';

/**
 * The history's side of the socket stream: the WireEvents that the promise checks judge and
 * the socket closes that the leak detector times, handed to `sink` (a Target's listeners, a
 * test's). A socket's end (`refused`, `failed`, `closed`) is one `onSocketClosed` and one
 * WireEvent `closed` (or `crashed`); an abandoned socket is `frozen` for whoever expects it to
 * hear something. Pings and pongs are transport, not history.
 */
export function wireSubscriber(sink: ClientEvents): { fn: SocketSubscriber; kinds: SocketEventKind[] } {
  const kinds: SocketEventKind[] = [];
  if (sink.onSocketClosed || sink.onWire) kinds.push('refused', 'failed', 'closed');
  if (sink.onWire) kinds.push('open', 'closing', 'frozen', 'abandoned', 'recv', 'sent');
  const wire = (e: SocketEvent, kind: WireEvent['kind'], more: Partial<WireEvent> = {}) => {
    const id = e.identity!;
    const voice = e.socket === 'voice';
    sink.onWire?.({ kind, ...(voice ? {} : { on: e.socket }), t: e.t, user: id.index, userId: id.userId, socket: e.rec.id, room: voice ? (e.rec.channelId ?? -1) : -1, ...more });
  };
  const fn = (e: SocketEvent) => {
    if (!e.identity) return;
    switch (e.kind) {
      case 'open':
        return wire(e, 'open', { since: e.rec.openingAt });
      case 'recv':
        if (e.type === 'ping') return;
        return wire(e, 'recv', { type: e.type, subject: e.subject, ...(e.channel !== undefined ? { channel: e.channel } : {}), ...(e.participants !== undefined ? { participants: e.participants } : {}) });
      case 'sent':
        if (e.type === 'pong') return;
        return wire(e, 'sent', { type: e.type, subject: e.subject });
      case 'closing':
        return wire(e, 'closing');
      case 'frozen':
      case 'abandoned':
        return wire(e, 'frozen');
      case 'refused':
      case 'failed':
      case 'closed':
        sink.onSocketClosed?.(e.identity, e.rec);
        return wire(e, e.kind !== 'failed' && e.crashed ? 'crashed' : 'closed');
      default:
        return;
    }
  };
  return { fn, kinds };
}
