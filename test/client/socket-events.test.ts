import { describe, expect, it } from 'vitest';
import { SocketStream, type SocketEvent } from '../../src/client/socket-events.js';
import { UserLedger } from '../../src/client/ledger.js';
import { ledgerSubscriber } from '../../src/client/ledger-subscriber.js';

describe('SocketStream', () => {
  it('runs subscribers in order, only for their kinds, until removed; listens() follows', () => {
    const s = new SocketStream();
    const ledger = new UserLedger(0, 'u0');
    const rec = ledger.newSocket('chat', 1);
    const seen: string[] = [];
    s.subscribe(ledgerSubscriber);
    // the ledger is up to date when the next subscriber runs
    const remove = s.subscribe((e) => seen.push(`${e.kind}:${ledger.sockets.get(e.rec.id)?.state}`), ['opening', 'open']);
    expect(s.listens('open')).toBe(true);
    expect(s.listens('recv')).toBe(true); // the ledger subscriber asked for every kind
    const base = { socket: 'chat', ledger, identity: null, rec, t: 0 } as const;
    s.publish({ ...base, kind: 'opening' } as SocketEvent);
    s.publish({ ...base, kind: 'open', connectMs: 1 } as SocketEvent);
    s.publish({ ...base, kind: 'closing', code: 1000 } as SocketEvent);
    remove();
    remove();
    expect(s.listens('open')).toBe(true);
    s.publish({ ...base, kind: 'closed', code: 1000, reason: '', by: 'client', refused: false, crashed: false } as SocketEvent);
    expect(seen).toEqual(['opening:connecting', 'open:open']);
    expect(rec).toMatchObject({ state: 'closed', closedBy: 'client', closeCode: 1000 });
    expect(ledger.connectionsCreated).toBe(1);
    expect(ledger.connectionsDestroyed).toBe(1);
  });

  it('listens() is false for a kind nobody asked for', () => {
    const s = new SocketStream();
    const remove = s.subscribe(() => {}, ['open']);
    expect(s.listens('recv')).toBe(false);
    expect(s.listens('open')).toBe(true);
    remove();
    expect(s.listens('open')).toBe(false);
  });
});
