import { describe, expect, it } from 'vitest';
import { rawChatContent } from '../../src/client/chat-session.js';

describe('rawChatContent (the delivery hot path)', () => {
  it('reads the content of message and new_message frames from their bytes', () => {
    expect(rawChatContent(Buffer.from('{"type":"message","id":1,"content":"k1","text_channel_id":2}'))).toBe('k1');
    expect(rawChatContent(Buffer.from('{"type":"new_message","data":{"id":1,"content":"k2"}}'))).toBe('k2');
  });

  it('returns null, never throws, for short, odd or foreign frames', () => {
    // shorter than either prefix, or between the two lengths (Buffer.compare throws past the end)
    for (const s of ['', '{', '{"type":"ping"}', '{"type":"pong"}', '{"type":"message"}', '{"type":"new_message"', '{"type":"typing","x":1}', 'not json at all', '{"type":"message","content":12}']) {
      expect(rawChatContent(Buffer.from(s)), s).toBeNull();
    }
    expect(rawChatContent(Buffer.from([0xde, 0xad]))).toBeNull();
  });
});
