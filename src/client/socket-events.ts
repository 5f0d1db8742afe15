import type { SocketKind } from '../protocol/messages.js';
import type { UserIdentity } from './user-identity.js';
import type { SocketRecord, UserLedger } from './ledger.js';

/** Why a socket was refused: the HTTP status of a refused upgrade, or the close code of an accepted one. */
export interface Refusal {
  status?: number;
  code?: number;
  reason: string;
}

/** Who owns the socket and which one: every event carries it. */
interface SocketEventBase {
  /** the socket's kind */
  socket: SocketKind;
  /** the owner's ledger (its `index` is the user in every trace line) */
  ledger: UserLedger;
  /** the logged-in identity; null before login (nothing is owed to or by such a socket) */
  identity: UserIdentity | null;
  /** the ledger's record of this socket (created by the socket, filed by the ledger on `opening`) */
  rec: SocketRecord;
  /** clock.now() when it happened */
  t: number;
}

/**
 * One happening of one socket, published once where it happens. `opening` comes first; a socket
 * ends with exactly one of `refused`, `failed` (never opened) or `closed`. `recv` and `sent`
 * are published only while someone listens to them (SocketStream.listens).
 */
export type SocketEvent = SocketEventBase &
  (
    | { kind: 'opening' }
    /** `connectMs`: from the intended start of the attempt */
    | { kind: 'open'; connectMs: number }
    /** `connectMs`: set when the refusal ended a timed connect attempt (a refused upgrade of a chat or notifications socket) */
    | { kind: 'refused'; refusal: Refusal; connectMs?: number; crashed?: boolean }
    /** the connection could not be made (unreachable, timed out, closed before open) */
    | { kind: 'failed'; error: string | undefined; connectMs: number }
    /** a socket error that did not end the attempt */
    | { kind: 'error'; error: string }
    /** the client sent its close frame */
    | { kind: 'closing'; code: number }
    /**
     * `refused`: an accepted socket closed at once by the server for a limit or a bad token;
     * `crashed`: the client destroyed the connection with no close frame
     */
    | { kind: 'closed'; code: number; reason: string; by: 'client' | 'server'; refused: boolean; crashed: boolean }
    /** the client stopped answering pings and sending, without closing */
    | { kind: 'frozen' }
    /** the client is about to destroy the connection with no close frame (a killed tab) */
    | { kind: 'crashed' }
    /** the client forgot the connection without closing it (the leaky switch) */
    | { kind: 'abandoned' }
    /**
     * A message received: its type and subject (`user_id`, or `from_id` for relayed signaling;
     * on a notifications socket `channel` is the message's `voice_channel_id`); `frame` is the
     * parsed message itself
     */
    | { kind: 'recv'; type: string; subject: number | null; channel?: number; participants?: number[]; frame?: unknown }
    /** a message the client sent, with its `target_id` */
    | { kind: 'sent'; type: string; subject: number | null }
  );

export type SocketEventKind = SocketEvent['kind'];

/** What a subscriber gets: every event of the kinds it asked for, synchronously, in order. */
export type SocketSubscriber = (e: SocketEvent) => void;

const ALL_KINDS: readonly SocketEventKind[] = ['opening', 'open', 'refused', 'failed', 'error', 'closing', 'closed', 'frozen', 'crashed', 'abandoned', 'recv', 'sent'];

/**
 * The one stream of socket events of a run (or of a test's users). Subscribers run
 * synchronously in the order they subscribed: the ledger first, so it is up to date before any
 * other subscriber, and before the publishing socket goes on, reads it.
 */
export class SocketStream {
  private readonly subs: Array<{ fn: SocketSubscriber; kinds: ReadonlySet<SocketEventKind> }> = [];
  private readonly counts = new Map<SocketEventKind, number>();

  /** Adds a subscriber for `kinds` (default: every kind); returns its remover. */
  subscribe(fn: SocketSubscriber, kinds: readonly SocketEventKind[] = ALL_KINDS): () => void {
    const entry = { fn, kinds: new Set(kinds) };
    this.subs.push(entry);
    for (const k of entry.kinds) this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    return () => {
      const i = this.subs.indexOf(entry);
      if (i < 0) return;
      this.subs.splice(i, 1);
      for (const k of entry.kinds) this.counts.set(k, this.counts.get(k)! - 1);
    };
  }

  /** Whether anyone subscribes to `kind`: per-message events are built only then. */
  listens(kind: SocketEventKind): boolean {
    return (this.counts.get(kind) ?? 0) > 0;
  }

  publish(e: SocketEvent): void {
    for (const s of this.subs) if (s.kinds.has(e.kind)) s.fn(e);
  }
}
