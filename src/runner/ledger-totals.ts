import type { UserLedger } from '../client/ledger.js';
import type { Report } from '../report/schema.js';

/** The report's ledger section: every simulated user's ledger summed (one ledger per account, however often it logged in). */
export function ledgerTotals(ledgers: readonly UserLedger[]): Report['ledger'] {
  const t: Report['ledger'] = {
    users: ledgers.length,
    logins: 0,
    connectionsCreated: 0,
    connectionsDestroyed: 0,
    reconnectAttempts: 0,
    refusals: 0,
    peersCreated: 0,
    peersClosed: 0,
    openSocketsAtEnd: 0,
    openPeersAtEnd: 0,
    byKind: {},
    lastErrors: [],
  };
  for (const l of ledgers) {
    t.connectionsCreated += l.connectionsCreated;
    t.connectionsDestroyed += l.connectionsDestroyed;
    t.reconnectAttempts += l.reconnectAttempts;
    t.logins! += l.logins;
    t.refusals += l.retired.refusals;
    for (const [kind, c] of Object.entries(l.retired.byKind)) {
      const k = (t.byKind[kind] ??= { opened: 0, closed: 0 });
      k.opened += c.opened;
      k.closed += c.closed;
    }
    t.peersCreated += l.peersCreated;
    t.peersClosed += l.peersClosed;
    t.openPeersAtEnd += l.peersCreated - l.peersClosed;
    for (const s of l.sockets.values()) {
      const k = (t.byKind[s.kind] ??= { opened: 0, closed: 0 });
      if (s.state === 'refused') t.refusals++;
      if (s.openedAt !== undefined) k.opened++;
      if (s.openedAt !== undefined && s.state === 'closed') k.closed++;
      if (s.state === 'open' || s.state === 'closing') t.openSocketsAtEnd++;
    }
    if (l.lastError && t.lastErrors.length < 50) t.lastErrors.push({ user: l.index, error: l.lastError });
  }
  return t;
}
