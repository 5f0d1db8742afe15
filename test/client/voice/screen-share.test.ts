import { describe, expect, it } from 'vitest';
import { VoiceSession } from '../../../src/client/voice/voice-session.js';
import { useVoiceFixture, waitUntil } from './voice-fixture.js';

describe('screen share', () => {
  const fx = useVoiceFixture(2);
  const sessions: VoiceSession[] = [];


  it('renegotiates on start and stop, even when both sides share at once (glare), and frames stop after', async () => {
    for (const u of fx.users) {
      const s = fx.session(u);
      sessions.push(s);
      expect((await s.join()).ok).toBe(true);
    }
    const [a, b] = sessions as [VoiceSession, VoiceSession];
    const peerOf = (s: VoiceSession) => [...s.peers.values()][0]!;
    await waitUntil(() => sessions.every((s) => s.peers.size === 1 && peerOf(s).firstToneAt !== null), 15_000, 'audio both ways');

    // both start in the same tick: the two offers cross and one side must roll back
    a.startScreenShare();
    b.startScreenShare();
    await waitUntil(() => sessions.every((s) => peerOf(s).videoFrames > 10), 15_000, 'video frames both ways');
    expect(fx.metrics.histogram('screen.first_frame').count).toBe(2);
    // the crossing was real and resolved the perfect-negotiation way
    expect(fx.metrics.get('webrtc.glare_rollback') + fx.metrics.get('webrtc.glare_ignored')).toBeGreaterThan(0);
    for (const s of sessions) expect(peerOf(s).openSinks('video')).toBe(1);
    expect(a.statusReceived.screen_share_started).toBe(1);
    expect(b.statusReceived.screen_share_started).toBe(1);

    a.stopScreenShare();
    b.stopScreenShare();
    // the receivers drop their video sinks only when the renegotiation says the track is gone
    await waitUntil(() => sessions.every((s) => peerOf(s).openSinks('video') === 0 && peerOf(s).signalingState === 'stable'), 15_000, 'video sinks closed by renegotiation');
    for (const s of sessions) expect(peerOf(s).sharingScreen).toBe(false);

    const packets = async () => (await Promise.all(sessions.map((s) => peerOf(s).sampleStats()))).map((st) => st!.videoPacketsReceived);
    const before = await packets();
    const audioMark = peerOf(a).audio.sinkFrames;
    await waitUntil(() => peerOf(a).audio.sinkFrames > audioMark + 40, 5000, '400 ms more of audio');
    const after = await packets();
    expect(after).toEqual(before);
    // audio kept flowing through both renegotiations
    expect(peerOf(a).audio.withTone).toBeGreaterThan(20);

    // a second share after the first reuses the transceiver and delivers again
    a.startScreenShare();
    const framesB = peerOf(b).videoFrames;
    await waitUntil(() => peerOf(b).videoFrames > framesB + 5, 15_000, 'video again after restart');
    a.stopScreenShare();
    await waitUntil(() => peerOf(b).openSinks('video') === 0, 15_000, 'video sink closed again');

    await Promise.all(sessions.map((s) => s.leave()));
    for (const u of fx.users) {
      for (const [k, r] of Object.entries(u.ledger.resources)) expect(r.released, k).toBe(r.created);
      expect(u.ledger.openPeers()).toHaveLength(0);
    }
  });
});
