import { describe, it, expect } from 'vitest';
import { checkPeers } from '../../src/leak/peer-check.js';
import { clock } from '../../src/clock.js';
import { user, open, close } from './fixtures.js';

describe('checkPeers', () => {
  it('passes a room whose members hold peers to each other', () => {
    const a = user(0), b = user(1);
    open(a, 'voice', 7);
    open(b, 'voice', 7);
    a.ledger.peerCreated(101, 7);
    b.ledger.peerCreated(100, 7);
    a.ledger.acquire('track');
    a.ledger.acquire('source');
    expect(checkPeers([a, b])).toEqual([]);
  });

  it('names a peer kept after leaving, and media never released', () => {
    const a = user(0);
    const s = open(a, 'voice', 7);
    a.ledger.peerCreated(101, 7);
    a.ledger.acquire('sink', 2);
    a.ledger.release('sink', 1);
    close(a, s, 2000);
    const d = checkPeers([a]);
    expect(d.map((x) => x.class)).toEqual(['unclosed-peer', 'unclosed-peer']);
    expect(d[0]!.subject).toMatchObject({ peer: 'u0->#101', roomId: 7 });
    expect(d[1]!.subject).toMatchObject({ resource: 'sink' });
    expect(d[1]!.observed).toMatchObject({ open: 1 });
  });

  it('names a peer to someone who left the room, after a grace period', () => {
    const a = user(0), b = user(1);
    open(a, 'voice', 7);
    const sb = open(b, 'voice', 7);
    a.ledger.peerCreated(101, 7);
    close(b, sb, 100);
    expect(checkPeers([a, b], { graceMs: 1000 })).toEqual([]);
    sb.closedAt = clock.now() - 1500;
    const d = checkPeers([a, b], { graceMs: 1000 });
    expect(d).toHaveLength(1);
    expect(d[0]!.message).toContain('who left voice room 7');
    // while the server still lists the departed user, the peer follows the server's word
    expect(checkPeers([a, b], { graceMs: 1000, serverRooms: new Map([[7, new Set([100, 101])]]) })).toEqual([]);
  });
});
