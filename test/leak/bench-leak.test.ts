import { describe, it, expect } from 'vitest';
import { checkBenchLeak, benchSample } from '../../src/leak/bench-leak.js';
import { user, open, close } from './fixtures.js';

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
