import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * A growable table of numbers, `width` columns a row, kept in one Float64Array: the compact
 * records a shard keeps for the merge (its messages, its sockets' subscriptions, its receipts
 * of other shards' messages), with no object per row. `encode()` gives the deflated base64
 * form a report carries; `decodeColumns` reads it back.
 */
export class Columns {
  private data: Float64Array;
  private n = 0;

  constructor(
    readonly width: number,
    /** rows kept at most; the ones past it are counted in `dropped`, not kept */
    readonly maxRows = Number.MAX_SAFE_INTEGER,
  ) {
    this.data = new Float64Array(width * 64);
  }

  dropped = 0;

  get rows(): number {
    return this.n;
  }

  push(...values: number[]): void {
    if (this.n >= this.maxRows) {
      this.dropped++;
      return;
    }
    const at = this.n * this.width;
    if (at + this.width > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    for (let i = 0; i < this.width; i++) this.data[at + i] = values[i]!;
    this.n++;
  }

  get(row: number, col: number): number {
    return this.data[row * this.width + col]!;
  }

  encode(): string {
    const used = this.data.subarray(0, this.n * this.width);
    return deflateRawSync(Buffer.from(used.buffer, used.byteOffset, used.byteLength)).toString('base64');
  }
}

/** The rows of an encoded table, `width` numbers each. */
export function decodeColumns(encoded: string, width: number): Float64Array {
  const raw = inflateRawSync(Buffer.from(encoded, 'base64'));
  if (raw.byteLength % (8 * width) !== 0) throw new TypeError(`a table of ${width} columns cannot be ${raw.byteLength} bytes`);
  // copied into an aligned buffer (a Buffer may sit at any offset of its pool)
  const out = new Float64Array(raw.byteLength / 8);
  new Uint8Array(out.buffer).set(raw);
  return out;
}
