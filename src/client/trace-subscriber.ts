import type { Tracer } from '../trace/tracer.js';
import type { SocketEvent, SocketSubscriber } from './socket-events.js';

/** Signaling messages too many to trace one by one (the webrtc.* lines say what they did). */
const UNTRACED_SENT = new Set(['ice_candidate', 'offer', 'answer']);

/**
 * The tracer's side of the socket stream: one `socket.*` line per lifecycle event, and a
 * `msg.recv` / `msg.sent` line per voice signaling message while the tracer writes (the chat
 * and notifications sessions trace their own frames, on their hot paths).
 */
export function traceSubscriber(tracer: Tracer): SocketSubscriber {
  return (e: SocketEvent) => {
    const user = e.ledger.index;
    const socket = e.rec.id;
    const kind = e.socket;
    const voice = kind === 'voice';
    switch (e.kind) {
      case 'opening':
        return tracer.emit({ ev: 'socket.opening', user, socket, kind, channel: e.rec.channelId });
      case 'open':
        return tracer.emit({ ev: 'socket.open', user, socket, kind, channel: e.rec.channelId });
      case 'refused':
        return tracer.emit({ ev: 'socket.refused', user, socket, kind, status: e.refusal.status, code: e.refusal.code, reason: e.refusal.reason });
      case 'failed':
        return tracer.emit({ ev: 'error', user, socket, kind, error: e.error });
      case 'error':
        if (!voice) tracer.emit({ ev: 'error', user, socket, error: e.error });
        return;
      case 'closing':
        if (!voice) tracer.emit({ ev: 'socket.closing', user, socket, kind, code: e.code });
        return;
      case 'closed':
        tracer.emit({ ev: 'socket.close', user, socket, kind, code: e.code, reason: e.reason, by: e.by });
        if (e.refused) tracer.emit({ ev: 'socket.refused', user, socket, kind, code: e.code, reason: e.reason });
        return;
      case 'frozen':
        if (!voice) tracer.emit({ ev: 'socket.freeze', user, socket, kind });
        return;
      case 'crashed':
        return tracer.emit({ ev: 'socket.crash', user, socket, kind });
      case 'abandoned':
        return tracer.emit({ ev: 'socket.abandon', user, socket, kind });
      case 'recv':
        if (voice && tracer.writing) tracer.emit({ ev: 'msg.recv', user, socket, type: e.type, ...(tracer.bodies ? { body: e.frame } : {}) });
        return;
      case 'sent':
        if (voice && tracer.writing && !UNTRACED_SENT.has(e.type)) tracer.emit({ ev: 'msg.sent', user, socket, type: e.type });
        return;
    }
  };
}
