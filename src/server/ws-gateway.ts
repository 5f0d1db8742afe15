import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { CLOSE, type SocketKind } from '../protocol/messages.js';
import { clock } from '../clock.js';
import type { TokenService } from './auth.js';
import type { Conn, Refusal } from './connection-manager.js';
import { chatClose, chatMessage, chatOpen } from './chat-socket.js';
import { notificationsClose, notificationsOpen } from './notifications-socket.js';
import { voiceClose, voiceMessage, voiceOpen } from './voice-socket.js';
import { parseTextFrame, send, sendError, type Frame } from './frames.js';
import type { Hub } from './hub.js';
import { endRawJson } from './http-io.js';

const TAGS: Record<SocketKind, string> = { chat: '[WS_CHAT]', voice: '[VOICE_WS]', notifications: '[ConnectionManager]' };

interface Route {
  kind: SocketKind;
  id: number | null;
}

function routeOf(pathname: string): Route | null {
  let m = /^\/ws\/chat\/(\d{1,15})\/?$/.exec(pathname);
  if (m) return { kind: 'chat', id: Number(m[1]) };
  m = /^\/ws\/voice\/(\d{1,15})\/?$/.exec(pathname);
  if (m) return { kind: 'voice', id: Number(m[1]) };
  if (/^\/ws\/notifications\/?$/.test(pathname)) return { kind: 'notifications', id: null };
  return null;
}

/**
 * The three WebSocket endpoints. Every socket with a known path is accepted, then refused
 * with a close code and reason if it must be (the reference server prefers close codes to
 * Miscord's pre-accept 403s, so the bench can tell refusals apart); unknown paths get 404.
 * In compat v1 mode refusals are Miscord's 403 on the upgrade; an endpoint listed in
 * `refuse` answers 403 to every upgrade (see compat.ts).
 *
 * Binary frames are answered with an error frame and the socket stays open; frames over
 * maxPayloadBytes close it with 1009 (ws enforces the cap).
 */
export class WsGateway {
  private readonly wss: WebSocketServer;
  /** every accepted socket, refused ones included, until its close event */
  private readonly sockets = new Set<WebSocket>();
  private closing = false;

  constructor(
    private readonly hub: Hub,
    private readonly tokens: TokenService,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: hub.opts.maxPayloadBytes, clientTracking: false });
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // a reset during the token check must not crash the process; ws adds its own handler later
    socket.on('error', () => socket.destroy());
    if (this.closing) return endRawJson(socket, 503, 'Service Unavailable');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routeOf(url.pathname);
    if (!route) return endRawJson(socket, 404, 'Not Found');
    const { hub } = this;
    if (hub.opts.refuse.has(route.kind)) {
      // a deployment lacking this endpoint
      hub.cm.countRejected();
      hub.log.debug(TAGS[route.kind], `refuse ${route.kind}/${route.id ?? ''}: 403 endpoint refused (--refuse)`);
      return endRawJson(socket, 403, 'Forbidden');
    }
    const userId = await this.tokens.verify(url.searchParams.get('token'));
    if (this.closing) return endRawJson(socket, 503, 'Service Unavailable');
    if (hub.opts.compat === 'v1') {
      // a plain Miscord refuses before accepting: every refusal is a 403 on the upgrade.
      // handleUpgrade accepts synchronously, so no other socket slips in between check and register
      const user = userId === null ? undefined : hub.store.users.get(userId);
      const refusal = this.check(route, user?.id ?? null);
      if (refusal) {
        hub.cm.countRejected();
        hub.log.debug(TAGS[route.kind], `refuse ${route.kind}/${route.id ?? ''} user=${userId ?? '?'}: 403 ${refusal.reason}`);
        return endRawJson(socket, 403, 'Forbidden', refusal.reason);
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, route, userId));
  }

  private accept(ws: WebSocket, route: Route, userId: number | null): void {
    const { hub } = this;
    this.sockets.add(ws);
    ws.once('close', () => this.sockets.delete(ws));
    ws.on('error', (err) => hub.log.debug(TAGS[route.kind], `socket error: ${err.message}`));
    const user = userId === null ? undefined : hub.store.users.get(userId);
    // compat v1 checked before the upgrade, and nothing ran since (handleUpgrade accepts synchronously)
    const refusal = hub.opts.compat === 'v1' ? null : this.check(route, user?.id ?? null);
    if (refusal) {
      hub.cm.countRejected();
      hub.log.debug(TAGS[route.kind], `refuse ${route.kind}/${route.id ?? ''} user=${userId ?? '?'}: ${refusal.code} ${refusal.reason}`);
      ws.close(refusal.code, refusal.reason);
      return;
    }
    const conn = hub.cm.register(ws, user!.id, user!.username, route.kind, route.id);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.once('close', (code) => {
      if (conn.kind === 'chat') chatClose(hub, conn, code);
      else if (conn.kind === 'voice') voiceClose(hub, conn, code);
      else notificationsClose(hub, conn, code);
      hub.cm.closed(conn, code);
    });
    if (conn.kind === 'chat') chatOpen(hub, conn);
    else if (conn.kind === 'voice') voiceOpen(hub, conn);
    else notificationsOpen(hub, conn);
  }

  /** Why a socket must be refused, or null. Order: token, target, membership, room, limits. */
  private check(route: Route, userId: number | null): Refusal | null {
    const { store, cm } = this.hub;
    if (route.kind === 'voice') {
      if (userId === null) return { code: CLOSE.invalidToken, reason: 'invalid token or unknown user' };
      const vc = store.voiceChannels.get(route.id!);
      if (!vc) return { code: CLOSE.voiceNotFound, reason: `voice channel ${route.id} not found` };
      if (!store.servers.get(vc.serverId)?.members.has(userId)) {
        return { code: CLOSE.policyViolation, reason: `not a member of server ${vc.serverId}` };
      }
      const inRoom = this.hub.voice.userIds(vc.id);
      if (!inRoom.has(userId) && inRoom.size >= vc.maxUsers) {
        return { code: CLOSE.voiceFull, reason: `voice channel ${vc.id} is full (${vc.maxUsers} users)` };
      }
    } else {
      if (userId === null) return { code: CLOSE.policyViolation, reason: 'invalid or expired token' };
      if (route.kind === 'chat') {
        const server = store.servers.get(route.id!);
        if (!server) return { code: CLOSE.policyViolation, reason: `server ${route.id} not found` };
        if (!server.members.has(userId)) return { code: CLOSE.policyViolation, reason: `not a member of server ${route.id}` };
      }
    }
    return cm.admit(userId);
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    const { hub } = this;
    hub.cm.touch(conn);
    if (isBinary) return sendError(conn.ws, 'binary frames are not supported: send JSON text');
    const parsed = parseTextFrame(data.toString());
    if (typeof parsed === 'string') return sendError(conn.ws, parsed);
    const m: Frame = parsed;
    switch (m.type) {
      case 'ping':
        return send(conn.ws, { type: 'pong' });
      case 'pong':
      case 'heartbeat':
        return;
    }
    const handled = conn.kind === 'chat' ? chatMessage(hub, conn, m) : conn.kind === 'voice' ? voiceMessage(hub, conn, m) : false;
    if (!handled) sendError(conn.ws, `unknown message type "${m.type.slice(0, 64)}"`);
  }

  /** Closes every socket with 1001, waits for the handshakes, terminates stragglers. */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    const pending = [...this.sockets].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(CLOSE.goingAway, 'server shutting down');
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(pending), grace]);
    clock.clearTimeout(timer);
    for (const ws of this.sockets) ws.terminate();
    await Promise.all(pending);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
