import { describe, it, expect } from 'vitest';
import { MessageKeys } from '../../src/client/message-key.js';

describe('MessageKeys (the delivery hot path)', () => {
  const keys = new MessageKeys('mb-abc-s0-');
  const frame = (s: string) => Buffer.from(s);

  it('numbers each content and reads the number back from the content or the frame bytes', () => {
    const a = keys.next(1700000000000.25);
    const b = keys.next(1700000000001);
    expect(a).toEqual({ seq: 1, content: 'mb|mb-abc-s0-|1|1700000000000.250' });
    expect(b.seq).toBe(2);
    expect(keys.seqOf(b.content)).toBe(2);
    expect(keys.seqOfFrame(frame(`{"type":"message","id":1,"content":"${a.content}","text_channel_id":2}`))).toBe(1);
    expect(keys.seqOfFrame(frame(`{"type":"new_message","data":{"id":1,"content":"${b.content}"}}`))).toBe(2);
  });

  it('returns -1, never throws, for short, odd or foreign frames and contents', () => {
    const other = new MessageKeys('mb-xyz-s0-').next(1).content;
    for (const s of [
      '', '{', '{"type":"ping"}', '{"type":"message"}', '{"type":"new_message"', '{"type":"typing","x":1}', 'not json at all',
      '{"type":"message","content":12}',
      `{"type":"message","content":"${other}"}`, // another run's (or shard's) message
      '{"type":"message","content":"mb|mb-abc-s0-|"}', // no number
      '{"type":"message","content":"mb|mb-abc-s0-|12x|1"}', // not a number
      '{"type":"message","content":"mb|mb-abc-s0-|12"}', // cut short
      '{"type":"message","content":"mb|mb-abc-s0-|1234567890123456|1"}', // too long a number
      '{"type":"message","content":"hello mb|mb-abc-s0-|1|2"}', // not at the start
    ]) {
      expect(keys.seqOfFrame(frame(s)), s).toBe(-1);
    }
    expect(keys.seqOfFrame(Buffer.from([0xde, 0xad]))).toBe(-1);
    for (const c of ['', 'hi', other, 'mb|mb-abc-s0-|x|1', 'mb|mb-abc-s0-|1']) expect(keys.seqOf(c), c).toBe(-1);
  });

  it('refuses a run prefix that would need escaping in JSON or could be mistaken for the separator', () => {
    for (const bad of ['a"b', 'a\\b', 'a|b', 'é']) expect(() => new MessageKeys(bad), bad).toThrow(TypeError);
  });

  it('numbers the messages of shards of one run apart, so they share the prefix and never collide', () => {
    const s0 = new MessageKeys('mb-run-', { index: 0, count: 3 });
    const s2 = new MessageKeys('mb-run-', { index: 2, count: 3 });
    const a = [s0.next(1).seq, s0.next(1).seq];
    const b = [s2.next(1).seq, s2.next(1).seq];
    expect(a).toEqual([3, 6]);
    expect(b).toEqual([5, 8]);
    expect(a.map((q) => s2.shardOf(q))).toEqual([0, 0]);
    expect(b.map((q) => s0.shardOf(q))).toEqual([2, 2]);
    // a shard reads the others' messages as the run's
    expect(s0.seqOf(s2.next(1).content)).toBe(11);
  });
});
