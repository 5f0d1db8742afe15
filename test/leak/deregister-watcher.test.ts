import { describe, it, expect } from 'vitest';
import { DeregisterWatcher } from '../../src/leak/deregister-watcher.js';
import { countsOf, type StatsReading } from '../../src/protocol/stats-reading.js';
import { clock } from '../../src/clock.js';
import type { StatsResponse } from '../../src/protocol/messages.js';
import { user, open, close, entry, extStats, mirror, v1Stats } from './fixtures.js';

const reading = (stats: StatsResponse): StatsReading => ({ stats, ext: Array.isArray(stats.connections), counts: countsOf(stats), at: clock.now() });

describe('DeregisterWatcher', () => {
  it('measures close → deregister per (user, kind, channel), and names slow ones by kind', () => {
    const a = user(0);
    open(a, 'notifications', null);
    const old = open(a, 'chat', 1);
    const w = new DeregisterWatcher({ thresholdMs: 1000, giveUpMs: 10_000, ledgers: () => [a.ledger], baseline: () => null });
    const before = extStats(mirror(a));
    close(a, old, 1500);
    open(a, 'chat', 1); // the reconnect: the key keeps one socket
    w.add(0, 100, old, a.ledger);
    w.observe(reading(extStats([...before.connections!, entry(100, 'chat', 1)])), clock.now());
    expect(w.pendingCount).toBe(1); // the server still lists both
    w.observe(reading(extStats(mirror(a))), clock.now());
    expect(w.pendingCount).toBe(0);
    expect(w.histogram.count).toBe(1);
    expect(w.histogram.percentile(50)).toBeGreaterThan(1400);
    const d = w.findings();
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ class: 'slow-deregister', subject: { kind: 'chat', resource: 'close_to_deregister' } });
    expect(d[0]!.evidenceOf).toMatchObject({ user: 0, socket: old.id });
  });

  it('a late first reading (a stalled generator) measures a long close but is no proof of a slow server', () => {
    const a = user(0);
    const old = open(a, 'chat', 1);
    const w = new DeregisterWatcher({ thresholdMs: 1000, giveUpMs: 10_000, ledgers: () => [a.ledger], baseline: () => null });
    close(a, old, 1500);
    w.add(0, 100, old, a.ledger);
    // the first reading after the close comes 1.5 s late and the server has already let go
    w.observe(reading(extStats(mirror(a))), clock.now());
    expect(w.histogram.count).toBe(1);
    expect(w.histogram.percentile(50)).toBeGreaterThan(1400);
    expect(w.findings()).toEqual([]);
  });

  it('records fast closes without a finding, ignores server closes, and gives up on zombies', () => {
    const a = user(0);
    const fast = open(a, 'chat', 1);
    const zombie = open(a, 'chat', 2);
    const byServer = open(a, 'notifications', null);
    const w = new DeregisterWatcher({ thresholdMs: 1000, giveUpMs: 500, ledgers: () => [a.ledger], baseline: () => null });
    const zombieEntry = entry(100, 'chat', 2);
    close(a, fast, 10);
    close(a, zombie, 600);
    a.ledger.socketClosed(byServer, { code: 1001, by: 'server' });
    for (const r of [fast, zombie, byServer]) w.add(0, 100, r, a.ledger);
    expect(w.pendingCount).toBe(2);
    w.observe(reading(extStats([zombieEntry])), clock.now());
    expect(w.pendingCount).toBe(0);
    expect(w.givenUp).toBe(1);
    expect(w.histogram.count).toBe(1);
    expect(w.findings()).toEqual([]);
  });

  it('counts v1 totals against the baseline and every known ledger', () => {
    const a = user(0), b = user(1);
    open(a, 'chat', 1);
    const c = open(b, 'chat', 1);
    const w = new DeregisterWatcher({ thresholdMs: 1000, giveUpMs: 10_000, ledgers: () => [a.ledger, b.ledger], baseline: () => countsOf(v1Stats(10, 0)) });
    close(b, c, 5);
    w.add(1, 101, c, b.ledger);
    w.observe(reading(v1Stats(12, 0)), clock.now());
    expect(w.pendingCount).toBe(1);
    w.observe(reading(v1Stats(11, 0)), clock.now());
    expect(w.pendingCount).toBe(0);
    expect(w.histogram.count).toBe(1);
  });
});
