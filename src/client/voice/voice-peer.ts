import { clock } from '../../clock.js';
import type { IceServer, VoiceClientMessage } from '../../protocol/messages.js';
import type { ClientEnv, UserIdentity } from '../client-env.js';
import type { PeerRecord, UserLedger } from '../ledger.js';
import { closeQueue } from './close-queue.js';
import { isLoopbackCandidate } from './loopback-filter.js';
import type { NegotiationLimiter } from './negotiation-limiter.js';
import { MediaSinks } from './media-sinks.js';
import { samplePeerStats, type PeerStats } from './peer-stats.js';
import type { ToneSource } from './tone-source.js';
import type { ScreenSource } from './screen-source.js';
import { withPtime } from './sdp-rewrite.js';
import { loadWrtc, type CandidateInit, type SdpInit, type WrtcPeerConnection, type WrtcSender, type WrtcTrack } from './wrtc.js';

/** What a session lends each of its peers. */
export interface PeerHost {
  env: ClientEnv;
  user: UserIdentity;
  ledger: UserLedger;
  roomId: number;
  iceServers: IceServer[];
  limiter: NegotiationLimiter;
  /** Opus packet duration written into our descriptions */
  ptimeMs: number;
  tone: ToneSource;
  screen: ScreenSource;
  send(m: VoiceClientMessage): boolean;
  /** since when the remote user has been sending audio we should hear (null: not now) */
  audibleSince(remoteUserId: number): number | null;
  deafened(): boolean;
}

/** Per-pair result, kept after the peer closes so the room summary covers leave-rejoin too. */
export interface PairSummary {
  roomId: number;
  localUserId: number;
  remoteUserId: number;
  audioFramesExpected: number;
  audioFramesReceived: number;
  audioFramesWithTone: number;
  toneDetected: boolean;
  videoFramesReceived: number;
  stats: PeerStats | null;
}

type OfferOutcome = 'answered' | 'rolled-back' | 'timeout' | 'closed';

const ANSWER_TIMEOUT_MS = 10_000;
const CONNECT_WAIT_MS = 5_000;

/**
 * One RTCPeerConnection to one remote user, negotiated "perfect negotiation" style: the
 * larger user id is polite (rolls its own offer back when offers cross), the smaller id is
 * impolite (ignores the crossing offer). Every step that touches the signaling state runs on
 * one promise chain, so offers, answers and rollbacks never interleave. What arrives (sinks,
 * frame and tone counting) is its MediaSinks; SDP rewriting is sdp-rewrite.ts.
 */
export class VoicePeer {
  readonly id: string;
  readonly polite: boolean;
  readonly rec: PeerRecord;
  readonly createdAt = clock.now();
  connectedAt: number | null = null;
  stats: PeerStats | null = null;
  closed = false;
  /** the remote's tracks: sinks and what they counted */
  readonly media: MediaSinks;

