/**
 * The content of every chat message the bench sends: `mb|<run prefix>|<seq>|<intended wall ms>`.
 * The prefix tells this run's (and shard's) messages from anyone else's; the sequence number
 * keys the delivery accounting. Receipts read the number straight from the frame's bytes, so
 * the hot path of tens of thousands of deliveries a second makes no string and hashes none.
 */
export class MessageKeys {
  readonly prefix: string;
  private readonly prefixBytes: Buffer;
  private seq = 0;
  /** shards of one run share the prefix; shard i of n numbers its messages i + n, i + 2n, …, so numbers never collide */
  readonly stride: number;
  readonly offset: number;

  /** `runPrefix` is plain ASCII without `"`, `\` or `|` (the run's username prefix) */
  constructor(runPrefix: string, shard: { index: number; count: number } = { index: 0, count: 1 }) {
    this.stride = shard.count;
    this.offset = shard.index;
    if (!/^[\x20-\x7e]*$/.test(runPrefix) || /["\\|]/.test(runPrefix)) throw new TypeError(`message key prefix must be printable ASCII without ", \\ or |: ${JSON.stringify(runPrefix)}`);
    this.prefix = `mb|${runPrefix}|`;
    this.prefixBytes = Buffer.from(this.prefix, 'latin1');
  }

  /** The next message: its number and its content. */
  next(intendedWall: number): { seq: number; content: string } {
    const seq = ++this.seq * this.stride + this.offset;
    return { seq, content: `${this.prefix}${seq}|${intendedWall.toFixed(3)}` };
  }

  /** The shard that sent message `seq` (this run's numbering). */
  shardOf(seq: number): number {
    return seq % this.stride;
  }

  /** The intended send time (the sender's wall ms) a content or frame of this run carries, or NaN. */
  wallOf(src: Buffer | string): number {
    if (typeof src === 'string') {
      if (!src.startsWith(this.prefix)) return NaN;
      return Number(src.slice(src.indexOf('|', this.prefix.length) + 1));
    }
    const at = src.indexOf(this.prefixBytes);
    if (at < 0) return NaN;
    const bar = src.indexOf(PIPE, at + this.prefixBytes.length);
    const quote = src.indexOf(QUOTE, bar);
    return bar < 0 || quote < 0 ? NaN : Number(src.toString('latin1', bar + 1, quote));
  }

  /** The number of a content of ours, or -1. */
  seqOf(content: string): number {
    if (!content.startsWith(this.prefix)) return -1;
    const digits = content.slice(this.prefix.length, content.indexOf('|', this.prefix.length));
    return /^\d{1,15}$/.test(digits) ? Number(digits) : -1;
  }

  /**
   * The number of a chat message frame of ours (`message`, or `new_message` with `data`),
   * read from its bytes without parsing, or -1 for any other frame. A JSON string holds our
   * prefix only as these very bytes (it has nothing to escape), so a match is exact.
   */
  seqOfFrame(data: Buffer): number {
    if (!startsWith(data, TYPE_PREFIX, 0)) return -1;
    const t = TYPE_PREFIX.length;
    const after = startsWith(data, 'message",', t) ? t + 9 : startsWith(data, 'new_message",', t) ? t + 13 : -1;
    if (after < 0) return -1;
    const at = data.indexOf(CONTENT_FIELD, after);
    if (at < 0) return -1;
    const start = at + CONTENT_FIELD.length;
    const p = this.prefixBytes;
    if (data.length < start + p.length) return -1;
    for (let i = 0; i < p.length; i++) if (data[start + i] !== p[i]) return -1;
    return digitsAt(data, start + p.length);
  }
}

const TYPE_PREFIX = '{"type":"';
const CONTENT_FIELD = Buffer.from('"content":"');
const PIPE = 0x7c;
const QUOTE = 0x22;

/** true when `data` holds the ASCII `text` at `from`, compared in JS: cheaper than a native call for a few bytes */
function startsWith(data: Buffer, text: string, from: number): boolean {
  if (data.length < from + text.length) return false;
  for (let i = 0; i < text.length; i++) if (data[from + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** The decimal number (1 to 15 digits) at `from`, which must end in `|`; -1 otherwise. */
function digitsAt(data: Buffer, from: number): number {
  let n = 0;
  let i = from;
  for (; i < data.length && i - from < 16; i++) {
    const c = data[i]!;
    if (c === PIPE) break;
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return i > from && i - from <= 15 && data[i] === PIPE ? n : -1;
}
