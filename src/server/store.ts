/**
 * In-memory state of the reference server: users, servers (Miscord calls them channels),
 * their text and voice channels, and a bounded message history per text channel (bounded so
 * a soak run does not mistake chat history for a leak). Ids count per table, as SQL would.
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

export class Store {
  readonly users = new Map<number, User>();
  private readonly byName = new Map<string, User>();
  private readonly byEmail = new Map<string, User>();
  readonly servers = new Map<number, Server>();
  readonly textChannels = new Map<number, TextChannel>();
  readonly voiceChannels = new Map<number, VoiceChannel>();
  private readonly history = new Map<number, StoredMessage[]>();
  private seq = { user: 0, server: 0, text: 0, voice: 0, message: 0 };

  userTaken(username: string, email: string): boolean {
    return this.byName.has(username) || this.byEmail.has(email.toLowerCase());
  }

  addUser(username: string, email: string, passwordHash: string): User {
    const u: User = { id: ++this.seq.user, username, email, passwordHash, createdAt: new Date().toISOString() };
    this.users.set(u.id, u);
    this.byName.set(username, u);
    this.byEmail.set(email.toLowerCase(), u);
    return u;
  }

  userByName(username: string): User | undefined {
    return this.byName.get(username);
  }

  addServer(name: string, description: string | null, ownerId: number): Server {
    const s: Server = {
      id: ++this.seq.server,
      name,
      description,
      ownerId,
      createdAt: new Date().toISOString(),
      members: new Set([ownerId]),
      textChannels: [],
      voiceChannels: [],
    };
    this.servers.set(s.id, s);
    this.addTextChannel(s, 'general', 0);
    this.addVoiceChannel(s, 'General', 0, 10);
    return s;
  }

  addTextChannel(s: Server, name: string, position?: number): TextChannel {
    const c: TextChannel = { id: ++this.seq.text, name, serverId: s.id, position: position ?? s.textChannels.length };
    this.textChannels.set(c.id, c);
    s.textChannels.push(c.id);
    return c;
  }

  addVoiceChannel(s: Server, name: string, position: number | undefined, maxUsers: number): VoiceChannel {
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
    if (h.length > HISTORY_LIMIT) h.splice(0, h.length - HISTORY_LIMIT);
    return m;
  }

  messageCount(): number {
    return this.seq.message;
  }
}
