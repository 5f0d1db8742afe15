import { describe, it, expect } from 'vitest';
import { checkPeers } from '../../src/leak/peer-check.js';
import { SocketGrowthCheck } from '../../src/leak/socket-growth.js';
import { checkBenchLeak, benchSample } from '../../src/leak/bench-leak.js';
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

describe('SocketGrowthCheck', () => {
  it('names sockets a leaky switch abandoned', () => {
    const a = user(0);
    open(a, 'chat', 1, { abandoned: true });
    open(a, 'chat', 1, { abandoned: true });
    open(a, 'chat', 1);
    const d = new SocketGrowthCheck().check([a]);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ class: 'socket-growth', subject: { kind: 'chat', user: 0 }, observed: 3, expected: 1 });
  });

  it('names more open sockets than the scenario means, and a count that keeps rising', () => {
    const a = user(0), b = user(1);
    a.expectedOpen = { chat: 1 };
    open(a, 'chat', 1);
    open(a, 'chat', 2);
    const g = new SocketGrowthCheck(2);
    expect(g.check([a, b]).map((d) => d.subject.user)).toEqual([0]);
    open(b, 'notifications', null);
    expect(g.check([b]).length).toBe(0);
    open(b, 'notifications', null);
    const d = g.check([b]);
    expect(d.map((x) => x.subject)).toEqual([expect.objectContaining({ user: 1, kind: 'notifications' })]);
    expect(d[0]!.message).toContain('0 → 1 → 2');
  });

  it('leaves a stable multi-tab user alone', () => {
    const a = user(0);
    open(a, 'chat', 1);
    open(a, 'chat', 1);
    const g = new SocketGrowthCheck();
    for (let i = 0; i < 4; i++) expect(g.check([a])).toEqual([]);
  });
});

describe('checkBenchLeak', () => {
  it('names open sockets and running timers of users who left', () => {
    const a = user(0), b = user(1);
    const s = open(a, 'chat', 1, { frozen: true });
    close(b, open(b, 'chat', 1));
    b.ledger.acquire('timer', 2);
    b.ledger.release('timer', 1);
    const d = checkBenchLeak([a, b], null, null);
    expect(d.map((x) => [x.class, x.subject.socket ?? x.subject.resource])).toEqual([
      ['bench-leak', s.id],
      ['bench-leak', 'timer'],
    ]);
    expect(d[0]!.message).toContain('(frozen)');
  });

  it('judges fds and socket handles against the baseline with a tolerance', () => {
    const base = { fds: 20, resources: { TCPSocketWrap: 2, Timeout: 5 } };
    expect(checkBenchLeak([], base, { fds: 30, resources: { TCPSocketWrap: 4, Timeout: 50 } }, 16)).toEqual([]);
    const d = checkBenchLeak([], base, { fds: 60, resources: { TCPSocketWrap: 40 } }, 16);
    expect(d.map((x) => x.subject.resource)).toEqual(['fds', 'handles:TCPSocketWrap']);
  });

  it('samples this process', () => {
    const s = benchSample();
    expect(s.fds).toBeGreaterThan(2);
    expect(Object.keys(s.resources).length).toBeGreaterThan(0);
  });
});
