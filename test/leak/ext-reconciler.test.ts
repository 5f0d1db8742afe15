import { describe, it, expect } from 'vitest';
import { reconcileExt } from '../../src/leak/ext-reconciler.js';
import { clock } from '../../src/clock.js';
import { user, open, close, entry, extStats, mirror } from './fixtures.js';

const classes = (r: { drafts: Array<{ class: string }> }) => r.drafts.map((d) => d.class);

describe('reconcileExt', () => {
  it('finds nothing when the server lists exactly the open sockets', () => {
    const a = user(0), b = user(1);
    open(a, 'notifications', null);
    open(a, 'chat', 1);
    const old = open(b, 'chat', 1);
    close(b, old, 500);
    open(b, 'chat', 1);
    open(b, 'voice', 7);
    const r = reconcileExt({ stats: extStats(mirror(a, b), { 7: [101] }), users: [a, b], frozenWindowMs: 2000 });
    expect(r.drafts).toEqual([]);
    expect(r.pending).toBe(false);
  });

  it('names a zombie: the server still lists a socket the client closed', () => {
    const a = user(0);
    open(a, 'notifications', null);
    const c = open(a, 'chat', 1);
    const stats = extStats(mirror(a));
    close(a, c, 2100);
    const r = reconcileExt({ stats, users: [a], frozenWindowMs: 2000 });
    expect(classes(r)).toEqual(['zombie-socket']);
    const d = r.drafts[0]!;
    expect(d.subject).toMatchObject({ user: 0, userId: 100, kind: 'chat', channelId: 1, socket: c.id });
    expect(d.message).toContain('closed 2.1 s ago');
    expect(d.since).toBe(c.closedAt);
    expect(d.details).toHaveProperty('serverEntry');
  });

  it('names a phantom: the client holds a socket the server forgot, but not at the final checkpoint', () => {
    const a = user(0);
    open(a, 'notifications', null);
    const c = open(a, 'chat', 1);
    const stats = extStats([entry(100, 'notifications', null)]);
    const r = reconcileExt({ stats, users: [a], frozenWindowMs: 2000 });
    expect(classes(r)).toEqual(['phantom-socket']);
    expect(r.drafts[0]!.subject.socket).toBe(c.id);
    expect(reconcileExt({ stats, users: [a], frozenWindowMs: 2000, final: true }).drafts).toEqual([]);
  });

  it('shows the slot overwrite: the first of two tabs is the one the server no longer sees', () => {
    const a = user(0);
    const first = open(a, 'chat', 1);
    first.openedAt = clock.now() - 5000;
    const second = open(a, 'chat', 1);
    const r = reconcileExt({ stats: extStats([entry(100, 'chat', 1, new Date())]), users: [a], frozenWindowMs: 2000 });
    expect(classes(r)).toEqual(['phantom-socket']);
    expect(r.drafts[0]!.subject.socket).toBe(first.id);
    expect(second.state).toBe('open');
  });

  it('ignores the sockets of users that are not simulated (a shared deployment)', () => {
    const a = user(0);
    open(a, 'chat', 1);
    const r = reconcileExt({ stats: extStats([...mirror(a), entry(9999, 'chat', 1), entry(9998, 'voice', 7)], { 7: [9998, 9997] }), users: [a], frozenWindowMs: 2000 });
    expect(r.drafts).toEqual([]);
  });

  it('matches an in-band switched chat socket by its text channel too', () => {
    const a = user(0);
    open(a, 'chat', 1, { textChannelId: 12 });
    const r = reconcileExt({ stats: extStats([entry(100, 'chat', 12)]), users: [a], frozenWindowMs: 2000 });
    expect(r.drafts).toEqual([]);
  });

  it('tolerates sockets mid-handshake or mid-close either way', () => {
    const a = user(0);
    const c = a.ledger.socketOpening('chat', 1);
    const n = open(a, 'notifications', null);
    a.ledger.socketClosing(n);
    expect(reconcileExt({ stats: extStats([entry(100, 'chat', 1), entry(100, 'notifications', null)]), users: [a], frozenWindowMs: 1 }).drafts).toEqual([]);
    expect(reconcileExt({ stats: extStats([]), users: [a], frozenWindowMs: 1 }).drafts).toEqual([]);
    expect(c.state).toBe('connecting');
  });

  it('waits for a frozen socket inside its window, names it after', () => {
    const a = user(0);
    const f = open(a, 'chat', 1, { frozen: true, frozenAt: clock.now() - 100 });
    const stats = extStats(mirror(a));
    const within = reconcileExt({ stats, users: [a], frozenWindowMs: 2000 });
    expect(within.drafts).toEqual([]);
    expect(within.pending).toBe(true);
    f.frozenAt = clock.now() - 2500;
    const after = reconcileExt({ stats, users: [a], frozenWindowMs: 2000 });
    expect(classes(after)).toEqual(['frozen-not-reaped']);
    expect(after.drafts[0]!.subject.socket).toBe(f.id);
    // reaped: nothing, and no phantom either
    expect(reconcileExt({ stats: extStats([]), users: [a], frozenWindowMs: 2000 }).drafts).toEqual([]);
  });

  it('skips the frozen check and says so when the heartbeat is unknown', () => {
    const a = user(0);
    open(a, 'chat', 1, { frozen: true, frozenAt: clock.now() - 60_000 });
    const r = reconcileExt({ stats: extStats(mirror(a)), users: [a], frozenWindowMs: null });
    expect(r.drafts).toEqual([]);
    expect(r.notes.join()).toContain('frozen-not-reaped skipped');
  });

  it('names a stale voice member, and leaves a registered one to the zombie finding', () => {
    const a = user(0), b = user(1);
    const va = open(a, 'voice', 7);
    const vb = open(b, 'voice', 7);
    close(a, va, 1000);
    close(b, vb, 1000);
    const ghost = reconcileExt({ stats: extStats([], { 7: [100] }), users: [a, b], frozenWindowMs: 2000 });
    expect(classes(ghost)).toEqual(['stale-voice-member']);
    expect(ghost.drafts[0]!.subject).toMatchObject({ userId: 100, roomId: 7, socket: va.id });
    const zombie = reconcileExt({ stats: extStats([entry(101, 'voice', 7)], { 7: [101] }), users: [a, b], frozenWindowMs: 2000 });
    expect(classes(zombie)).toEqual(['zombie-socket']);
  });

  it('names an open socket that stopped receiving its channel as a phantom', () => {
    const a = user(0);
    const c = open(a, 'chat', 1);
    a.silentSockets = [{ socket: c.id, expected: 5, received: 0 }];
    const r = reconcileExt({ stats: extStats(mirror(a)), users: [a], frozenWindowMs: 2000 });
    expect(classes(r)).toEqual(['phantom-socket']);
    expect(r.drafts[0]!.message).toContain('received 0 of 5');
    // with a zombie in its registry the cause is named once, the symptom noted
    const z = open(a, 'chat', 1);
    const stats = extStats(mirror(a));
    close(a, z);
    const withZombie = reconcileExt({ stats, users: [a], frozenWindowMs: 2000 });
    expect(classes(withZombie)).toEqual(['zombie-socket']);
    expect(withZombie.notes.join()).toContain('silent socket(s) put down to its zombie');
  });
});
