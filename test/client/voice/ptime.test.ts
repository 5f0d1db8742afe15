import { describe, expect, it } from 'vitest';
import { withPtime } from '../../../src/client/voice/sdp-rewrite.js';
import { parseScenario } from '../../../src/scenario/load-scenario.js';
import { useVoiceFixture, waitUntil } from './voice-fixture.js';

const SDP = ['v=0', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=rtpmap:111 opus/48000/2', 'a=ptime:20', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=rtpmap:96 VP8/90000', ''].join('\r\n');

describe('Opus packet duration (a=ptime)', () => {
  it('writes one a=ptime into each audio section and leaves video alone', () => {
    const out = withPtime({ type: 'offer', sdp: SDP }, 60).sdp!;
    expect(out.match(/a=ptime:\d+/g)).toEqual(['a=ptime:60']);
    expect(out.indexOf('a=ptime:60')).toBeLessThan(out.indexOf('a=rtpmap:111'));
    expect(out.indexOf('a=ptime:60')).toBeLessThan(out.indexOf('m=video'));
    expect(out.endsWith('a=rtpmap:96 VP8/90000\r\n')).toBe(true);
  });

  it('is a field of the voice phase: 20 by default, only 10, 20, 40 or 60', () => {
    const scenario = (ptime?: unknown) => ({ name: 'p', description: 'p', users: 2, phases: [{ type: 'voice', ...(ptime === undefined ? {} : { ptime }) }] });
    expect(parseScenario(scenario()).phases[0]).toMatchObject({ ptime: 20 });
    expect(parseScenario(scenario(60)).phases[0]).toMatchObject({ ptime: 60 });
    expect(() => parseScenario(scenario(30), 'p.json')).toThrow(/phases\[0\]\.ptime: expected 10, 20, 40 or 60/);
  });

  describe('between two users at 60 ms', () => {
    const fx = useVoiceFixture(2);

    it('each side sends one packet per 60 ms of audio, and the tone still arrives', async () => {
      const sessions = fx.users.map((u) => fx.session(u, { ptimeMs: 60 }));
      for (const s of sessions) expect((await s.join()).ok).toBe(true);
      const peers = () => sessions.flatMap((s) => [...s.peers.values()]);
      await waitUntil(() => peers().length === 2 && peers().every((p) => p.firstToneAt !== null), 20_000, 'the tone both ways');
      // after 3 s of audio both ways, packets against sink frames over the next 2 s
      await waitUntil(() => peers().every((p) => p.audio.received >= 300), 20_000, '3 s of audio both ways');
      const sample = async () => {
        await Promise.all(sessions.map((s) => s.sampleStats()));
        return peers().map((p) => ({ packets: p.stats!.audioPacketsReceived, frames: p.audio.sinkFrames }));
      };
      const before = await sample();
      const f0 = Math.max(...before.map((b) => b.frames));
      await waitUntil(() => peers().every((p) => p.audio.sinkFrames >= f0 + 200), 20_000, '2 s more of audio');
      const after = await sample();
      // the sink hands out a 10 ms frame 100 times a second: 60 ms packets are a sixth of that
      // (20 ms packets, half). The encoder starts at 20 ms and takes the ptime a moment later.
      after.forEach((a, i) => expect((a.packets - before[i]!.packets) / (a.frames - before[i]!.frames)).toBeLessThan(0.25));
    });
  });
});
