// What the bare wrtc baselines (bare-voice.js, bare-voice-soak.js) share: plain wrtc, no
// miscord-bench code, so they measure what wrtc alone costs.
export const SAMPLE_RATE = 48_000;
export const FRAME_SAMPLES = 480;

export function toneFrames(hz) {
  const frames = [];
  for (let f = 0; f < 5; f++) {
    const s = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) s[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * (f * FRAME_SAMPLES + i)) / SAMPLE_RATE));
    frames.push(s);
  }
  return frames; // 300 + 40k Hz: a multiple of 20 Hz, so 5 frames (2400 samples) are whole periods
}

/** The offer/answer with `a=ptime:<ms>` on its audio section (as the bench's own SDP rewrite does, written apart on purpose). */
export function withPtime(desc, ms) {
  const sdp = desc.sdp
    .split(/\r\n(?=m=)/)
    .map((sec) => {
      if (!sec.startsWith('m=audio')) return sec;
      const lines = sec.split('\r\n').filter((l) => !l.startsWith('a=ptime:'));
      const at = lines.findIndex((l) => l.startsWith('a=rtpmap:'));
      lines.splice(at < 0 ? lines.length : at, 0, `a=ptime:${ms}`);
      return lines.join('\r\n');
    })
    .join('\r\n');
  return { type: desc.type, sdp };
}

/** ICE candidates on loopback only (tests and loopback targets) */
export const loopback = (c) => c.candidate.split(' ')[4] === '127.0.0.1';

/** Connects two local peer connections directly: loopback ICE candidates, one offer and its answer at `ptimeMs`. */
export async function negotiate(pa, pb, ptimeMs) {
  pa.onicecandidate = (e) => e.candidate && loopback(e.candidate) && pb.addIceCandidate(e.candidate).catch(() => {});
  pb.onicecandidate = (e) => e.candidate && loopback(e.candidate) && pa.addIceCandidate(e.candidate).catch(() => {});
  const offer = withPtime(await pa.createOffer(), ptimeMs);
  await pa.setLocalDescription(offer);
  await pb.setRemoteDescription(offer);
  const answer = withPtime(await pb.createAnswer(), ptimeMs);
  await pb.setLocalDescription(answer);
  await pa.setRemoteDescription(answer);
}
