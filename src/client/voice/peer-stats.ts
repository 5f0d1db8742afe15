import type { WrtcPeerConnection } from './wrtc.js';

/** What one getStats() sample of a peer connection says, cumulative since the peer began. */
export interface PeerStats {
  at: number;
  audioPacketsReceived: number;
  audioPacketsLost: number;
  /** seconds, as getStats reports it */
  jitter: number | null;
  /** seconds; from remote-inbound-rtp when present, else the nominated candidate pair */
  rtt: number | null;
  bytesSent: number;
  bytesReceived: number;
  concealedSamples: number;
  totalSamplesReceived: number;
  videoFramesReceived: number;
  videoPacketsReceived: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function parseStats(report: Map<string, Record<string, unknown>> | Iterable<Record<string, unknown>>, at: number): PeerStats {
  const s: PeerStats = {
    at,
    audioPacketsReceived: 0,
    audioPacketsLost: 0,
    jitter: null,
    rtt: null,
    bytesSent: 0,
    bytesReceived: 0,
    concealedSamples: 0,
    totalSamplesReceived: 0,
    videoFramesReceived: 0,
    videoPacketsReceived: 0,
  };
  const values = report instanceof Map ? report.values() : report;
  let pairRtt: number | null = null;
  for (const r of values) {
    const kind = r.kind ?? r.mediaType;
    switch (r.type) {
      case 'inbound-rtp':
        s.bytesReceived += num(r.bytesReceived);
        if (kind === 'audio') {
          s.audioPacketsReceived += num(r.packetsReceived);
          s.audioPacketsLost += Math.max(0, num(r.packetsLost));
          if (typeof r.jitter === 'number') s.jitter = Math.max(s.jitter ?? 0, r.jitter);
          s.concealedSamples += num(r.concealedSamples);
          s.totalSamplesReceived += num(r.totalSamplesReceived);
        } else if (kind === 'video') {
          s.videoPacketsReceived += num(r.packetsReceived);
          s.videoFramesReceived += num(r.framesReceived ?? r.framesDecoded);
        }
        break;
      case 'outbound-rtp':
        s.bytesSent += num(r.bytesSent);
        break;
      case 'remote-inbound-rtp':
        if (typeof r.roundTripTime === 'number') s.rtt = r.roundTripTime;
        break;
      case 'candidate-pair':
        if (r.nominated === true && r.state === 'succeeded' && typeof r.currentRoundTripTime === 'number') pairRtt = r.currentRoundTripTime;
        break;
    }
  }
  if (s.rtt === null) s.rtt = pairRtt;
  return s;
}

export async function samplePeerStats(pc: WrtcPeerConnection, at: number): Promise<PeerStats> {
  return parseStats(await pc.getStats(), at);
}
