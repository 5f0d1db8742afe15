import { clock } from '../clock.js';
import type { SocketKind } from '../protocol/messages.js';

/**
 * The client-side truth of one simulated user: every socket it opened and closed, every
 * peer connection, track, source, sink and timer it created and released. The leak
 * detector diffs these ledgers against the server's counts; nothing else is trusted
 * (wrtc objects keep the process alive while Node's handle list shows nothing).
 */
export type SocketState = 'connecting' | 'open' | 'closing' | 'closed' | 'refused';

export interface SocketRecord {
  /** Client-side id, unique in the run: `u<index>-<kind>-<n>`. */
  id: string;
  kind: SocketKind;
  /** URL id: server id for chat, voice channel id for voice, null for notifications. */
  channelId: number | null;
  /** Text channel the chat socket is subscribed to (after an in-band switch). */
  textChannelId?: number | null;
  state: SocketState;
  /** clock.now() values (monotonic ms). */
  openingAt: number;
  openedAt?: number;
  closedAt?: number;
  closeCode?: number;
  closeReason?: string;
  closedBy?: 'client' | 'server';
  /** HTTP status of a refused upgrade. */
  refusedStatus?: number;
  /** The client stopped answering pings on purpose (scenario action `freeze`). */
  frozen?: boolean;
  /** clock.now() when the client froze it (the leak detector times the server's reap from it). */
  frozenAt?: number;
  /** Abandoned without a close (the `leaky` switch strategy): the client forgot it but never closed it. */
  abandoned?: boolean;
}

export type MediaResource = 'track' | 'source' | 'sink' | 'timer' | 'transceiver';

export interface PeerRecord {
  remoteUserId: number;
  roomId: number;
  createdAt: number;
  closedAt?: number;
  iceState?: string;
  connectionState?: string;
}

export interface LedgerSnapshot {
  index: number;
  userId: number | null;
  username: string;
  connectionsCreated: number;
  connectionsDestroyed: number;
  reconnectAttempts: number;
  lastError: string | null;
  sockets: SocketRecord[];
  peers: PeerRecord[];
  peersCreated: number;
  peersClosed: number;
  resources: Record<MediaResource, { created: number; released: number }>;
}

export class UserLedger {
  userId: number | null = null;
  connectionsCreated = 0;
  connectionsDestroyed = 0;
  reconnectAttempts = 0;
  lastError: string | null = null;
  readonly sockets = new Map<string, SocketRecord>();
  readonly peers: PeerRecord[] = [];
  peersCreated = 0;
  peersClosed = 0;
  readonly resources: LedgerSnapshot['resources'] = {
    track: { created: 0, released: 0 },
    source: { created: 0, released: 0 },
    sink: { created: 0, released: 0 },
    timer: { created: 0, released: 0 },
    transceiver: { created: 0, released: 0 },
  };
  private seq = 0;

  constructor(
    readonly index: number,
    readonly username: string,
  ) {}

  socketOpening(kind: SocketKind, channelId: number | null): SocketRecord {
    const rec: SocketRecord = { id: `u${this.index}-${kind}-${++this.seq}`, kind, channelId, state: 'connecting', openingAt: clock.now() };
    this.sockets.set(rec.id, rec);
    return rec;
  }

  socketOpened(rec: SocketRecord): void {
    rec.state = 'open';
    rec.openedAt = clock.now();
    this.connectionsCreated++;
  }

  socketRefused(rec: SocketRecord, info: { status?: number; code?: number; reason?: string }): void {
    rec.state = 'refused';
    rec.closedAt = clock.now();
    rec.refusedStatus = info.status;
    rec.closeCode = info.code;
    rec.closeReason = info.reason;
    this.lastError = `refused ${rec.kind}: ${info.status ?? info.code} ${info.reason ?? ''}`.trim();
  }

  /** The client started closing (it sent a close frame). */
  socketClosing(rec: SocketRecord): void {
    if (rec.state === 'open' || rec.state === 'connecting') {
      rec.state = 'closing';
      rec.closedBy ??= 'client';
      rec.closedAt ??= clock.now();
    }
  }

  socketClosed(rec: SocketRecord, info: { code: number; reason?: string; by: 'client' | 'server' }): void {
    if (rec.state === 'closed' || rec.state === 'refused') return;
    const wasOpen = rec.openedAt !== undefined;
    rec.state = 'closed';
    rec.closedAt ??= clock.now();
    rec.closedBy ??= info.by;
    rec.closeCode = info.code;
    rec.closeReason = info.reason;
    if (wasOpen) this.connectionsDestroyed++;
  }

  reconnectAttempt(): void {
    this.reconnectAttempts++;
  }

  error(kind: string, message: string): void {
    this.lastError = `${kind}: ${message}`;
  }

  peerCreated(remoteUserId: number, roomId: number): PeerRecord {
    const p: PeerRecord = { remoteUserId, roomId, createdAt: clock.now() };
    this.peers.push(p);
    this.peersCreated++;
    return p;
  }

  peerClosed(p: PeerRecord): void {
    if (p.closedAt !== undefined) return;
    p.closedAt = clock.now();
    this.peersClosed++;
  }

  acquire(r: MediaResource, n = 1): void {
    this.resources[r].created += n;
  }

  release(r: MediaResource, n = 1): void {
    this.resources[r].released += n;
  }

  /** Sockets the client believes are registered on the server now (abandoned ones included: they are still open). */
  openSockets(): SocketRecord[] {
    return [...this.sockets.values()].filter((s) => s.state === 'open');
  }

  openPeers(): PeerRecord[] {
    return this.peers.filter((p) => p.closedAt === undefined);
  }

  snapshot(): LedgerSnapshot {
    return {
      index: this.index,
      userId: this.userId,
      username: this.username,
      connectionsCreated: this.connectionsCreated,
      connectionsDestroyed: this.connectionsDestroyed,
      reconnectAttempts: this.reconnectAttempts,
      lastError: this.lastError,
      sockets: [...this.sockets.values()].map((s) => ({ ...s })),
      peers: this.peers.map((p) => ({ ...p })),
      peersCreated: this.peersCreated,
      peersClosed: this.peersClosed,
      resources: structuredClone(this.resources),
    };
  }
}
