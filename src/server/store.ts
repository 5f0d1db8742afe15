/**
 * In-memory state of the reference server: users, servers (Miscord calls them channels),
 * their text and voice channels, and a bounded message history per text channel (bounded so
 * a soak run does not mistake chat history for a leak). Ids count per table, as SQL would.
 *
 * Every table is bounded by a StoreLimits entry (a production backend would set the same
 * quotas), so no client can grow the heap without bound; an add over a limit throws
 * StoreLimitError and changes nothing.
 */
export interface User {
  id: number;
  username: string;
  email: string;
  passwordHash: string;
  createdAt: string;
}

export interface Server {
  id: number;
  name: string;
  description: string | null;
  ownerId: number;
  createdAt: string;
  members: Set<number>;
  textChannels: number[];
  voiceChannels: number[];
}

export interface TextChannel {
  id: number;
  name: string;
  serverId: number;
  position: number;
}

export interface VoiceChannel {
  id: number;
  name: string;
  serverId: number;
  position: number;
  maxUsers: number;
}

export interface StoredMessage {
  id: number;
  content: string;
  authorId: number;
  textChannelId: number;
  timestamp: string;
}

/** Messages kept per text channel. */
export const HISTORY_LIMIT = 100;

/** Quotas of the store; see SERVE_OPTIONS for the defaults and the flags. */
export interface StoreLimits {
  /** registered users in all */
  maxUsers: number;
  /** servers in all */
  maxServers: number;
  /** servers a user belongs to, owned and joined together */
  maxServersPerUser: number;
  /** text and voice channels of one server together, `general` and `General` included */
  maxChannelsPerServer: number;
  /** members of one server, its owner included */
  maxMembersPerServer: number;
  /** stored message history in all, in estimated bytes; the oldest messages go first beyond it */
  maxHistoryBytes: number;
}

export type StoreLimitName = Exclude<keyof StoreLimits, 'maxHistoryBytes'>;

/** An add the store refused because of `limit`; `message` says which and how to raise it. */
export class StoreLimitError extends Error {
  readonly code = 'MB_ERR_STORE_LIMIT';
  constructor(
    readonly limit: StoreLimitName,
    message: string,
  ) {
    super(message);
  }
}

/** The heap a stored message is charged: its content in UTF-16 plus the record around it. */
export function messageCost(content: string): number {
  return 2 * content.length + 96;
}

const FLAG: Record<StoreLimitName, string> = {
  maxUsers: '--max-users',
  maxServers: '--max-servers',
  maxServersPerUser: '--max-servers-per-user',
  maxChannelsPerServer: '--max-channels-per-server',
  maxMembersPerServer: '--max-members-per-server',
};

export class Store {
  readonly users = new Map<number, User>();
  private readonly byName = new Map<string, User>();
  private readonly byEmail = new Map<string, User>();
  readonly servers = new Map<number, Server>();
  readonly textChannels = new Map<number, TextChannel>();
  readonly voiceChannels = new Map<number, VoiceChannel>();
  private readonly history = new Map<number, StoredMessage[]>();
  /** every stored message in arrival order (from `oldest`), for the global history budget */
  private arrival: StoredMessage[] = [];
  private oldest = 0;
  private stored = 0;
  private historyBytes = 0;
  /** servers each user belongs to */
  private readonly memberships = new Map<number, number>();
  private seq = { user: 0, server: 0, text: 0, voice: 0, message: 0 };

  constructor(readonly limits: StoreLimits) {}

  private refuse(limit: StoreLimitName, what: string): never {
    throw new StoreLimitError(limit, `${what} (limit ${this.limits[limit]}, ${FLAG[limit]})`);
  }

  userTaken(username: string, email: string): boolean {
    return this.byName.has(username) || this.byEmail.has(email.toLowerCase());
  }

  addUser(username: string, email: string, passwordHash: string): User {
    if (this.users.size >= this.limits.maxUsers) this.refuse('maxUsers', 'User limit reached: this server takes no more registrations');
    const u: User = { id: ++this.seq.user, username, email, passwordHash, createdAt: new Date().toISOString() };
    this.users.set(u.id, u);
    this.byName.set(username, u);
    this.byEmail.set(email.toLowerCase(), u);
    return u;
  }

  userByName(username: string): User | undefined {
    return this.byName.get(username);
  }

