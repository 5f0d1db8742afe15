import { UserLedger } from './ledger.js';
import type { ClientEnv, UserIdentity } from './client-env.js';

/** One simulated Miscord user (in progress). */
export class SimulatedUser {
  readonly ledger: UserLedger;
  identity: UserIdentity | null = null;
  /** the voice client's per-user state (see VoiceUserState in src/runner/run-context.ts) */
  voice: { roomId: number | null; remoteUserIds: number[]; close?(): Promise<void> } | null = null;

  constructor(
    readonly index: number,
    readonly username: string,
    readonly env: ClientEnv,
  ) {
    this.ledger = new UserLedger(index, username);
  }
}
