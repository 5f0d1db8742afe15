import { clock } from '../../clock.js';
import type { IceServer, SessionDescription, IceCandidateInit } from '../../protocol/messages.js';
import type { ClientEnv, UserIdentity } from '../client-env.js';
import type { UserLedger } from '../ledger.js';
import { negotiationLimiter, type NegotiationLimiter } from './negotiation-limiter.js';
import { VoicePeer, type PairSummary, type PeerHost } from './voice-peer.js';
import { ScreenSource } from './screen-source.js';
import { ToneSource, toneHzFor } from './tone-source.js';
import { VoiceSignaling, type SignalMessage } from './voice-signaling.js';
import type { Refusal } from '../managed-socket.js';

export type VoiceAudioMode = 'tone' | 'talk-spurt' | 'muted';

export interface VoiceSessionOptions {
  env: ClientEnv;
  identity: UserIdentity;
  ledger: UserLedger;
  roomId: number;
  /** tone: always sending; talk-spurt: sending only while speaking; muted: joins muted */
  audio?: VoiceAudioMode;
  limiter?: NegotiationLimiter;
  /** false: signaling only, no peers (a second tab that merely sits in the room) */
  media?: boolean;
  /** getStats() period per peer; 0 turns sampling off */
  statsIntervalMs?: number;
  /** Opus packet duration in ms (a=ptime in our offers and answers); default 20 */
  ptimeMs?: number;
  /** how long join() waits for `participants` after the socket opened */
  joinTimeoutMs?: number;
}

export type JoinResult = { ok: true; participants: number } | { ok: false; refusal: Refusal };

interface RemoteState {
  username: string;
  muted: boolean;
  deafened: boolean;
  speaking: boolean;
  sharing: boolean;
  audibleSince: number | null;
}

const STATUS_TYPES = new Set(['user_muted', 'user_deafened', 'user_speaking', 'screen_share_started', 'screen_share_stopped']);

/**
 * One simulated user in one voice room: the signaling socket, one VoicePeer per remote
 * member, one tone source (and, while sharing, one screen source) for all of them, and a
 * getStats sampler. `leave()` stops and closes every one of them and is idempotent.
 */
