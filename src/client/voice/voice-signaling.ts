import WebSocket from 'ws';
import { clock } from '../../clock.js';
import { ROUTES, parseFrame, type VoiceClientMessage } from '../../protocol/messages.js';
import type { ClientEnv, UserIdentity } from '../client-env.js';
import type { SocketRecord, UserLedger } from '../ledger.js';

/** Why a voice socket was refused: an HTTP status on the upgrade, or a close code. */
export interface Refusal {
  status?: number;
  code?: number;
  reason: string;
}

/** Close codes that mean "refused" rather than "closed" (protocol.md, Refusals). */
const REFUSAL_CODES = new Set([1008, 1013, 4001, 4004, 4005, 4008]);

export type SignalMessage = { type: string; [k: string]: unknown };

/**
 * The voice signaling socket of one session (`/ws/voice/{id}?token=`), with its ledger
 * record, trace events and refusal accounting. Answers protocol pings itself so that
 * `freeze()` can stop doing so without closing.
 */
export class VoiceSignaling {
  readonly rec: SocketRecord;
  private ws: WebSocket | null = null;
  private frozen = false;
  private closedP: Promise<void>;
  private resolveClosed!: () => void;
  private gotFirstMessage = false;
  refusal: Refusal | null = null;
  onMessage: (m: SignalMessage) => void = () => {};
  /** called once when the socket is gone, after the ledger is updated */
  onClose: (info: { code: number; reason: string; by: 'client' | 'server'; refused: boolean }) => void = () => {};

  constructor(
    private readonly env: ClientEnv,
    private readonly user: UserIdentity,
    private readonly ledger: UserLedger,
    readonly roomId: number,
  ) {
    this.rec = ledger.socketOpening('voice', roomId);
    this.closedP = new Promise((r) => (this.resolveClosed = r));
  }

  /** Opens the socket; resolves on open, or with the refusal (never rejects). */
  open(): Promise<Refusal | null> {
    const { env, user, rec } = this;
    const url = `${env.wsUrl}${ROUTES.wsVoice(this.roomId)}?token=${encodeURIComponent(user.token)}`;
    const t0 = clock.now();
    env.tracer.emit({ ev: 'socket.opening', user: user.index, socket: rec.id, kind: 'voice', channel: this.roomId });
    const ws = new WebSocket(url, { autoPong: false, handshakeTimeout: 10_000 });
    this.ws = ws;
    let upgradeStatus: number | undefined;
    let closedByClient = false;
    return new Promise((resolve) => {
      ws.on('open', () => {
        env.metrics.record('ws.connect.voice', clock.now() - t0);
        this.ledger.socketOpened(rec);
        env.tracer.emit({ ev: 'socket.open', user: user.index, socket: rec.id, kind: 'voice', channel: this.roomId });
        resolve(null);
      });
      ws.on('ping', (data) => {
        if (!this.frozen && ws.readyState === WebSocket.OPEN) ws.pong(data);
      });
      ws.on('message', (data) => {
        if (this.frozen) return;
        const m = parseFrame(data);
        if (!m) return;
        this.gotFirstMessage = true;
        if (env.tracer.writing) env.tracer.emit({ ev: 'msg.recv', user: user.index, socket: rec.id, type: m.type, ...(env.tracer.bodies ? { body: m } : {}) });
        if (m.type === 'ping') return void this.send({ type: 'pong' } as unknown as VoiceClientMessage);
        this.onMessage(m);
      });
      ws.on('error', (err) => {
        const status = /Unexpected server response: (\d+)/.exec(err.message);
        if (status) upgradeStatus = Number(status[1]);
        else this.ledger.error('voice', err.message);
      });
      ws.once('close', (code, reasonBuf) => {
        const reason = reasonBuf.toString();
        const by: 'client' | 'server' = closedByClient || rec.state === 'closing' ? 'client' : 'server';
        const refused = upgradeStatus !== undefined || (by === 'server' && REFUSAL_CODES.has(code) && !this.gotFirstMessage);
        if (refused) {
          this.refusal = upgradeStatus !== undefined ? { status: upgradeStatus, reason: `HTTP ${upgradeStatus}` } : { code, reason };
          this.ledger.socketRefused(rec, { status: upgradeStatus, code: upgradeStatus === undefined ? code : undefined, reason: this.refusal.reason });
          env.metrics.inc(`refusals.${upgradeStatus ?? code}`);
          env.tracer.emit({ ev: 'socket.refused', user: user.index, socket: rec.id, kind: 'voice', status: upgradeStatus, code: upgradeStatus === undefined ? code : undefined, reason: this.refusal.reason });
        } else {
          this.ledger.socketClosed(rec, { code, reason, by });
          env.tracer.emit({ ev: 'socket.close', user: user.index, socket: rec.id, kind: 'voice', code, reason, by });
        }
        env.events.onSocketClosed?.(user, rec);
        this.ws = null;
        this.onClose({ code, reason, by, refused });
        this.resolveClosed();
        resolve(this.refusal ?? { code, reason: reason || 'closed before open' });
      });
      this.markClientClose = () => {
        closedByClient = true;
      };
    });
  }

  private markClientClose: () => void = () => {};

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(m: VoiceClientMessage): boolean {
    const ws = this.ws;
    if (this.frozen || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(m));
    if (this.env.tracer.writing && m.type !== 'ice_candidate' && m.type !== 'offer' && m.type !== 'answer') {
      this.env.tracer.emit({ ev: 'msg.sent', user: this.user.index, socket: this.rec.id, type: m.type });
    }
    return true;
  }

  /** Stops answering pings and sending anything, without closing (the server must reap it). */
  freeze(): void {
    this.frozen = true;
    this.rec.frozen = true;
  }

  /** Closes (1000) and resolves once the socket is gone; idempotent. */
  async close(): Promise<void> {
    const ws = this.ws;
    if (ws) {
      this.markClientClose();
      if (ws.readyState === WebSocket.OPEN) {
        this.ledger.socketClosing(this.rec);
        ws.close(1000, 'leave');
        // a frozen or vanished server must not hold the leave forever
        const t = clock.setTimeout(() => ws.terminate(), 5000);
        await this.closedP;
        clock.clearTimeout(t);
        return;
      }
      ws.terminate();
    }
    if (this.rec.state === 'connecting' && !ws) return;
    await this.closedP;
  }
}
