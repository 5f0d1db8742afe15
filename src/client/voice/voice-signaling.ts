import { clock } from '../../clock.js';
import { ROUTES, parseFrame, type VoiceClientMessage } from '../../protocol/messages.js';
import type { ClientEnv, UserIdentity } from '../client-env.js';
import type { SocketRecord, UserLedger } from '../ledger.js';
import type { SocketEvent } from '../socket-events.js';
import { OPEN, WireSocket } from '../wire-socket.js';
import { REFUSAL_CLOSE_CODES, upgradeRefusal, type Refusal } from '../managed-socket.js';

export type SignalMessage = { type: string; [k: string]: unknown };

/** Distributes over the union, so each kind keeps its own fields. */
type EventBody = SocketEvent extends infer E ? (E extends SocketEvent ? Omit<E, 'socket' | 'ledger' | 'identity' | 'rec' | 't'> : never) : never;

/**
 * The voice signaling socket of one session (`/ws/voice/{id}?token=`), with its ledger
 * record, trace events and refusal accounting. `freeze()` stops it answering pings and
 * sending, without closing.
 */
export class VoiceSignaling {
  readonly rec: SocketRecord;
  private ws: WireSocket | null = null;
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
    this.rec = ledger.newSocket('voice', roomId);
    this.closedP = new Promise((r) => (this.resolveClosed = r));
  }

  /** Opens the socket; resolves on open, or with the refusal (never rejects). */
  open(): Promise<Refusal | null> {
    const { env, user, rec } = this;
    const url = `${env.wsUrl}${ROUTES.wsVoice(this.roomId)}?token=${encodeURIComponent(user.token)}`;
    const t0 = clock.now();
    this.emit({ kind: 'opening' });
    let upgrade: Refusal | undefined;
    let closedByClient = false;
    return new Promise((resolve) => {
      const ws = new WireSocket(
        url,
        {
          open: () => {
            this.emit({ kind: 'open', connectMs: clock.now() - t0 });
            resolve(null);
          },
          refused: (status, text, body) => {
            upgrade = upgradeRefusal(status, text, body);
          },
          message: (data) => {
            if (this.frozen) return;
            const m = parseFrame(data);
            if (!m) return;
            this.gotFirstMessage = true;
            if (env.stream.listens('recv')) {
              const subject = m.user_id ?? m.from_id;
              const participants = m.type === 'participants' && Array.isArray(m.participants) ? (m.participants as Array<{ user_id?: unknown }>).map((p) => Number(p?.user_id)) : undefined;
              this.emit({ kind: 'recv', type: m.type, subject: subject === undefined ? null : Number(subject), participants, frame: m });
            }
            if (m.type === 'ping') return void this.send({ type: 'pong' } as unknown as VoiceClientMessage);
            this.onMessage(m);
          },
          pong: () => {},
          error: (err) => this.emit({ kind: 'error', error: err.message }),
          close: (code, reason) => {
            const by: 'client' | 'server' = closedByClient || rec.state === 'closing' ? 'client' : 'server';
            const refused = upgrade !== undefined || (by === 'server' && REFUSAL_CLOSE_CODES.has(code) && !this.gotFirstMessage);
            if (refused) {
              this.refusal = upgrade ?? { code, reason };
              this.emit({ kind: 'refused', refusal: this.refusal, crashed: this.crashed });
            } else this.emit({ kind: 'closed', code, reason, by, refused: false, crashed: this.crashed });
            this.ws = null;
            this.onClose({ code, reason, by, refused });
            this.resolveClosed();
            resolve(this.refusal ?? { code, reason: reason || 'closed before open' });
          },
        },
        { handshakeTimeoutMs: 10_000 },
      );
      this.ws = ws;
      this.markClientClose = () => {
        closedByClient = true;
      };
    });
  }

  private markClientClose: () => void = () => {};
  private crashed = false;

  /** resolves once the socket is gone, whoever closed it */
  get closed(): Promise<void> {
    return this.closedP;
  }

  /** One event of this socket on the users' stream. */
  private emit(body: EventBody): void {
    this.env.stream.publish({ ...body, socket: 'voice', ledger: this.ledger, identity: this.user, rec: this.rec, t: clock.now() } as SocketEvent);
  }

  /**
   * A killed tab or a lost network: the TCP connection is destroyed with no close frame. The
   * server learns of it only from its heartbeat (or the socket error); what it promised after
   * that window is checked by the leak detector.
   */
  crash(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return;
    this.crashed = true;
    // the server learns of it from its heartbeat: the close watcher must not time it as a close
    this.rec.crashed = true;
    this.markClientClose();
    ws.terminate();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === OPEN;
  }

  send(m: VoiceClientMessage): boolean {
    const ws = this.ws;
    if (this.frozen || !ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(m));
    if (this.env.stream.listens('sent')) this.emit({ kind: 'sent', type: m.type, subject: 'target_id' in m ? Number(m.target_id) : null });
    return true;
  }

  /** Stops answering pings and sending anything, without closing (the server must reap it). */
  freeze(): void {
    if (!this.frozen) this.emit({ kind: 'frozen' });
    this.frozen = true;
    if (this.ws) this.ws.autoPong = false;
  }

  /** Closes (1000) and resolves once the socket is gone; idempotent. */
  async close(): Promise<void> {
    const ws = this.ws;
    if (ws) {
      this.markClientClose();
      if (ws.readyState === OPEN) {
        this.emit({ kind: 'closing', code: 1000 });
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
