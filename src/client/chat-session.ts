import { clock } from '../clock.js';
import { ROUTES, chatPayloadOf } from '../protocol/messages.js';
import { ManagedSocket, type Conn, type SocketOwner } from './managed-socket.js';
import type { ChatActor, ChatSub, DeliveryTracker } from './delivery-tracker.js';

export type SwitchStrategy = 'reconnect' | 'in-band' | 'leaky';

/** What a chat session needs beyond a socket owner. */
export interface ChatOwner extends SocketOwner {
  readonly tracker: DeliveryTracker;
}

const SWITCH_ANSWER_TIMEOUT_MS = 2000;
const PONG = '{"type":"pong"}';
const HEARTBEAT = '{"type":"heartbeat"}';

/**
 * One chat "tab" of a simulated user on one Miscord server (the URL id is the server id).
 * Sends messages whose content is their delivery key, answers pings, switches text
 * channels by one of three strategies, and keeps the delivery accounting informed of
 * which of its sockets should receive what.
 */
export class ChatSession {
  readonly sock: ManagedSocket;
  /** the text channel the user is in: where its messages go */
  textChannelId: number;
  private readonly subs = new Map<Conn, ChatSub>();
  private switchWaiter: ((answer: string) => void) | null = null;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly owner: ChatOwner,
    readonly serverId: number,
    textChannelId: number,
  ) {
    this.textChannelId = textChannelId;
    this.sock = new ManagedSocket(owner, 'chat', ROUTES.wsChat(serverId), serverId, {
      onOpen: (conn) => {
        const sub: ChatSub = { id: conn.id, serverId, filter: null, excuseBefore: 0, socket: conn.rec.id, expected: 0, received: 0, lost: 0, user: owner.ledger.index, userId: owner.identity?.userId };
        this.subs.set(conn, sub);
        owner.tracker.subscribe(sub);
      },
      onClosed: (conn, byClient) => this.forget(conn, byClient),
      onFrame: (conn, frame) => this.onFrame(conn, frame),
      onRaw: (conn, data) => this.onRaw(conn, data),
    });
  }

  /** The connection stops receiving for the delivery accounting (closed, or abandoned by the leaky switch). */
  private forget(conn: Conn, excuse: boolean): void {
    const sub = this.subs.get(conn);
    if (!sub) return;
    this.owner.tracker.unsubscribe(sub, excuse);
    this.subs.delete(conn);
  }

  get isOpen(): boolean {
    return this.sock.isOpen;
  }

  /** the user froze this session on purpose */
  get frozen(): boolean {
    return this.sock.frozen;
  }

  /** open sockets of this session that lost messages their channel was sent (phantom sockets) */
  silentSockets(): Array<{ socket: string; expected: number; received: number }> {
    const out: Array<{ socket: string; expected: number; received: number }> = [];
    for (const [conn, sub] of this.subs) if (sub.lost > 0 && !conn.frozen && !conn.abandoned) out.push({ socket: sub.socket, expected: sub.expected, received: sub.received });
    return out;
  }

  async open(intendedAt = clock.now()): Promise<boolean> {
    const ok = (await this.sock.open(intendedAt)) !== null;
    if (ok) this.startHeartbeat();
    return ok;
  }

  /**
   * Miscord's front end sends `{type:"heartbeat"}` on its chat socket every 30 s; so does the
   * session (`env.heartbeatMs`, 0: never), on whichever connection is current. One timer per
   * session, in the ledger, so a session that leaves it running is a bench leak.
   */
  private startHeartbeat(): void {
    const { env, ledger } = this.owner;
    if (env.heartbeatMs <= 0 || this.heartbeat !== undefined) return;
    ledger.acquire('timer');
    this.heartbeat = clock.setInterval(() => {
      if (this.sock.send(HEARTBEAT)) env.metrics.inc('chat.heartbeats');
    }, env.heartbeatMs);
  }

  /**
   * The hot path: a delivery of one of our own messages is counted from the frame's bytes.
   * Anything else (other frames, others' messages, frozen or abandoned sockets, a trace
   * that wants every message's fields) goes on to the full parse and onFrame.
   */
  private onRaw(conn: Conn, data: Buffer): boolean {
    if (conn.frozen || conn.abandoned || this.owner.env.tracer.writing) return false;
    const sub = this.subs.get(conn);
    if (sub === undefined) return false;
    const seq = this.owner.tracker.keys.seqOfFrame(data);
    if (seq < 0) return false;
    this.owner.tracker.receipt(sub, seq, data);
    return true;
  }

  private onFrame(conn: Conn, frame: { type: string; [k: string]: unknown }): void {
    if (conn.frozen || conn.abandoned) return;
    switch (frame.type) {
      case 'message':
      case 'new_message': {
        const p = chatPayloadOf(frame);
        const sub = this.subs.get(conn);
        if (p && sub && typeof p.content === 'string') {
          const seq = this.owner.tracker.keys.seqOf(p.content);
          const ours = seq >= 0 && this.owner.tracker.receipt(sub, seq, p);
          if (this.owner.env.tracer.writing) this.trace('msg.recv', conn, { type: frame.type, id: p.id, channel: p.text_channel_id, ours, size: p.content.length });
        }
        break;
      }
      case 'typing': {
        const sub = this.subs.get(conn);
        const from = Number((frame.user as { id?: unknown } | undefined)?.id);
        if (sub && Number.isInteger(from)) this.owner.tracker.typingReceipt(sub, from, Number(frame.text_channel_id));
        break;
      }
      case 'ping':
        conn.ws.send(PONG);
        break;
      case 'channel_switched':
        this.switchWaiter?.('ok');
        break;
      case 'error': {
        const message = String(frame.message ?? '');
        if (this.switchWaiter) this.switchWaiter(`error: ${message}`);
        else {
          this.owner.env.metrics.inc('errors.server_error');
          this.owner.ledger.error('chat', message);
          this.trace('error', conn, { error: message });
        }
        break;
      }
      default:
        break;
    }
  }

  private trace(ev: string, conn: Conn, fields: Record<string, unknown>): void {
    this.owner.env.tracer.emit({ ev, user: this.owner.ledger.index, socket: conn.rec.id, ...fields });
  }

  /** Sends one message to the current text channel; false when no socket could carry it. */
  sendMessage(intendedWall: number): boolean {
    const { tracker, env } = this.owner;
    const { seq, content } = tracker.keys.next(intendedWall);
    const ch = this.textChannelId;
    tracker.expect(seq, this.serverId, ch, intendedWall, this.actor());
    const ok = this.sock.send(`{"type":"message","content":"${content}","text_channel_id":${ch}}`);
    if (!ok) {
      tracker.unexpect(seq);
      env.metrics.inc('chat.skipped');
      return false;
    }
    // one event per message only when someone reads every event (a trace file, the debug log)
    if (env.tracer.writing) {
      const c = this.sock.conn!;
      env.tracer.emit({ ev: 'msg.sent', user: this.owner.ledger.index, socket: c.rec.id, type: 'message', channel: ch, size: content.length, ...(env.tracer.bodies ? { body: content } : {}) });
    }
    return true;
  }

  typing(): void {
    const from = this.actor();
    if (!this.sock.send(`{"type":"typing","text_channel_id":${this.textChannelId}}`)) return;
    this.owner.env.metrics.inc('chat.typing');
    if (from) this.owner.tracker.expectTyping(from, this.serverId, this.textChannelId);
  }

  /** who sends on the current connection, for the promise checks */
  private actor(): ChatActor | null {
    const c = this.sock.conn;
    const id = this.owner.identity;
    return c && id ? { user: this.owner.ledger.index, userId: id.userId, socket: c.rec.id } : null;
  }

  ping(intendedAt = clock.now()): void {
    this.sock.ping(intendedAt);
  }

  /**
   * Moves the user to another text channel. `chat.switch` is the time from `intendedAt`
   * until the new subscription is confirmed (in-band) or the new socket is open.
   */
  async switchTo(textChannelId: number, strategy: SwitchStrategy, intendedAt = clock.now()): Promise<boolean> {
    const { env, caps, tracker } = this.owner;
    const from = this.textChannelId;
    this.textChannelId = textChannelId;
    let ok = false;
    let how: SwitchStrategy = strategy;
    const conn = this.sock.conn;
    if (strategy === 'in-band' && caps.inBand !== 'no' && conn && !conn.frozen) {
      const sub = this.subs.get(conn)!;
      tracker.switching(sub, textChannelId);
      const answer = await this.awaitSwitch(textChannelId);
      tracker.switched(sub);
      if (answer === 'ok') {
        caps.inBand = 'yes';
        conn.rec.textChannelId = textChannelId;
        ok = true;
      } else if (answer === 'closing' || env.signal.aborted) {
        // the session ends (or the run): no switch, and no evidence about the target
        return false;
      } else {
        tracker.unfiltered(sub);
        // a socket that closed under the request says nothing about switch_channel
        if (answer !== 'socket not open') caps.inBandUnsupported(answer);
        how = 'reconnect';
      }
    } else if (strategy === 'in-band') how = 'reconnect';
    if (!ok) {
      if (how === 'leaky') {
        const old = this.sock.abandon();
        if (old) this.forget(old, true);
      } else await this.sock.closeCurrent();
      ok = await this.open();
    }
    if (ok) env.metrics.record('chat.switch', clock.now() - intendedAt);
    // a target lacking the chat endpoint was said once; its skipped sockets are counted in skipped.chat
    else if (caps.available('chat')) env.metrics.inc('errors.switch');
    env.tracer.emit({ ev: 'chat.switch', user: this.owner.ledger.index, socket: this.sock.conn?.rec.id, from, to: textChannelId, strategy: how, ok });
    return ok;
  }

  private awaitSwitch(textChannelId: number): Promise<string> {
    return new Promise<string>((resolve) => {
      const done = (answer: string) => {
        clock.clearTimeout(timer);
        this.switchWaiter = null;
        resolve(answer);
      };
      const timer = clock.setTimeout(() => done('no answer within 2 s'), SWITCH_ANSWER_TIMEOUT_MS);
      this.switchWaiter = done;
      if (!this.sock.send(`{"type":"switch_channel","text_channel_id":${textChannelId}}`)) done('socket not open');
    });
  }

  /** Stops answering pings and sending, without closing. */
  freeze(): boolean {
    const c = this.sock.freeze();
    if (!c) return false;
    const sub = this.subs.get(c);
    if (sub) this.owner.tracker.unsubscribe(sub, true);
    return true;
  }

  /** Destroys the connection with no close frame (a killed tab); nothing more is expected on it. */
  crash(): { closed: Promise<void> } | null {
    const c = this.sock.conn;
    const sub = c && this.subs.get(c);
    if (sub) this.owner.tracker.unsubscribe(sub, true);
    return this.sock.crash();
  }

  /** Closes every socket of this session (abandoned ones included); idempotent. */
  async close(): Promise<void> {
    if (this.heartbeat !== undefined) {
      clock.clearInterval(this.heartbeat);
      this.heartbeat = undefined;
      this.owner.ledger.release('timer');
    }
    this.switchWaiter?.('closing');
    for (const sub of this.subs.values()) this.owner.tracker.unsubscribe(sub, true);
    await this.sock.close();
  }
}
