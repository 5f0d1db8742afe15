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
import { parseTextFrame, send, sendError, watchSendQueue, type Frame } from './frames.js';
import type { Hub } from './hub.js';

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
 *
 * Bounds against hostile clients: the total limit counts every socket the gateway holds,
 * not only registered ones: handshakes in flight (token check) and refused sockets whose
 * close handshake is not done. When those already fill it, an upgrade is answered 503 before
 * it is accepted; a close the server starts waits at most closeTimeoutMs for the peer's
 * answer (ws's own default is 30 s); a registered socket whose send queue passes
 * maxSendQueueBytes is dropped (see frames.ts watchSendQueue).
 */
export class WsGateway {
  private readonly wss: WebSocketServer;
  /** every accepted socket, refused ones included, until its close event */
  private readonly sockets = new Set<WebSocket>();
  /** accepted and refused with a close code, until their close event */
  private readonly refusing = new Set<WebSocket>();
  /** upgrades between their request and their acceptance (the token check) */
  private inFlight = 0;
  private closing = false;

  constructor(
    private readonly hub: Hub,
    private readonly tokens: TokenService,
  ) {
    // closeTimeout: ws 8.19+ reads it (its types do not list it yet)
    const options = { noServer: true, maxPayload: hub.opts.maxPayloadBytes, clientTracking: false, closeTimeout: hub.opts.closeTimeoutMs };
    this.wss = new WebSocketServer(options);
  }

  /** Sockets held outside the registry: handshakes in flight and refused sockets still closing. */
  get pending(): number {
    return this.inFlight + this.refusing.size;
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // a reset during the token check must not crash the process; ws adds its own handler later
    socket.on('error', () => socket.destroy());
    const { hub } = this;
    const raw = hub.raw;
    if (this.closing) return raw.end(socket, 503, 'Service Unavailable');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routeOf(url.pathname);
    if (!route) return raw.end(socket, 404, 'Not Found');
    if (hub.opts.refuse.has(route.kind)) {
      // a deployment lacking this endpoint
      hub.cm.countRejected();
      hub.log.debug(TAGS[route.kind], `refuse ${route.kind}/${route.id ?? ''}: 403 endpoint refused (--refuse)`);
      return raw.end(socket, 403, 'Forbidden');
    }
    if (this.pending > 0 && hub.cm.size + this.pending >= hub.opts.maxTotal) {
      // handshakes and unfinished refusals fill the total limit: refuse before accepting, so a
      // flood of upgrades that never finish closing cannot hold more sockets than the limit
      hub.cm.countRejected();
      hub.log.debug(TAGS[route.kind], `refuse ${route.kind}/${route.id ?? ''}: 503 server full (${hub.cm.size} registered, ${this.pending} pending)`);
      return raw.end(socket, 503, 'Service Unavailable', `server full: ${hub.opts.maxTotal} connections (MAX_TOTAL_CONNECTIONS)`);
    }
    this.inFlight++;
    let userId: number | null;
    try {
      userId = await this.tokens.verify(url.searchParams.get('token'));
      if (hub.pool && route.kind === 'notifications') {
        // pooled-resource fault: the socket pins a pooled connection for its lifetime
        const release = await hub.pool.acquire();
        if (!release) {
          hub.cm.countRejected();
          hub.log.debug(TAGS[route.kind], `refuse notifications user=${userId ?? '?'}: 403 no pooled connection free after ${hub.pool.stallMs} ms (pooled-resource)`);
          if (this.closing) return raw.end(socket, 503, 'Service Unavailable');
          return raw.end(socket, 403, 'Forbidden', `QueuePool limit of size ${hub.pool.size} overflow 0 reached, connection timed out`);
        }
        // held until the TCP socket closes, however it ends (refusal, handshake failure, close)
        if (socket.destroyed) release();
        else socket.once('close', release);
      }
    } finally {
      this.inFlight--;
    }
    if (this.closing) return raw.end(socket, 503, 'Service Unavailable');
    if (hub.opts.compat === 'v1') {
      // a plain Miscord refuses before accepting: every refusal is a 403 on the upgrade.
      // handleUpgrade accepts synchronously, so no other socket slips in between check and register
      const user = userId === null ? undefined : hub.store.users.get(userId);
      const refusal = this.check(route, user?.id ?? null);
      if (refusal) {
        hub.cm.countRejected();
        hub.log.debug(TAGS[route.kind], `refuse ${route.kind}/${route.id ?? ''} user=${userId ?? '?'}: 403 ${refusal.reason}`);
        return raw.end(socket, 403, 'Forbidden', refusal.reason);
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
      // held until the close handshake is done, or closeTimeoutMs (ws's close timer)
      this.refusing.add(ws);
      ws.once('close', () => this.refusing.delete(ws));
      ws.close(refusal.code, refusal.reason);
      return;
    }
    const conn = hub.cm.register(ws, user!.id, user!.username, route.kind, route.id);
    if (!hub.opts.faults.has('slow-consumer-unbounded')) {
      watchSendQueue(ws, hub.opts.maxSendQueueBytes, (queued) => hub.cm.dropSlowConsumer(conn, queued));
    }
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.once('close', (code) => {
      if (hub.opts.faults.has('crash-kept') && code === 1006 && !conn.reaped && !conn.dropped && !this.closing) {
        // fault: a connection that died without a close frame (the client crashed or its
        // network went) is never handled: still registered, in its room, online
        return hub.cm.keep(conn, code);
      }
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
      // room-counts-sockets fault: every socket takes a seat, a member's second tab included
      const full = this.hub.opts.faults.has('room-counts-sockets')
        ? this.hub.voice.members(vc.id).length >= vc.maxUsers
        : !inRoom.has(userId) && inRoom.size >= vc.maxUsers;
      if (full) {
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
    return cm.admit(userId, this.pending);
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    const { hub } = this;
    // a socket the server is closing (dropped, shutting down) is not served any more
    if (conn.ws.readyState !== WebSocket.OPEN) return;
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
