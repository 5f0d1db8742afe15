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
  /** The client destroyed its TCP connection with no close frame (scenario `crash`): the server learns of it only from the connection or its heartbeat. */
  crashed?: boolean;
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

/**
 * How many closed or refused socket records (and closed peer records) a ledger keeps as
 * evidence; older ones are folded into `retired` counts. A soak's user logs in and out again
 * and again into the same ledger, and its memory must not grow with the cycles.
 */
export const KEEP_ENDED_RECORDS = 16;

export interface RetiredCounts {
  byKind: Partial<Record<SocketKind, { opened: number; closed: number }>>;
  refusals: number;
  sockets: number;
  peers: number;
}

export class UserLedger {
  userId: number | null = null;
  /** logins of this account in the run (a soak cycle logs the same user in again) */
  logins = 0;
  /** ended records folded into counts (see KEEP_ENDED_RECORDS) */
  readonly retired: RetiredCounts = { byKind: {}, refusals: 0, sockets: 0, peers: 0 };
  connectionsCreated = 0;
  connectionsDestroyed = 0;
  reconnectAttempts = 0;
  lastError: string | null = null;
  readonly sockets = new Map<string, SocketRecord>();
  peers: PeerRecord[] = [];
  peersCreated = 0;
  peersClosed = 0;
  readonly resources: Record<MediaResource, { created: number; released: number }> = {
    track: { created: 0, released: 0 },
    source: { created: 0, released: 0 },
    sink: { created: 0, released: 0 },
    timer: { created: 0, released: 0 },
    transceiver: { created: 0, released: 0 },
  };
  private seq = 0;
  private endedSockets = 0;
  private endedPeers = 0;

  constructor(
    readonly index: number,
    readonly username: string,
  ) {}

  /** A new record (its id taken, `openingAt` now), filed as opening. */
  socketOpening(kind: SocketKind, channelId: number | null): SocketRecord {
    const rec = this.newSocket(kind, channelId);
    this.socketFiled(rec);
    return rec;
  }

  /** A new record, not filed yet: its socket publishes `opening` and the ledger's subscriber files it. */
  newSocket(kind: SocketKind, channelId: number | null): SocketRecord {
    return { id: `u${this.index}-${kind}-${++this.seq}`, kind, channelId, state: 'connecting', openingAt: clock.now() };
  }

  /** Files a record from newSocket() among this user's sockets. */
  socketFiled(rec: SocketRecord): void {
    this.sockets.set(rec.id, rec);
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
    this.socketEnded();
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
    this.socketEnded();
  }

  /** Folds the oldest ended socket records into counts once more than KEEP_ENDED_RECORDS are kept. */
  private socketEnded(): void {
    if (++this.endedSockets <= KEEP_ENDED_RECORDS) return;
    for (const [id, s] of this.sockets) {
      if (s.state !== 'closed' && s.state !== 'refused') continue;
      const k = (this.retired.byKind[s.kind] ??= { opened: 0, closed: 0 });
      if (s.openedAt !== undefined) k.opened++;
      if (s.openedAt !== undefined && s.state === 'closed') k.closed++;
      if (s.state === 'refused') this.retired.refusals++;
      this.retired.sockets++;
      this.sockets.delete(id);
      if (--this.endedSockets <= KEEP_ENDED_RECORDS) return;
    }
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
    if (++this.endedPeers > 2 * KEEP_ENDED_RECORDS) {
      // keep the open ones and the latest closed ones (peersCreated/peersClosed hold the totals)
      let drop = this.endedPeers - KEEP_ENDED_RECORDS;
      this.peers = this.peers.filter((q) => q.closedAt === undefined || drop-- <= 0);
      this.retired.peers += this.endedPeers - KEEP_ENDED_RECORDS;
      this.endedPeers = KEEP_ENDED_RECORDS;
    }
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
}
