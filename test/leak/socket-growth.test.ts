import { describe, it, expect } from 'vitest';
import { SocketGrowthCheck } from '../../src/leak/socket-growth.js';
import { user, open } from './fixtures.js';

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
