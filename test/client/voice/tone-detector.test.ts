import { describe, expect, it } from 'vitest';
import { ToneDetector, toneShare } from '../../../src/client/voice/tone-detector.js';
import { toneHzFor } from '../../../src/client/voice/tone-source.js';

function sine(hz: number, rate: number, n: number, offset = 0, amp = 8000): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * (offset + i)) / rate));
  return s;
}

function feed(det: ToneDetector, hz: number, rate: number, frames: number, amp = 8000): { energy: number; tone: number } {
  const n = rate / 100;
  let energy = 0;
  let tone = 0;
  for (let f = 0; f < frames; f++) {
    const r = det.push(sine(hz, rate, n, f * n, amp), rate);
    if (r.energy) energy++;
    tone += r.toneFrames;
  }
  return { energy, tone };
}

describe('tone detector', () => {
  it('finds its own tone at 16 kHz and 48 kHz', () => {
    for (const rate of [16_000, 48_000]) {
      const r = feed(new ToneDetector(toneHzFor(3)), toneHzFor(3), rate, 40);
      expect(r.energy).toBe(40);
      expect(r.tone).toBe(40);
    }
  });

  it('tells a neighbour 40 Hz away from the expected tone', () => {
    const r = feed(new ToneDetector(toneHzFor(3)), toneHzFor(4), 16_000, 40);
    expect(r.energy).toBe(40);
    expect(r.tone).toBe(0);
  });

  it('counts neither energy nor tone in silence', () => {
    const r = feed(new ToneDetector(500), 500, 16_000, 20, 0);
    expect(r).toEqual({ energy: 0, tone: 0 });
  });

  it('toneShare is about 1 for a pure tone and small elsewhere', () => {
    const s = sine(1000, 16_000, 640);
    expect(toneShare(s, s.length, 16_000, 1000)).toBeGreaterThan(0.9);
    expect(toneShare(s, s.length, 16_000, 1200)).toBeLessThan(0.05);
  });
});
