import { clock } from '../clock.js';
import { UserLedger } from './ledger.js';
import type { VoiceUserSlot } from './voice/voice-user-slot.js';
import { HttpClient, HttpStatusError, userIdOfToken } from './http-client.js';
import { ChatSession, type ChatOwner } from './chat-session.js';
import { NotificationsSession } from './notifications-session.js';
import type { ClientEnv, UserIdentity } from './client-env.js';
import type { Capabilities } from './capabilities.js';
import type { DeliveryTracker } from './delivery-tracker.js';
import type { SocketKind } from '../protocol/messages.js';

export interface SimulatedUserOptions {
  index: number;
  username: string;
  password: string;
  /** false with --users-file: the account exists, never register */
  register: boolean;
  env: ClientEnv;
  caps: Capabilities;
  tracker: DeliveryTracker;
  /** the user's seeded stream */
  random: () => number;
  /** the ledger of this account's earlier logins in the run (a soak cycle's returning user): it goes on in it */
  ledger?: UserLedger;
}

/**
 * One simulated Miscord user: logs in over HTTP, holds notifications and chat sessions
 * (several at once for a multi-tab user), and leaves by closing everything it opened.
 */
export class SimulatedUser implements ChatOwner {
  readonly index: number;
  readonly username: string;
  readonly ledger: UserLedger;
  readonly env: ClientEnv;
  readonly caps: Capabilities;
  readonly tracker: DeliveryTracker;
  identity: UserIdentity | null = null;
  /** the voice client's per-user state */
  voice: VoiceUserSlot | null = null;
  readonly notifications: NotificationsSession[] = [];
  readonly chats: ChatSession[] = [];
  private leaving: Promise<void> | null = null;
  private readonly http: HttpClient;

  constructor(private readonly opts: SimulatedUserOptions) {
    this.index = opts.index;
    this.username = opts.username;
    this.env = opts.env;
    this.caps = opts.caps;
    this.tracker = opts.tracker;
    this.ledger = opts.ledger ?? new UserLedger(opts.index, opts.username);
    this.http = new HttpClient(opts.env);
  }

  random(): number {
    return this.opts.random();
  }

  get password(): string {
    return this.opts.password;
  }

  get left(): boolean {
    return this.leaving !== null;
  }

  /** Registers (unless the account is given) and logs in; latencies count from `intendedAt`. */
  async login(intendedAt = clock.now()): Promise<UserIdentity> {
    const { username, password } = this.opts;
    let registeredId: number | null = null;
    if (this.opts.register) {
      try {
        registeredId = (await this.http.register(username, password, { user: this.index, startedAt: intendedAt })).id;
      } catch (err) {
        // a rerun against the same server: the account is there already, log in to it
        if (!(err instanceof HttpStatusError && err.status === 400)) throw this.failed('register', err);
      }
    }
    let token: string;
    try {
      token = (await this.http.login(username, password, { user: this.index })).access_token;
    } catch (err) {
      throw this.failed('login', err);
    }
    const userId = userIdOfToken(token) ?? registeredId ?? (await this.http.me(token, this.index)).id;
    this.ledger.userId = userId;
    this.ledger.logins++;
    this.identity = { index: this.index, userId, username, token };
    return this.identity;
  }

  private failed(step: string, err: unknown): unknown {
    this.ledger.error(step, (err as Error).message);
    return err;
  }

  async openNotifications(intendedAt = clock.now()): Promise<NotificationsSession | null> {
    const s = new NotificationsSession(this);
    this.notifications.push(s);
    return (await s.open(intendedAt)) ? s : null;
  }

  /** Opens a chat session on a server; the session is kept (and closed at leave) even if refused. */
  async openChat(serverId: number, textChannelId: number, intendedAt = clock.now()): Promise<ChatSession | null> {
    const s = new ChatSession(this, serverId, textChannelId);
    this.chats.push(s);
    return (await s.open(intendedAt)) ? s : null;
  }

  /** The first chat session still usable (the main tab). */
  get chat(): ChatSession | undefined {
    return this.chats[0];
  }

  /** Closes one session (a tab) and forgets it. */
  async closeSession(s: ChatSession | NotificationsSession): Promise<void> {
    const list: Array<ChatSession | NotificationsSession> = s instanceof ChatSession ? this.chats : this.notifications;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    await s.close();
  }

  /** Crashes the user's sockets of these kinds (a killed browser); returns the chat and notifications ones that crashed. */
  crash(kinds: readonly SocketKind[]): Array<{ closed: Promise<void> }> {
    const out: Array<{ closed: Promise<void> } | null> = [];
    if (kinds.includes('chat')) for (const c of this.chats) out.push(c.crash());
    if (kinds.includes('notifications')) for (const s of this.notifications) out.push(s.crash());
    return out.filter((c) => c !== null);
  }

  /** Leaves: voice first, then every session; idempotent and awaited. */
  leave(): Promise<void> {
    this.leaving ??= (async () => {
      const errors: unknown[] = [];
      const run = async (fn: () => Promise<void>) => {
        try {
          await fn();
        } catch (err) {
          errors.push(err);
        }
      };
      if (this.voice?.close) await run(() => this.voice!.close!());
      await Promise.all([...this.chats, ...this.notifications].map((s) => run(() => s.close())));
      for (const e of errors) this.ledger.error('leave', (e as Error)?.message ?? String(e));
    })();
    return this.leaving;
  }
}
