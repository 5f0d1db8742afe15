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

  /** Freezes the main session's signaling socket; null when it is not joined. */
  freeze(): { closed: Promise<void> } | null {
    return this.current?.freeze() ?? null;
  }

  /** Crashes every joined session of this user (its tabs die with the browser); how many crashed. */
  async crash(): Promise<number> {
    const done = await Promise.all([...this.sessions].map((s) => s.crash()));
    return done.filter(Boolean).length;
  }
}