  private readonly pc: WrtcPeerConnection;
  private ops: Promise<void> = Promise.resolve();
  private pendingCandidates: CandidateInit[] = [];
  private audioTrack: WrtcTrack | null = null;
  private screenTrack: WrtcTrack | null = null;
  private screenSender: WrtcSender | null = null;
  private answerWaiter: { resolve: (o: OfferOutcome) => void; sentAt: number } | null = null;
  private connectWaiters: Array<() => void> = [];
  private needsNegotiation = false;
  private negotiating = false;
  private ignoreOffer = false;
  private failedCounted = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly host: PeerHost,
    readonly remoteUserId: number,
  ) {
    const { env, user, ledger } = host;
    // one numbering: uN is a bench user index, #N a server user id (the remote is known by its server id here)
    this.id = `u${user.index}->#${remoteUserId}`;
    this.polite = user.userId > remoteUserId;
    this.rec = ledger.peerCreated(remoteUserId, host.roomId);
    this.media = new MediaSinks({
      remoteUserId,
      createdAt: this.createdAt,
      ledger,
      metrics: env.metrics,
      isClosed: () => this.closed,
      connectedAt: () => this.connectedAt,
      deafened: () => host.deafened(),
      audibleSince: () => host.audibleSince(remoteUserId),
      trace: (ev, fields) => this.trace(ev, fields),
    });
    this.pc = new (loadWrtc().RTCPeerConnection)({ iceServers: host.iceServers });
    const pc = this.pc;
    pc.onicecandidate = (e) => this.onLocalCandidate(e.candidate);
    pc.oniceconnectionstatechange = () => this.onIceState();
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (this.closed || this.rec.connectionState === s) return;
      this.rec.connectionState = s;
      env.tracer.emit({ ev: 'webrtc.conn_state', user: user.index, peer: this.id, state: s });
      if (s === 'failed' && !this.failedCounted) {
        this.failedCounted = true;
        env.metrics.inc('webrtc.failed');
      }
    };
    pc.ontrack = (e) => this.media.attach(e.track, e.transceiver);
    this.audioTrack = host.tone.createTrack();
    pc.addTrack(this.audioTrack);
    env.tracer.emit({ ev: 'webrtc.peer', user: user.index, peer: this.id, room: host.roomId, polite: this.polite });
  }

  get iceState(): string {
    return this.pc.iceConnectionState;
  }

  get signalingState(): string {
    return this.pc.signalingState;
  }

  // what the sinks counted, read where the peer is (sessions, summaries, tests)
  get audio(): MediaSinks['audio'] {
    return this.media.audio;
  }

  get firstToneAt(): number | null {
    return this.media.firstToneAt;
  }

  get firstVideoAt(): number | null {
    return this.media.firstVideoAt;
  }

  get videoFrames(): number {
    return this.media.videoFrames;
  }

  set screenAnnouncedAt(t: number | null) {
    this.media.screenAnnouncedAt = t;
  }

  get screenAnnouncedAt(): number | null {
    return this.media.screenAnnouncedAt;
  }

  openSinks(kind?: 'audio' | 'video'): number {
    return this.media.open(kind);
  }

  /** Runs one signaling step after the previous ones; a failure is recorded, not thrown on. */
  private run(what: string, fn: () => Promise<void>): Promise<void> {
    const p = this.ops.then(async () => {
      if (this.closed) return;
      try {
        await fn();
      } catch (err) {
        if (this.closed) return;
        this.host.env.metrics.inc(`errors.webrtc.${what}`);
        this.host.ledger.error(`webrtc.${what}`, (err as Error).message);
        this.host.env.tracer.emit({ ev: 'error', user: this.host.user.index, peer: this.id, what, message: (err as Error).message });
      }
    });
    this.ops = p;
    return p;
  }

  /** Asks for an offer to the remote; coalesces while one is in flight. */
  negotiate(): void {
    this.needsNegotiation = true;
    if (this.negotiating || this.closed) return;
    this.negotiating = true;
    const first = this.connectedAt === null;
    void this.host
      .limiter(async () => {
        while (this.needsNegotiation && !this.closed) {
          this.needsNegotiation = false;
          const outcome = await this.offerOnce();
          if (outcome === 'rolled-back') this.needsNegotiation = true;
        }
        // holding the slot until ICE connects is what keeps gathering sane under load
        if (first && !this.closed) await this.waitConnected(CONNECT_WAIT_MS);
      })
      .finally(() => {
        this.negotiating = false;
        if (this.needsNegotiation && !this.closed) this.negotiate();
      });
  }

  private offerOnce(): Promise<OfferOutcome> {
    return new Promise<OfferOutcome>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let sent = false;
      const done = (o: OfferOutcome) => {
        clock.clearTimeout(timer);
        if (this.answerWaiter?.resolve === done) this.answerWaiter = null;
        resolve(o);
      };
      void this.run('offer', async () => {
        if (this.pc.signalingState !== 'stable') return done('rolled-back');
        const offer = withPtime(await this.pc.createOffer(), this.host.ptimeMs);
        if (this.closed) return done('closed');
        await this.pc.setLocalDescription(offer);
        this.answerWaiter = { resolve: done, sentAt: clock.now() };
        sent = true;
        timer = clock.setTimeout(() => {
          this.host.env.metrics.inc('webrtc.answer_timeout');
          // give the offer back so the next negotiation starts from stable
          void this.run('rollback', async () => {
            if (this.pc.signalingState === 'have-local-offer') await this.pc.setLocalDescription({ type: 'rollback' });
          });
          done('timeout');
        }, ANSWER_TIMEOUT_MS);
        this.host.send({ type: 'offer', target_id: this.remoteUserId, offer: { type: 'offer', sdp: offer.sdp ?? '' } });
        this.host.env.tracer.emit({ ev: 'webrtc.offer', user: this.host.user.index, peer: this.id, dir: 'sent' });
      }).then(() => {
        // the step failed before sending (error recorded by run): do not wait for an answer
        if (!sent) done(this.closed ? 'closed' : 'timeout');
      });
    });
  }

  onRemoteOffer(desc: SdpInit): Promise<void> {
    return this.run('answer', async () => {
      const { env, user } = this.host;
      env.tracer.emit({ ev: 'webrtc.offer', user: user.index, peer: this.id, dir: 'recv' });
      const collision = this.pc.signalingState !== 'stable';
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) {
        env.metrics.inc('webrtc.glare_ignored');
        return;
      }
      if (collision) {
        env.metrics.inc('webrtc.glare_rollback');
        await this.pc.setLocalDescription({ type: 'rollback' });
        this.answerWaiter?.resolve('rolled-back');
      }
      await this.pc.setRemoteDescription({ type: 'offer', sdp: desc.sdp });
      await this.flushCandidates();
      const answer = withPtime(await this.pc.createAnswer(), this.host.ptimeMs);
      if (this.closed) return;
      await this.pc.setLocalDescription(answer);
      this.host.send({ type: 'answer', target_id: this.remoteUserId, answer: { type: 'answer', sdp: answer.sdp ?? '' } });
      env.tracer.emit({ ev: 'webrtc.answer', user: user.index, peer: this.id, dir: 'sent' });
      this.media.checkVideo();
    });
  }

  onRemoteAnswer(desc: SdpInit): Promise<void> {
    return this.run('answer_apply', async () => {
      const { env, user } = this.host;
      env.tracer.emit({ ev: 'webrtc.answer', user: user.index, peer: this.id, dir: 'recv' });
      if (this.pc.signalingState !== 'have-local-offer') {
        env.metrics.inc('webrtc.stale_answer');
        return;
      }
      await this.pc.setRemoteDescription({ type: 'answer', sdp: desc.sdp });
      const w = this.answerWaiter;
      if (w) env.metrics.record('webrtc.offer_answer', clock.now() - w.sentAt);
      await this.flushCandidates();
      this.media.checkVideo();
      w?.resolve('answered');
    });
  }

  async onRemoteCandidate(c: CandidateInit): Promise<void> {
    if (this.closed || !c?.candidate) return;
    if (this.host.env.loopbackOnly && !isLoopbackCandidate(c.candidate)) {
      this.host.env.metrics.inc('webrtc.candidates_dropped');
      return;
    }
    this.trace('webrtc.ice', { dir: 'recv', candidate: c.candidate });
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(c);
      return;
    }
    await this.addCandidate(c);
  }

  private async addCandidate(c: CandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(c);
    } catch (err) {
      // candidates of an offer we ignored in glare are expected to fail
      if (!this.ignoreOffer && !this.closed) this.host.env.metrics.inc('errors.webrtc.candidate');
    }
  }

  private async flushCandidates(): Promise<void> {
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) await this.addCandidate(c);
  }

  private onLocalCandidate(c: (CandidateInit & { address?: string }) | null): void {
    if (this.closed || !c || !c.candidate) return;
    if (this.host.env.loopbackOnly && !isLoopbackCandidate(c.candidate)) return;
    const candidate = { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
    this.host.send({ type: 'ice_candidate', target_id: this.remoteUserId, candidate });
    this.trace('webrtc.ice', { dir: 'sent', candidate: c.candidate });
  }

  private onIceState(): void {
    if (this.closed) return;
    const s = this.pc.iceConnectionState;
    if (this.rec.iceState === s) return; // wrtc repeats state events
    this.rec.iceState = s;
    this.trace('webrtc.ice_state', { state: s });
    if ((s === 'connected' || s === 'completed') && this.connectedAt === null) {
      this.connectedAt = clock.now();
      this.host.env.metrics.record('webrtc.connected', this.connectedAt - this.createdAt);
      for (const w of this.connectWaiters.splice(0)) w();
    }
  }

  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connectedAt !== null) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = clock.setTimeout(() => {
        this.connectWaiters = this.connectWaiters.filter((w) => w !== ok);
        resolve(false);
      }, timeoutMs);
      const ok = () => {
        clock.clearTimeout(t);
        resolve(this.connectedAt !== null);
      };
      this.connectWaiters.push(ok);
    });
  }

  private trace(ev: string, fields: Record<string, unknown>): void {
    this.host.env.tracer.emit({ ev, user: this.host.user.index, peer: this.id, ...fields });
  }

  // ------------------------------------------------------------------ sending media

  get sharingScreen(): boolean {
    return this.screenSender !== null;
  }

  startScreen(): void {
    if (this.closed || this.screenSender) return;
    this.screenTrack = this.host.screen.createTrack();
    this.screenSender = this.pc.addTrack(this.screenTrack);
    this.negotiate();
  }

  stopScreen(): void {
    if (this.closed || !this.screenSender) return;
    this.pc.removeTrack(this.screenSender);
    this.screenSender = null;
    if (this.screenTrack) this.host.screen.releaseTrack(this.screenTrack);
    this.screenTrack = null;
    this.negotiate();
  }

  async sampleStats(): Promise<PeerStats | null> {
    if (this.closed) return this.stats;
    try {
      const s = await samplePeerStats(this.pc, clock.now());
      if (this.closed) return this.stats;
      this.stats = s;
      this.trace('webrtc.stats', { lost: s.audioPacketsLost, jitter: s.jitter, rtt: s.rtt, sent: s.bytesSent, recv: s.bytesReceived, concealed: s.concealedSamples, samples: s.totalSamplesReceived });
    } catch {
      // a peer closing under us; the last sample stands
    }
    return this.stats;
  }

  summary(): PairSummary {
    return {
      roomId: this.host.roomId,
      localUserId: this.host.user.userId,
      remoteUserId: this.remoteUserId,
      audioFramesExpected: this.audio.expected,
      audioFramesReceived: this.audio.received,
      audioFramesWithTone: this.audio.withTone,
      toneDetected: this.firstToneAt !== null,
      videoFramesReceived: this.videoFrames,
      stats: this.stats,
    };
  }

  /** Stops sinks and tracks and closes the connection (spread over ticks); idempotent. */
  close(opts: { finalStats?: boolean } = {}): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (opts.finalStats) await this.sampleStats();
      this.closed = true;
      this.answerWaiter?.resolve('closed');
      for (const w of this.connectWaiters.splice(0)) w();
      this.media.stopAll();
      const pc = this.pc;
      pc.onicecandidate = null;
      pc.oniceconnectionstatechange = null;
      pc.onconnectionstatechange = null;
      pc.ontrack = null;
      if (this.audioTrack) this.host.tone.releaseTrack(this.audioTrack);
      this.audioTrack = null;
      if (this.screenTrack) this.host.screen.releaseTrack(this.screenTrack);
      this.screenTrack = null;
      this.screenSender = null;
      await closeQueue(() => pc.close());
      const { env, ledger } = this.host;
      ledger.peerClosed(this.rec);
      env.metrics.inc('voice.audio_frames.expected', this.audio.expected);
      env.metrics.inc('voice.audio_frames.received', this.audio.received);
      env.metrics.inc('voice.audio_frames.with_tone', this.audio.withTone);
      env.metrics.inc('voice.video_frames.received', this.videoFrames);
      this.trace('webrtc.peer_closed', { frames: this.audio.received, expected: this.audio.expected });
    })();
    return this.closing;
  }
}
