import { describe, it, expect } from 'vitest';
import { reconcileV1 } from '../../src/leak/v1-reconciler.js';
import { countsOf } from '../../src/protocol/stats-reading.js';
import { clock } from '../../src/clock.js';
import { user, open, close, v1Stats } from './fixtures.js';

// a shared deployment: 40 real chat sockets and 30 real notifications sockets before the run
const baseline = countsOf(v1Stats(40, 30));
const classes = (r: { drafts: Array<{ class: string }> }) => r.drafts.map((d) => d.class);

function online(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const v = user(i);
    open(v, 'notifications', null);
    open(v, 'chat', 1);
    open(v, 'voice', 7); // a plain Miscord does not count voice sockets: they must not matter
    return v;
  });
}

describe('reconcileV1', () => {
  it('reads chat sockets filed under "voice" as chat', () => {
    expect(baseline).toMatchObject({ chat: 40, notifications: 30, voice: 0 });
  });

  it('finds nothing when totals are the baseline plus the simulated users', () => {
    const users = online(5);
    const r = reconcileV1({ baseline, counts: countsOf(v1Stats(45, 35)), users, frozenWindowMs: null });
    expect(r.drafts).toEqual([]);
    expect(r.notes[0]).toContain('v1 stats');
  });

  it('names zombies by kind when the server counts more than it should', () => {
    const users = online(5);
    close(users[0]!, users[0]!.ledger.openSockets().find((s) => s.kind === 'chat')!);
    const r = reconcileV1({ baseline, counts: countsOf(v1Stats(45, 35)), users, frozenWindowMs: null });
    expect(classes(r)).toEqual(['zombie-socket']);
    expect(r.drafts[0]).toMatchObject({ subject: { kind: 'chat' }, observed: 45 });
  });

  it('names phantoms by kind when the server counts fewer, but not at the end', () => {
    const users = online(5);
    const counts = countsOf(v1Stats(45, 33));
    expect(classes(reconcileV1({ baseline, counts, users, frozenWindowMs: null }))).toEqual(['phantom-socket']);
    expect(reconcileV1({ baseline, counts, users, frozenWindowMs: null, final: true }).drafts).toEqual([]);
  });

  it('absorbs real users coming and going within the tolerance', () => {
    const users = online(5);
    for (const v of users.slice(0, 3)) close(v, v.ledger.openSockets().find((s) => s.kind === 'chat')!);
    expect(reconcileV1({ baseline, counts: countsOf(v1Stats(44, 34)), users, frozenWindowMs: null, tolerance: 2 }).drafts).toEqual([]);
    expect(classes(reconcileV1({ baseline, counts: countsOf(v1Stats(45, 35)), users, frozenWindowMs: null, tolerance: 2 }))).toEqual(['zombie-socket']);
  });

  it('never blames the bench for more sockets than it closed: another client on a shared deployment', () => {
    const users = online(5);
    // no chat socket of the bench closed: 8 extra chat sockets are someone else's
    const none = reconcileV1({ baseline, counts: countsOf(v1Stats(53, 35)), users, frozenWindowMs: null });
    expect(none.drafts).toEqual([]);
    expect(none.notes.join(' ')).toMatch(/bench closed only 0: another client/);
    // one closed, 8 extra: at most one could be ours, and totals cannot say which: inconclusive
    close(users[0]!, users[0]!.ledger.openSockets().find((s) => s.kind === 'chat')!);
    const some = reconcileV1({ baseline, counts: countsOf(v1Stats(52, 35)), users, frozenWindowMs: null });
    expect(some.drafts).toEqual([]);
    expect(some.inconclusive?.map((x) => x.class)).toEqual(['zombie-socket']);
  });

  it('names frozen sockets still counted past the window, and waits inside it', () => {
    const users = online(3);
    const f = users[0]!.ledger.openSockets().find((s) => s.kind === 'chat')!;
    f.frozen = true;
    f.frozenAt = clock.now() - 100;
    const counts = countsOf(v1Stats(43, 33));
    const inside = reconcileV1({ baseline, counts, users, frozenWindowMs: 2000 });
    expect(inside.drafts).toEqual([]);
    expect(inside.pending).toBe(true);
    f.frozenAt = clock.now() - 3000;
    expect(classes(reconcileV1({ baseline, counts, users, frozenWindowMs: 2000 }))).toEqual(['frozen-not-reaped']);
    expect(reconcileV1({ baseline, counts: countsOf(v1Stats(42, 33)), users, frozenWindowMs: 2000 }).drafts).toEqual([]);
  });
});
