import type { UserLedger, SocketRecord } from '../client/ledger.js';
import type { Checkpoint, Finding } from '../report/schema.js';
import type { EncodedHistogram } from '../metrics/latency-histogram.js';
import type { StatsConfig } from '../protocol/messages.js';

/**
 * The contract between the runner and the leak detector (src/leak). The runner owns the
 * simulated users; the detector owns the server view and the findings.
 */
export interface LeakUserView {
  ledger: UserLedger;
  /** extra per-user state the voice client exposes (peers by remote user, open sinks...) */
  voice?: { roomId: number | null; remoteUserIds: number[] } | null;
}

export interface LeakDetector {
  /** Reads the baseline before any simulated user connects (v1 diffs are against it). */
  start(): Promise<void>;
  /** Called for every client-side close, to measure close → deregister. */
  onSocketClosed(userIndex: number, userId: number, rec: SocketRecord): void;
  /** Settles (polls until stable or `settleMs`), diffs, and records findings. */
  checkpoint(name: string, users: LeakUserView[], opts?: { final?: boolean; cycle?: number }): Promise<Checkpoint>;
  /** The server's config as the detector knows it (from [ext] stats or options). */
  serverConfig(): StatsConfig | null;
  findings(): Finding[];
  checkpoints(): Checkpoint[];
  /** close_to_deregister and any other histograms the detector measured */
  histograms(): Record<string, EncodedHistogram>;
  close(): Promise<void>;
}
