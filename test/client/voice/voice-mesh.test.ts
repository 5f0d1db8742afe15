import { describe, expect, it } from 'vitest';
import { VoiceSession } from '../../../src/client/voice/voice-session.js';
import { summariseVoice } from '../../../src/client/voice/voice-summary.js';
import { useVoiceFixture, waitUntil } from './voice-fixture.js';

describe('voice mesh of three', () => {
  const fx = useVoiceFixture(3);
  const sessions: VoiceSession[] = [];


  it('exchanges audio in every direction, the tone of each sender detected at each receiver', async () => {
    for (const u of fx.users) {
      const s = fx.session(u);
      sessions.push(s);
      const r = await s.join();
      expect(r.ok).toBe(true);
    }
    const everyPair = () => sessions.every((s) => s.peers.size === 2 && [...s.peers.values()].every((p) => p.firstToneAt !== null && p.audio.withTone > 20));
    await waitUntil(everyPair, 20_000, 'tones on all six directed pairs');
    for (const s of sessions) {
      for (const p of s.peers.values()) {
        expect(p.iceState).toMatch(/connected|completed/);
        // frames with energy are a large share of what was expected since connecting
        expect(p.audio.received).toBeGreaterThan(p.audio.expected * 0.8);
      }
    }
    // candidates are loopback only, so every pair connected over 127.0.0.0/8
    await Promise.all(sessions.map((s) => s.sampleStats()));
    const voice = summariseVoice(sessions)!;
    expect(voice.rooms).toHaveLength(1);
    expect(voice.totals.members).toBe(3);
    expect(voice.totals.pairs).toBe(3);
    expect(voice.totals.tonesDetected).toBe(6);
    expect(voice.totals.bytesReceived).toBeGreaterThan(0);
    expect(fx.metrics.histogram('voice.join').count).toBe(3);
    expect(fx.metrics.histogram('webrtc.offer_answer').count).toBe(3);
    expect(fx.metrics.histogram('webrtc.connected').count).toBe(6);
    expect(fx.metrics.histogram('webrtc.first_audio').count).toBe(6);
    for (const u of fx.users) expect(u.ledger.openPeers()).toHaveLength(2);

    await Promise.all(sessions.map((s) => s.leave()));
    for (const u of fx.users) {
      expect(u.ledger.openPeers()).toHaveLength(0);
      for (const [k, r] of Object.entries(u.ledger.resources)) expect(r.released, k).toBe(r.created);
      expect(u.ledger.openSockets()).toHaveLength(0);
    }
    expect(fx.metrics.get('voice.audio_frames.with_tone')).toBeGreaterThan(0);
    // a frame carries the tone only if it was counted received
    expect(fx.metrics.get('voice.audio_frames.with_tone')).toBeLessThanOrEqual(fx.metrics.get('voice.audio_frames.received')!);
  });
});
