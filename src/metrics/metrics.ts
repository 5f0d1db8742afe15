import { LatencyHistogram, type EncodedHistogram } from './latency-histogram.js';

/**
 * The run's metrics: named latency histograms and named counters. One instance per run
 * (per process with --workers); every simulated user records into it.
 *
 * Histogram names in use: http.register, http.login, ws.connect.chat, ws.connect.notifications,
 * ws.connect.voice, chat.switch, chat.deliver, ws.ping_rtt, voice.join, webrtc.offer_answer,
 * webrtc.connected, webrtc.first_audio, screen.first_frame, close_to_deregister.
 * Counter names are dotted too: chat.sent, chat.delivered, chat.expected, refusals.<code>,
 * errors.<kind>, ws.reconnects, voice.audio_frames.expected, ...
 */
export class Metrics {
  readonly histograms = new Map<string, LatencyHistogram>();
  readonly counters = new Map<string, number>();

  histogram(name: string): LatencyHistogram {
    let h = this.histograms.get(name);
    if (!h) {
      h = new LatencyHistogram();
      this.histograms.set(name, h);
    }
    return h;
  }

  record(name: string, ms: number): void {
    this.histogram(name).record(ms);
  }

  inc(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  encodeHistograms(): Record<string, EncodedHistogram> {
    const out: Record<string, EncodedHistogram> = {};
    for (const [k, h] of [...this.histograms].sort(([a], [b]) => a.localeCompare(b))) out[k] = h.encode();
    return out;
  }

  counterObject(): Record<string, number> {
    return Object.fromEntries([...this.counters].sort(([a], [b]) => a.localeCompare(b)));
  }
}
