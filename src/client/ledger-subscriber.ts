import type { SocketEvent } from './socket-events.js';

/**
 * The ledger's side of the socket stream: each event updates the owner's record and counts.
 * Subscribed first, so every other subscriber, and the socket itself once publish() returns,
 * reads an up-to-date ledger.
 */
export function ledgerSubscriber(e: SocketEvent): void {
  const { ledger, rec } = e;
  switch (e.kind) {
    case 'opening':
      return ledger.socketFiled(rec);
    case 'open':
      return ledger.socketOpened(rec);
    case 'refused':
      return ledger.socketRefused(rec, e.refusal);
    case 'failed':
      ledger.socketClosed(rec, { code: 1006, reason: e.error, by: 'server' });
      return ledger.error(e.socket, e.error ?? 'connection failed');
    case 'error':
      return ledger.error(e.socket, e.error);
    case 'closing':
      return ledger.socketClosing(rec);
    case 'closed':
      ledger.socketClosed(rec, { code: e.code, reason: e.reason, by: e.by });
      if (e.refused) ledger.error(e.socket, `closed ${e.code} ${e.reason}`.trim());
      return;
    case 'frozen':
      rec.frozen = true;
      // a voice signaling socket's freeze was never timed: the detector times it from its next checkpoint
      if (e.socket !== 'voice') rec.frozenAt = e.t;
      return;
    case 'crashed':
      rec.crashed = true;
      return;
    case 'abandoned':
      rec.abandoned = true;
      return;
    default:
      return;
  }
}
