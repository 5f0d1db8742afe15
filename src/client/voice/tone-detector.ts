/**
 * Detects one expected tone in decoded audio. A wrtc sink hands out 10 ms frames whether
 * or not audio arrives (silence when nothing does), so frames are only counted as received
 * when they carry energy, and as carrying the sender's tone when the Goertzel power at the
 * sender's frequency holds most of the energy of a ~40 ms window. 40 ms gives 25 Hz bins,
 * enough to tell the 40 Hz-spaced tones of different users apart.
 */
const WINDOW_MS = 40;
/** RMS below this (Int16 units) is silence or comfort noise */
const ENERGY_RMS = 200;
/** share of the window's energy that must sit at the expected frequency */
const TONE_SHARE = 0.5;

/** Normalised Goertzel power: ~1 for a pure sine at `hz`, ~0 for anything far from it. */
export function toneShare(samples: ArrayLike<number>, n: number, sampleRate: number, hz: number): number {
  const w = (2 * Math.PI * hz) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = samples[i]!;
    energy += x * x;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  if (energy === 0) return 0;
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * power) / (n * energy);
}

export interface FrameVerdict {
  energy: boolean;
  /** null until a window completes; then whether it held the tone */
  tone: boolean | null;
}

export class ToneDetector {
  private buf: Float64Array = new Float64Array(0);
  private fill = 0;
  private rate = 0;
  private pendingEnergyFrames = 0;
  /** frames of the last completed window that carried energy and tone */
  lastWindowToneFrames = 0;

  constructor(readonly hz: number) {}

  /** Feeds one frame; returns how many frames (of the window just completed) held the tone. */
  /** `windowDone`: a window completed with this frame (`toneFrames` says whether it held the tone) */
  push(samples: Int16Array, sampleRate: number, channels = 1): { energy: boolean; toneFrames: number; windowDone: boolean } {
    if (sampleRate !== this.rate) {
      this.rate = sampleRate;
      this.buf = new Float64Array(Math.round((sampleRate * WINDOW_MS) / 1000) + sampleRate / 100);
      this.fill = 0;
      this.pendingEnergyFrames = 0;
    }
    const frameLen = Math.floor(samples.length / channels);
    let e = 0;
    for (let i = 0; i < frameLen; i++) {
      const x = samples[i * channels]!;
      e += x * x;
      if (this.fill < this.buf.length) this.buf[this.fill++] = x;
    }
    const energy = frameLen > 0 && Math.sqrt(e / frameLen) >= ENERGY_RMS;
    if (energy) this.pendingEnergyFrames++;
    let toneFrames = 0;
    let windowDone = false;
    const windowLen = Math.round((sampleRate * WINDOW_MS) / 1000);
    if (this.fill >= windowLen) {
      windowDone = true;
      if (this.pendingEnergyFrames > 0 && toneShare(this.buf, this.fill, sampleRate, this.hz) >= TONE_SHARE) toneFrames = this.pendingEnergyFrames;
      this.fill = 0;
      this.pendingEnergyFrames = 0;
    }
    this.lastWindowToneFrames = toneFrames;
    return { energy, toneFrames, windowDone };
  }
}
