import { clock } from '../clock.js';
import { ROUTES } from '../protocol/messages.js';
import { ManagedSocket, type SocketOwner } from './managed-socket.js';

const PONG = '{"type":"pong"}';
const PING = '{"type":"ping"}';

/**
 * The notifications socket of a simulated user: answers the server's app-level pings,
 * sends its own (`notifications.ping_rtt`), counts the global events it hears.
 */
export class NotificationsSession {
  readonly sock: ManagedSocket;
  private appPingAt = 0;

  constructor(private readonly owner: SocketOwner) {
    this.sock = new ManagedSocket(owner, 'notifications', ROUTES.wsNotifications, null, {
      onFrame: (conn, frame) => {
        if (conn.frozen || conn.abandoned) return;
        switch (frame.type) {
          case 'ping':
            conn.ws.send(PONG);
            break;
          case 'pong':
            if (this.appPingAt) {
              owner.env.metrics.record('notifications.ping_rtt', clock.now() - this.appPingAt);
              this.appPingAt = 0;
            }
            break;
          case 'error':
            owner.env.metrics.inc('errors.server_error');
            owner.ledger.error('notifications', String(frame.message ?? ''));
            break;
          case 'voice_channel_join':
          case 'voice_channel_leave':
            owner.env.metrics.inc(`notifications.${frame.type}`);
            this.sock.publish('recv', conn.rec, { type: frame.type, subject: Number(frame.user_id), channel: Number(frame.voice_channel_id) });
            break;
          default:
            owner.env.metrics.inc(`notifications.${frame.type}`);
        }
        if (owner.env.tracer.writing) owner.env.tracer.emit({ ev: 'msg.recv', user: owner.ledger.index, socket: conn.rec.id, type: frame.type });
      },
      onClosed: () => {
        this.appPingAt = 0;
      },
    });
  }

  get isOpen(): boolean {
    return this.sock.isOpen;
  }

  get frozen(): boolean {
    return this.sock.frozen;
  }

  async open(intendedAt = clock.now()): Promise<boolean> {
    return (await this.sock.open(intendedAt)) !== null;
  }

  /** An app-level ping and a protocol ping frame, both timed from `intendedAt`. */
  ping(intendedAt = clock.now()): void {
    if (this.appPingAt === 0 && this.sock.send(PING)) this.appPingAt = intendedAt;
    this.sock.ping(intendedAt);
  }

  freeze(): boolean {
    return this.sock.freeze() !== null;
  }

  crash(): { closed: Promise<void> } | null {
    return this.sock.crash();
  }

  close(): Promise<void> {
    return this.sock.close();
  }
}
