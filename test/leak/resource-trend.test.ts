import { describe, it, expect } from 'vitest';
import { fitTrend, checkResourceGrowth, type ResourceSample } from '../../src/leak/resource-trend.js';

const series = (ys: number[], name = 'server.open_fds'): ResourceSample[] => ys.map((y, i) => ({ cycle: i + 1, values: { [name]: y } }));

describe('fitTrend', () => {
  it('fits a line exactly and measures its confidence', () => {
    const t = fitTrend([[1, 3], [2, 5], [3, 7], [4, 9]])!;
    expect(t.slope).toBeCloseTo(2);
    expect(t.intercept).toBeCloseTo(1);
    expect(t.r2).toBeCloseTo(1);
    expect(t.t).toBe(Infinity);
    const noisy = fitTrend([[1, 10], [2, 12], [3, 9], [4, 11], [5, 10]])!;
    expect(Math.abs(noisy.t)).toBeLessThan(1);
    expect(fitTrend([[1, 1], [2, 2]])).toBeNull();
  });
});

describe('checkResourceGrowth', () => {
  it('fds that rose with the cycles but were given back once every user left are a note, not a leak', () => {
    const rising = series([50, 52, 55, 57, 60, 62]);
    const notes: string[] = [];
    expect(checkResourceGrowth(rising, { end: { 'server.open_fds': 49 }, notes })).toEqual([]);
    expect(notes).toEqual([expect.stringContaining('back at 49 (first cycle: 50) once every user had left')]);
    // kept after everyone left: the leak it looks like
    expect(checkResourceGrowth(rising, { end: { 'server.open_fds': 62 } })).toHaveLength(1);
    // a resource without the rule is judged on its cycles alone
    expect(checkResourceGrowth(series([50, 52, 55, 57, 60, 62], 'bench.fds'), { end: { 'bench.fds': 40 } })).toHaveLength(1);
  });

  it('flags fds growing every cycle', () => {
    const d = checkResourceGrowth(series([50, 52, 55, 57, 60, 62]));
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ class: 'resource-growth', subject: { resource: 'server.open_fds' } });
    expect((d[0]!.observed as { perCycle: number }).perCycle).toBeGreaterThan(2);
  });

  it('never flags one noisy sample, a flat series or a warm-up step', () => {
    expect(checkResourceGrowth(series([50, 50, 50, 80, 50, 50]))).toEqual([]);
    expect(checkResourceGrowth(series([50, 51, 50, 51, 50, 51]))).toEqual([]);
    expect(checkResourceGrowth(series([20, 50, 50, 50, 50, 50]))).toEqual([]);
    expect(checkResourceGrowth(series([50, 51, 52]))).toEqual([]); // too few cycles to say
  });

  it('tolerates heap wobble but not steady heap growth', () => {
    const mb = 1024 * 1024;
    const wobble = [40, 42, 39, 43, 41, 40].map((x) => x * mb);
    expect(checkResourceGrowth(series(wobble, 'server.heap_used_bytes'))).toEqual([]);
    // a short climb between two major GCs is not enough cycles to call
    expect(checkResourceGrowth(series([40, 41.5, 43, 44.5, 46].map((x) => x * mb), 'server.heap_used_bytes'))).toEqual([]);
    // a leaking sawtooth: every trough 2 MB above the one before
    const grow = [40, 44, 41, 46, 43, 48, 45, 50, 47].map((x) => x * mb);
    expect(checkResourceGrowth(series(grow, 'server.heap_used_bytes')).map((d) => d.subject.resource)).toEqual(['server.heap_used_bytes']);
  });

  it('judges the heap by its floor: a recorded GC sawtooth of the healthy server is no leak', () => {
    // soak on the bundled server, heap_used_bytes at cycles 0..16 (29.4 MB to 31.1 MB, down to 11.3 MB, up to 18.7 MB)
    const rec = [29449176, 30235704, 31148736, 22785680, 21937904, 22703120, 23713792, 24029248, 25094000, 24670568, 11303872, 12991232, 13270592, 16930208, 16639952, 11955424, 18707672];
    expect(checkResourceGrowth(series(rec, 'server.heap_used_bytes'))).toEqual([]);
    // the early climb alone (a prefix) looks like a leak on its samples, but the floor rules it out too
    expect(checkResourceGrowth(series(rec.slice(3, 10), 'server.heap_used_bytes'))).toEqual([]);
    // RSS is shown in the trend but never a finding
    expect(checkResourceGrowth(series(rec.map((_, i) => (40 + 4 * i) * 1024 * 1024), 'server.rss_bytes'))).toEqual([]);
  });
});

describe('the generator judged by its own trend', () => {
  const cycles = (values: number[], name: string): ResourceSample[] => values.map((v, cycle) => ({ cycle, values: { [name]: v } }));
  it('a bench heap whose floor rises is a finding on bench.heap_used_bytes; a sawtooth is not', () => {
    const MB = 1024 * 1024;
    const rising = cycles([20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42].map((v) => v * MB), 'bench.heap_used_bytes');
    const grew = checkResourceGrowth(rising);
    expect(grew.map((d) => d.subject.resource)).toEqual(['bench.heap_used_bytes']);
    const saw = cycles([12, 26, 13, 25, 12, 24, 13, 26, 12, 25, 13, 24].map((v) => v * MB), 'bench.heap_used_bytes');
    expect(checkResourceGrowth(saw)).toEqual([]);
  });
});
