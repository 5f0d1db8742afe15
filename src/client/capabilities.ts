import type { SocketKind } from '../protocol/messages.js';
import type { Logger } from '../log.js';

/**
 * What the target turned out to support, learned during the run and shared by every
 * simulated user: a deployment lacking an endpoint (say, a chat socket that always answers
 * 403) is said once, and the run goes on with what works instead of hammering it.
 */
export class Capabilities {
  /** refusals in a row, with no success ever, after which a socket kind counts as unavailable */
  static readonly UNAVAILABLE_AFTER = 5;
  private readonly opened: Record<SocketKind, number> = { chat: 0, voice: 0, notifications: 0 };
  private readonly refused: Record<SocketKind, number> = { chat: 0, voice: 0, notifications: 0 };
  private readonly lastRefusal: Partial<Record<SocketKind, string>> = {};
  readonly unavailable = new Map<SocketKind, string>();
  /** in-band switch_channel: unknown until the server answers one */
  inBand: 'unknown' | 'yes' | 'no' = 'unknown';
  /** human-readable notes for the report's errors section */
  readonly notes: string[] = [];

  constructor(private readonly log: Logger) {}

  available(kind: SocketKind): boolean {
    return !this.unavailable.has(kind);
  }

  socketOpened(kind: SocketKind): void {
    this.opened[kind]++;
  }

  socketRefused(kind: SocketKind, what: string): void {
    this.refused[kind]++;
    this.lastRefusal[kind] = what;
    if (this.opened[kind] === 0 && this.refused[kind] >= Capabilities.UNAVAILABLE_AFTER && !this.unavailable.has(kind)) {
      const note = `the target refuses every ${kind} socket (${what}): ${kind} skipped for the rest of the run`;
      this.unavailable.set(kind, note);
      this.notes.push(note);
      this.log.warn('[ChatService]', note);
    }
  }

  inBandUnsupported(why: string): void {
    if (this.inBand === 'no') return;
    this.inBand = 'no';
    const note = `the target does not support in-band switch_channel (${why}): switching by reconnecting instead`;
    this.notes.push(note);
    this.log.warn('[ChatService]', note);
  }
}
