import type { VoiceSession } from './voice-session.js';

/**
 * What a simulated user exposes of its voice state (SimulatedUser.voice): the room it is in
 * and the remote users it holds peers to, read live from its current session, plus the
 * teardown of every voice session it ever opened (a second tab included).
 */
export class VoiceUserSlot {
  /** the main session (replaced on leave-rejoin) */
  current: VoiceSession | null = null;
  /** every session of this user not yet left, the main one included */
  readonly sessions = new Set<VoiceSession>();

  get roomId(): number | null {
    return this.current?.view().roomId ?? null;
  }

  get remoteUserIds(): number[] {
    const ids = new Set<number>();
    for (const s of this.sessions) for (const id of s.view().remoteUserIds) ids.add(id);
    return [...ids].sort((a, b) => a - b);
  }

  add(s: VoiceSession, main: boolean): void {
    this.sessions.add(s);
    if (main) this.current = s;
  }

  async leave(s: VoiceSession): Promise<void> {
    await s.leave();
    this.sessions.delete(s);
  }

  /** Leaves every room: second tabs first, then the main session. Idempotent. */
  async close(): Promise<void> {
    const main = this.current;
    await Promise.all([...this.sessions].filter((s) => s !== main).map((s) => this.leave(s)));
    if (main) await this.leave(main);
  }

  freeze(): boolean {
    if (!this.current || this.current.state !== 'joined') return false;
    this.current.freeze();
    return true;
  }
}