  /** Refuses a new membership of `userId` in `s` (or in a new server) over a limit. */
  checkJoin(userId: number, s: Server | null): void {
    if ((this.memberships.get(userId) ?? 0) >= this.limits.maxServersPerUser) {
      this.refuse('maxServersPerUser', `User ${userId} already belongs to ${this.limits.maxServersPerUser} servers`);
    }
    if (s && s.members.size >= this.limits.maxMembersPerServer) this.refuse('maxMembersPerServer', `Channel ${s.id} is full`);
  }

  addMember(s: Server, userId: number): void {
    if (s.members.has(userId)) return;
    this.checkJoin(userId, s);
    s.members.add(userId);
    this.memberships.set(userId, (this.memberships.get(userId) ?? 0) + 1);
  }

  addServer(name: string, description: string | null, ownerId: number): Server {
    if (this.servers.size >= this.limits.maxServers) this.refuse('maxServers', 'Channel limit reached: this server hosts no more channels');
    this.checkJoin(ownerId, null);
    const s: Server = {
      id: ++this.seq.server,
      name,
      description,
      ownerId,
      createdAt: new Date().toISOString(),
      members: new Set(),
      textChannels: [],
      voiceChannels: [],
    };
    this.servers.set(s.id, s);
    this.addMember(s, ownerId);
    this.addTextChannel(s, 'general', 0);
    this.addVoiceChannel(s, 'General', 0, 10);
    return s;
  }

  private checkChannels(s: Server): void {
    if (s.textChannels.length + s.voiceChannels.length >= this.limits.maxChannelsPerServer) {
      this.refuse('maxChannelsPerServer', `Channel ${s.id} already has ${this.limits.maxChannelsPerServer} text and voice channels`);
    }
  }

  addTextChannel(s: Server, name: string, position?: number): TextChannel {
    this.checkChannels(s);
    const c: TextChannel = { id: ++this.seq.text, name, serverId: s.id, position: position ?? s.textChannels.length };
    this.textChannels.set(c.id, c);
    s.textChannels.push(c.id);
    return c;
  }

  addVoiceChannel(s: Server, name: string, position: number | undefined, maxUsers: number): VoiceChannel {
    this.checkChannels(s);
    const c: VoiceChannel = { id: ++this.seq.voice, name, serverId: s.id, position: position ?? s.voiceChannels.length, maxUsers };
    this.voiceChannels.set(c.id, c);
    s.voiceChannels.push(c.id);
    return c;
  }

  serversOf(userId: number): Server[] {
    return [...this.servers.values()].filter((s) => s.members.has(userId));
  }

  addMessage(authorId: number, textChannelId: number, content: string): StoredMessage {
    const m: StoredMessage = { id: ++this.seq.message, content, authorId, textChannelId, timestamp: new Date().toISOString() };
    let h = this.history.get(textChannelId);
    if (!h) this.history.set(textChannelId, (h = []));
    h.push(m);
    this.arrival.push(m);
    this.stored++;
    this.historyBytes += messageCost(content);
    if (h.length > HISTORY_LIMIT) this.forget(h.shift()!);
    while (this.historyBytes > this.limits.maxHistoryBytes) if (!this.dropOldest()) break;
    if (this.arrival.length > 2 * this.stored + 1024) this.rebuildArrival();
    return m;
  }

  /** Messages stored and their estimated bytes (at most maxHistoryBytes once addMessage returns). */
  historySize(): { messages: number; bytes: number } {
    return { messages: this.stored, bytes: this.historyBytes };
  }

  private forget(m: StoredMessage): void {
    this.stored--;
    this.historyBytes -= messageCost(m.content);
  }

  /**
   * Drops the oldest message still stored anywhere. Histories are FIFO, so an entry of the
   * arrival queue is still stored exactly when it heads its channel's history; the others are
   * husks of messages the per-channel cap already dropped.
   */
  private dropOldest(): boolean {
    while (this.oldest < this.arrival.length) {
      const m = this.arrival[this.oldest++]!;
      const h = this.history.get(m.textChannelId);
      if (h?.[0] !== m) continue;
      h.shift();
      if (h.length === 0) this.history.delete(m.textChannelId);
      this.forget(m);
      return true;
    }
    return false;
  }

  /** The arrival queue without husks or dropped entries (amortised: once they outnumber stored messages). */
  private rebuildArrival(): void {
    this.arrival = [...this.history.values()].flat().sort((a, b) => a.id - b.id);
    this.oldest = 0;
  }

  messageCount(): number {
    return this.seq.message;
  }
}
