import { describe, expect, it } from 'vitest';
import { withPtime } from '../../../src/client/voice/sdp-rewrite.js';

const crlf = (lines: string[]) => lines.join('\r\n');

describe('withPtime', () => {
  it('puts a=ptime before the first rtpmap of every audio section, replacing any there', () => {
    const sdp = crlf(['v=0', 'm=audio 9 RTP 111', 'a=ptime:20', 'a=rtpmap:111 opus/48000/2', 'm=audio 9 RTP 111', 'a=mid:1', 'a=rtpmap:111 opus/48000/2', 'a=ptime:10', 'm=video 9 RTP 96', 'a=rtpmap:96 VP8/90000', '']);
    const out = withPtime({ type: 'answer', sdp }, 40);
    expect(out.type).toBe('answer');
    expect(out.sdp).toBe(crlf(['v=0', 'm=audio 9 RTP 111', 'a=ptime:40', 'a=rtpmap:111 opus/48000/2', 'm=audio 9 RTP 111', 'a=mid:1', 'a=ptime:40', 'a=rtpmap:111 opus/48000/2', 'm=video 9 RTP 96', 'a=rtpmap:96 VP8/90000', '']));
  });

  it('appends to an audio section that has no rtpmap, and is idempotent', () => {
    const sdp = crlf(['v=0', 'm=audio 9 RTP 0', 'a=mid:0']);
    const once = withPtime({ type: 'offer', sdp }, 60);
    expect(once.sdp).toBe(crlf(['v=0', 'm=audio 9 RTP 0', 'a=mid:0', 'a=ptime:60']));
    expect(withPtime(once, 60).sdp).toBe(once.sdp);
  });

  it('leaves a description without SDP, or without audio, as it was', () => {
    const rollback = { type: 'rollback' };
    expect(withPtime(rollback, 20)).toBe(rollback);
    const video = crlf(['v=0', 'm=video 9 RTP 96', 'a=rtpmap:96 VP8/90000', '']);
    expect(withPtime({ type: 'offer', sdp: video }, 20).sdp).toBe(video);
  });
});
