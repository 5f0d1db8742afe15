import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/runner/rng.js';

const draw = (seed: number, n = 8) => {
  const r = createRng(seed);
  return Array.from({ length: n }, () => r.next());
};

describe('createRng', () => {
  it('the same seed gives the same numbers; another seed other numbers; all in [0, 1)', () => {
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const many = draw(7, 10_000);
    expect(many.every((x) => x >= 0 && x < 1)).toBe(true);
    // roughly uniform: each tenth holds about a tenth
    const bins = Array.from({ length: 10 }, (_, i) => many.filter((x) => Math.floor(x * 10) === i).length);
    for (const b of bins) expect(b).toBeGreaterThan(850), expect(b).toBeLessThan(1150);
    expect(createRng(-1).seed).toBe(0xffffffff);
  });

  it('int and range stay within their bounds and reach both ends of int', () => {
    const r = createRng(1);
    const ints = Array.from({ length: 2000 }, () => r.int(3, 6));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5, 6]));
    const xs = Array.from({ length: 2000 }, () => r.range(-2, 2));
    expect(xs.every((x) => x >= -2 && x < 2)).toBe(true);
  });

  it('exp has the mean 1/rate (the gaps of a Poisson process)', () => {
    const r = createRng(9);
    const n = 20_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += r.exp(4);
    expect(sum / n).toBeGreaterThan(0.24);
    expect(sum / n).toBeLessThan(0.26);
  });

  it('pick draws from the list; shuffle returns a permutation of a copy', () => {
    const r = createRng(5);
    const items = ['a', 'b', 'c', 'd', 'e'] as const;
    expect(new Set(Array.from({ length: 200 }, () => r.pick(items)))).toEqual(new Set(items));
    const s = r.shuffle(items);
    expect([...s].sort()).toEqual([...items]);
    expect(items).toEqual(['a', 'b', 'c', 'd', 'e']);
    // not the identity every time
    expect(Array.from({ length: 10 }, () => r.shuffle(items).join('')).some((x) => x !== 'abcde')).toBe(true);
  });

  it('fork(label) is a stream of its own: the same for the same label, unmoved by draws on the parent or a sibling', () => {
    const a = createRng(11);
    const first = Array.from({ length: 5 }, () => a.fork('user-3').next());
    expect(new Set(first).size).toBe(1);
    const b = createRng(11);
    for (let i = 0; i < 100; i++) b.next();
    b.fork('user-2').next();
    expect(b.fork('user-3').next()).toBe(first[0]);
    expect(b.fork(3).next()).toBe(b.fork('3').next());
    expect(b.fork('user-4').next()).not.toBe(first[0]);
    expect(createRng(12).fork('user-3').next()).not.toBe(first[0]);
  });
});
