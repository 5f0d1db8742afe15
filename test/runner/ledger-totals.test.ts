import { describe, expect, it } from 'vitest';
import { KEEP_ENDED_RECORDS, UserLedger } from '../../src/client/ledger.js';
import { ledgerTotals } from '../../src/runner/ledger-totals.js';

function ledger(index: number): UserLedger {
  const l = new UserLedger(index, `u${index}`);
  l.userId = 100 + index;
  return l;
}

describe('ledgerTotals', () => {
  it('sums every ledger: opened and closed by kind, refusals, sockets and peers still open, last errors', () => {
    const a = ledger(0);
    const chat = a.socketOpening('chat', 1);
    a.socketOpened(chat);
    const notes = a.socketOpening('notifications', null);
    a.socketOpened(notes);
    a.socketClosing(notes);
    a.socketClosed(notes, { code: 1000, by: 'client' });
    a.socketRefused(a.socketOpening('voice', 5), { status: 403, reason: 'full' });
    a.lastError = 'boom';
    const b = ledger(1);
    const closing = b.socketOpening('chat', 1);
    b.socketOpened(closing);
    b.socketClosing(closing);
    b.peersCreated = 3;
    b.peersClosed = 1;
    b.logins = 2;
    const t = ledgerTotals([a, b]);
    expect(t).toMatchObject({
      users: 2,
      logins: 2,
      refusals: 1,
      peersCreated: 3,
      peersClosed: 1,
      openPeersAtEnd: 2,
      // open and closing both still hold a socket
      openSocketsAtEnd: 2,
      byKind: { chat: { opened: 2, closed: 0 }, notifications: { opened: 1, closed: 1 }, voice: { opened: 0, closed: 0 } },
      lastErrors: [{ user: 0, error: 'boom' }],
    });
    expect(t.connectionsCreated).toBe(a.connectionsCreated + b.connectionsCreated);
    expect(t.connectionsCreated).toBeGreaterThan(0);
  });

  it('counts the records a ledger retired (a soak folds old ones) as if they were still there', () => {
    const l = ledger(0);
    const n = KEEP_ENDED_RECORDS + 10;
    for (let i = 0; i < n; i++) {
      const r = l.socketOpening('chat', 1);
      l.socketOpened(r);
      l.socketClosing(r);
      l.socketClosed(r, { code: 1000, by: 'client' });
    }
    expect(l.sockets.size).toBeLessThan(n);
    expect(ledgerTotals([l]).byKind.chat).toEqual({ opened: n, closed: n });
  });

  it('keeps at most 50 last errors', () => {
    const many = Array.from({ length: 60 }, (_, i) => Object.assign(ledger(i), { lastError: `e${i}` }));
    expect(ledgerTotals(many).lastErrors).toHaveLength(50);
  });
});
