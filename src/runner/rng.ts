/**
 * A small seeded PRNG (sfc32) so every random choice of a run comes from the scenario's
 * seed. `fork(label)` derives an independent stream per user or phase: adding a user or a
 * phase never shifts the numbers another one draws, so schedules stay comparable.
 */
export interface Rng {
  /** uniform in [0, 1) */
  next(): number;
  /** integer in [min, max] */
  int(min: number, max: number): number;
  /** uniform in [min, max) */
  range(min: number, max: number): number;
  /** exponential with the given rate (events per unit): the gap of a Poisson process */
  exp(rate: number): number;
  pick<T>(items: readonly T[]): T;
  /** Fisher–Yates on a copy */
  shuffle<T>(items: readonly T[]): T[];
  /** an independent stream named by `label` */
  fork(label: string | number): Rng;
  readonly seed: number;
}

/** 32-bit FNV-1a of a string, mixed with a seed. */
function hash32(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

export function createRng(seed: number): Rng {
  const s = seed >>> 0;
  const next = sfc32(0x9e3779b9, hash32(s, 'b'), hash32(s, 'c'), s ^ 0xdeadbeef);
  // discard the first outputs: sfc32 mixes weakly right after seeding
  for (let i = 0; i < 15; i++) next();
  const rng: Rng = {
    seed: s,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    range: (min, max) => min + next() * (max - min),
    exp: (rate) => -Math.log(1 - next()) / rate,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    shuffle: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
    fork: (label) => createRng(hash32(s, String(label))),
  };
  return rng;
}