export class VoiceSession {
  readonly roomId: number;
  readonly audio: VoiceAudioMode;
  readonly media: boolean;
  state: 'idle' | 'joining' | 'joined' | 'refused' | 'dropped' | 'left' = 'idle';
  readonly peers = new Map<number, VoicePeer>();
  /** summaries of peers already closed (leave-rejoin, members who left) */
  readonly history: PairSummary[] = [];
  readonly remote = new Map<number, RemoteState>();
  /** relayed status messages received, by type */
  readonly statusReceived: Record<string, number> = {};
  refusal: Refusal | null = null;
  muted = false;
  deafened = false;
  speaking = false;
  sharing = false;
  private readonly env: ClientEnv;
  private readonly user: UserIdentity;
  private readonly ledger: UserLedger;
  private readonly limiter: NegotiationLimiter;
  private readonly tone: ToneSource;
  private readonly screen: ScreenSource;
  private readonly host: PeerHost;
  private signaling: VoiceSignaling | null = null;
  private iceServers: IceServer[] = [];
  private statsTimer: NodeJS.Timeout | undefined;
  private participantsWaiter: ((n: number | null) => void) | null = null;
  private leaving: Promise<void> | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: VoiceSessionOptions) {
    this.env = opts.env;
    this.user = opts.identity;
    this.ledger = opts.ledger;
    this.roomId = opts.roomId;
    this.audio = opts.audio ?? 'tone';
    this.media = opts.media ?? true;
    this.limiter = opts.limiter ?? negotiationLimiter();
    this.tone = new ToneSource(this.ledger, toneHzFor(this.user.userId));
    this.screen = new ScreenSource(this.ledger);
    this.muted = this.audio === 'muted';
    const self = this;
    this.host = {
      env: this.env,
      user: this.user,
      ledger: this.ledger,
      roomId: this.roomId,
      get iceServers() {
        return self.iceServers;
      },
      limiter: this.limiter,
      ptimeMs: opts.ptimeMs ?? 20,
      tone: this.tone,
      screen: this.screen,
      send: (m) => this.signaling?.send(m) ?? false,
      audibleSince: (id) => this.remote.get(id)?.audibleSince ?? null,
      deafened: () => this.deafened,
    };
  }

  get userId(): number {
    return this.user.userId;
  }

  get toneHz(): number {
    return this.tone.hz;
  }

  /** Called on every state change worth re-checking (messages, peers, first media). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** Opens the signaling socket and waits for `participants`; refusals resolve, never throw. */
  async join(): Promise<JoinResult> {
    if (this.state !== 'idle') throw new Error(`voice session already ${this.state}`);
    this.state = 'joining';
    const sig = new VoiceSignaling(this.env, this.user, this.ledger, this.roomId);
    this.signaling = sig;
    sig.onMessage = (m) => this.onMessage(m);
    sig.onClose = (info) => {
      this.participantsWaiter?.(null);
      if (!info.refused && this.state === 'joined' && !this.leaving) {
        // the server dropped us: media goes too, the runner decides whether to rejoin
        this.state = 'dropped';
        void this.teardown();
      }
      this.changed();
    };
    const participants = new Promise<number | null>((r) => (this.participantsWaiter = r));
    const refused = await sig.open();
    if (refused) return this.refused(refused);
    const openedAt = clock.now();
    const timer = clock.setTimeout(() => this.participantsWaiter?.(null), this.opts.joinTimeoutMs ?? 10_000);
    const n = await participants;
    clock.clearTimeout(timer);
    this.participantsWaiter = null;
    if (n === null) {
      if (sig.refusal) return this.refused(sig.refusal);
      await sig.close();
      return this.refused({ reason: 'no participants message' });
    }
    this.joinedAt = clock.now();
    this.env.metrics.record('voice.join', clock.now() - openedAt);
    this.env.tracer.emit({ ev: 'voice.join', user: this.user.index, socket: sig.rec.id, room: this.roomId, participants: n, ms: Math.round(clock.now() - openedAt) });
    this.env.log.debug('[VoiceService]', `user ${this.user.username} joined voice ${this.roomId} with ${n} others`);
    if (this.muted) sig.send({ type: 'mute', is_muted: true });
    this.updateSending();
    const every = this.opts.statsIntervalMs ?? 5000;
    if (every > 0 && this.media) {
      this.statsTimer = clock.setInterval(() => void this.sampleStats(), every);
      this.ledger.acquire('timer');
    }
    return { ok: true, participants: n };
  }

  private refused(r: Refusal): JoinResult {
    this.refusal = r;
    this.state = 'refused';
    this.tone.close();
    this.screen.close();
    this.changed();
    return { ok: false, refusal: r };
  }

  private onMessage(m: SignalMessage): void {
    // leaving (or crashed): a late offer or join must not make a peer after the teardown began
    if (this.leaving) return;
    switch (m.type) {
      case 'participants': {
        const list = Array.isArray(m.participants) ? (m.participants as Array<{ user_id: number; username: string; is_muted?: boolean; is_deafened?: boolean }>) : [];
        this.iceServers = this.env.iceServers ?? (Array.isArray(m.ice_servers) ? (m.ice_servers as IceServer[]) : []);
        if (this.state === 'joining') this.state = 'joined';
        for (const p of list) {
          if (p.user_id === this.user.userId) continue;
          this.remember(p.user_id, p.username, !!p.is_muted, !!p.is_deafened);
          this.connectTo(p.user_id);
        }
        this.participantsWaiter?.(list.length);
        break;
      }
      case 'user_joined_voice': {
        const id = Number(m.user_id);
        if (id === this.user.userId) break; // another tab of ours
        const live = this.peers.get(id);
        if (live) {
          this.env.metrics.inc('voice.duplicate_join');
          break;
        }
        this.remember(id, String(m.username ?? ''), false, false);
        this.connectTo(id);
        break;
      }
      case 'user_left_voice': {
        const id = Number(m.user_id);
        if (id === this.user.userId) {
          // another tab of ours left, and everyone else just closed their peer to us
          // (they key peers by user id, as Miscord does): build the pairs again
          this.env.metrics.inc('voice.self_left_echo');
          void this.remesh();
          break;
        }
        this.remote.delete(id);
        void this.closePeer(id, false);
        break;
      }
      case 'offer':
        if (this.media) void this.peerFor(Number(m.from_id)).onRemoteOffer(m.offer as SessionDescription);
        break;
      case 'answer':
        void this.peers.get(Number(m.from_id))?.onRemoteAnswer(m.answer as SessionDescription);
        break;
      case 'ice_candidate':
        void this.peers.get(Number(m.from_id))?.onRemoteCandidate(m.candidate as IceCandidateInit);
        break;
      case 'error':
        this.env.metrics.inc('errors.voice.server');
        this.ledger.error('voice', String(m.message));
        break;
      default:
        if (STATUS_TYPES.has(m.type)) this.onStatus(m);
        else this.env.metrics.inc('voice.unknown_message');
    }
    this.changed();
  }

  private onStatus(m: SignalMessage): void {
    this.statusReceived[m.type] = (this.statusReceived[m.type] ?? 0) + 1;
    this.env.metrics.inc(`voice.status.${m.type}`);
    const id = Number(m.user_id);
    const r = this.remote.get(id);
    if (!r) return;
    if (m.type === 'user_muted') r.muted = !!m.is_muted;
    else if (m.type === 'user_deafened') r.deafened = !!m.is_deafened;
    else if (m.type === 'user_speaking') r.speaking = !!m.is_speaking;
    else if (m.type === 'screen_share_started') {
      r.sharing = true;
      const p = this.peers.get(id);
      if (p) p.screenAnnouncedAt = clock.now();
    } else if (m.type === 'screen_share_stopped') r.sharing = false;
    const audible = !r.muted && (this.audio !== 'talk-spurt' || r.speaking);
    if (!audible) r.audibleSince = null;
    else r.audibleSince ??= clock.now();
  }

  private remember(id: number, username: string, muted: boolean, deafened: boolean): void {
    // every member of a phase starts in the phase's audio mode; status messages move it on
    const m = muted || this.audio === 'muted';
    const audible = !m && this.audio === 'tone';
    this.remote.set(id, { username, muted: m, deafened, speaking: false, sharing: false, audibleSince: audible ? clock.now() : null });
  }

  /** Creates the peer for a member; the smaller user id of the pair makes the offer. */
  private connectTo(id: number): void {
    if (!this.media) return;
    const peer = this.peerFor(id);
    if (this.user.userId < id) peer.negotiate();
  }

  private peerFor(id: number): VoicePeer {
    let p = this.peers.get(id);
    if (!p) {
      p = new VoicePeer(this.host, id);
      this.peers.set(id, p);
      if (this.sharing) p.startScreen();
    }
    return p;
  }

  private async closePeer(id: number, finalStats: boolean): Promise<void> {
    const p = this.peers.get(id);
    if (!p) return;
    this.peers.delete(id);
    await p.close({ finalStats });
    this.history.push(p.summary());
    this.changed();
  }

  private async remesh(): Promise<void> {
    if (!this.media || this.state !== 'joined') return;
    const ids = [...this.peers.keys()];
    await Promise.all(ids.map((id) => this.closePeer(id, false)));
    if (this.state !== 'joined' || this.leaving) return;
    // we offer whatever the ids say: the others hold no peer to us, so nobody else will
    for (const id of ids) if (this.remote.has(id)) this.peerFor(id).negotiate();
    this.changed();
  }

  private updateSending(): void {
    const on = this.state === 'joined' && this.media && !this.muted && (this.audio !== 'talk-spurt' || this.speaking);
    this.tone.setSending(on);
  }

  mute(on: boolean): void {
    this.muted = on;
    this.signaling?.send({ type: 'mute', is_muted: on });
    this.updateSending();
  }

  deafen(on: boolean): void {
    this.deafened = on;
    this.signaling?.send({ type: 'deafen', is_deafened: on });
  }

  setSpeaking(on: boolean): void {
    this.speaking = on;
    this.signaling?.send({ type: 'speaking', is_speaking: on });
    this.updateSending();
  }

  startScreenShare(): void {
    if (this.sharing || this.state !== 'joined') return;
    this.sharing = true;
    this.signaling?.send({ type: 'screen_share_start' });
    for (const p of this.peers.values()) p.startScreen();
  }

  stopScreenShare(): void {
    if (!this.sharing) return;
    this.sharing = false;
    this.signaling?.send({ type: 'screen_share_stop' });
    for (const p of this.peers.values()) p.stopScreen();
  }

  /** A killed tab: peers and media stop, the signaling socket is destroyed with no close frame. */
  async crash(): Promise<boolean> {
    if (this.state !== 'joined' || this.leaving) return false;
    this.leaving = (async () => {
      this.signaling?.crash();
      await this.teardown(false);
      await this.signaling?.close();
      this.state = 'left';
      this.changed();
    })();
    await this.leaving;
    return true;
  }

  /** Stops answering pings and sending on the signaling socket, without closing it; resolves when the server drops it. */
  freeze(): { closed: Promise<void> } | null {
    const sig = this.signaling;
    if (!sig || this.state !== 'joined') return null;
    sig.freeze();
    return { closed: sig.closed };
  }

  async sampleStats(): Promise<void> {
    for (const p of [...this.peers.values()]) await p.sampleStats();
  }

  /** clock.now() when its participants arrived (null until joined) */
  joinedAt: number | null = null;

  /** What the mesh check needs of a joined session with media: its peers and their states. */
  meshView(): { socket: string; room: number; joinedAt: number; peers: Array<{ remoteUserId: number; state: string }> } | null {
    if (!this.media || this.state !== 'joined' || this.leaving || this.joinedAt === null || !this.signaling) return null;
    return { socket: this.signaling.rec.id, room: this.roomId, joinedAt: this.joinedAt, peers: [...this.peers.values()].map((p) => ({ remoteUserId: p.remoteUserId, state: p.rec.connectionState ?? 'new' })) };
  }

  /** The voice state the leak detector compares with the server's rooms. */
  view(): { roomId: number | null; remoteUserIds: number[] } {
    const inRoom = this.state === 'joined' && !this.leaving;
    return { roomId: inRoom ? this.roomId : null, remoteUserIds: [...this.peers.keys()].sort((a, b) => a - b) };
  }

  /** Every pair this session has held: closed ones from history, live ones now. */
  pairs(): PairSummary[] {
    return [...this.history, ...[...this.peers.values()].map((p) => p.summary())];
  }

  private async teardown(finalStats = false): Promise<void> {
    if (this.statsTimer) {
      clock.clearInterval(this.statsTimer);
      this.statsTimer = undefined;
      this.ledger.release('timer');
    }
    this.tone.setSending(false);
    await Promise.all([...this.peers.keys()].map((id) => this.closePeer(id, finalStats)));
    this.tone.close();
    this.screen.close();
  }

  /** Closes every peer, source, sink and timer, then the socket; idempotent. */
  leave(opts: { finalStats?: boolean } = {}): Promise<void> {
    if (this.leaving) return this.leaving;
    this.leaving = (async () => {
      const wasIn = this.state === 'joined';
      await this.teardown(opts.finalStats ?? true);
      await this.signaling?.close();
      if (this.state !== 'refused') this.state = 'left';
      if (wasIn) this.env.tracer.emit({ ev: 'voice.leave', user: this.user.index, room: this.roomId });
      this.changed();
    })();
    return this.leaving;
  }
}
