import { STATUS_CODES, createServer, type Server as HttpServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MbError } from '../errors.js';
import { clock } from '../clock.js';
import { TokenService } from './auth.js';
import { ConnectionManager } from './connection-manager.js';
import { send } from './frames.js';
import { FaultPool } from './fault-pool.js';
import { HttpApi } from './http-api.js';
import { RawAnswers } from './http-io.js';
import type { Hub } from './hub.js';
import { resolveOptions, type ReferenceServerOptions, type ResolvedOptions } from './options.js';
import { ServerMetrics } from './prom-metrics.js';
import { buildStats } from './stats.js';
import { Store } from './store.js';
import { VoiceRooms } from './voice-rooms.js';
import { WsGateway } from './ws-gateway.js';

export interface ReferenceServer {
  /** http://host:port */
  url: string;
  /** ws://host:port */
  wsUrl: string;
  host: string;
  port: number;
  options: Readonly<ResolvedOptions>;
  /** signs a token for a user id with the server's secret (tests, seeding) */
  signToken(userId: number): Promise<string>;
  /** the full [ext] stats body, without HTTP (also in compat mode, where the route answers only v1) */
  stats(): ReturnType<typeof buildStats>;
  /** closes every socket with 1001, then the HTTP server. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the bundled reference Miscord backend: HTTP routes, the three WebSockets, the
 * registry with heartbeat and limits, and the faults asked for. Contradictory options are
 * refused with MB_ERR_USAGE before anything listens; a port in use is MB_ERR_SERVER_START.
 */
export async function createReferenceServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const opts = resolveOptions(options);
  const log = opts.log;
  const hub: Hub = {
    opts,
    log,
    store: new Store(opts),
    cm: new ConnectionManager(opts),
    voice: new VoiceRooms(opts.faults.has('voice-slot-overwrite')),
    chat: new Map(),
    notifications: new Map(),
    delivered: { chat: 0, voice: 0, notifications: 0 },
    // answered sockets waiting for their peer's FIN count under the total limit too
    raw: new RawAnswers(opts.closeTimeoutMs, opts.maxTotal),
    pool: opts.faults.has('pooled-resource') ? new FaultPool(opts.faultPoolSize, opts.faultPoolStallMs) : null,
  };
  const tokens = new TokenService(opts.jwtSecret, opts.tokenTtlSec);
  const metrics = new ServerMetrics(hub);
  const api = new HttpApi(hub, tokens, metrics);
  const gateway = new WsGateway(hub, tokens);

  const http: HttpServer = createServer({
    headersTimeout: opts.headersTimeoutMs,
    requestTimeout: opts.requestTimeoutMs,
    // Node checks both timeouts on this interval (30 s by default), which would let a
    // half-sent request hang far past them
    connectionsCheckingInterval: Math.max(20, Math.min(1000, Math.floor(opts.headersTimeoutMs / 4))),
  });
  http.on('request', (req, res) => {
    // a handler's failure must never become an unhandled rejection that ends the process
    api.handle(req, res).catch((err) => {
      log.error('[HTTP]', `request failed: ${(err as Error)?.stack ?? err}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  http.on('upgrade', (req, socket, head) => {
    gateway.upgrade(req, socket, head).catch((err) => {
      log.error('[WS]', `upgrade failed: ${(err as Error)?.stack ?? err}`);
      socket.destroy();
    });
  });
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    hub.raw.end(socket, status, STATUS_CODES[status]!);
  });

  try {
    http.listen(opts.port, opts.host);
    await once(http, 'listening');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'is already in use' : e.code === 'EACCES' ? 'needs privileges' : `failed (${e.code ?? e.message})`;
    throw new MbError('MB_ERR_SERVER_START', `cannot listen on ${opts.host}:${opts.port}: the port ${why}`, { code: e.code }, { cause: err });
  }

  hub.cm.startHeartbeat((conn) => {
    // Miscord's notifications socket also pings in-band after a silence
    if (conn.kind === 'notifications' && clock.wall() - conn.lastSeenAt >= opts.heartbeatMs) send(conn.ws, { type: 'ping' });
  }, opts.compat !== 'v1');

  const addr = http.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  log.info('[ConnectionManager]', `listening on http://${host}:${addr.port} faults=[${[...opts.faults].join(',')}]${opts.compat ? ` compat=${opts.compat}` : ''}${opts.refuse.size ? ` refuse=[${[...opts.refuse].join(',')}]` : ''}`);

  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    wsUrl: `ws://${host}:${addr.port}`,
    host,
    port: addr.port,
    options: opts,
    signToken: (userId) => tokens.sign(userId),
    stats: () => buildStats(hub),
    close() {
      closing ??= (async () => {
        hub.cm.stop();
        // stalled upgrades and requests give up now, not after faultPoolStallMs
        hub.pool?.close();
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        await gateway.close();
        http.closeAllConnections();
        hub.raw.destroyAll();
        await httpClosed;
        hub.voice.clear();
        log.info('[ConnectionManager]', 'closed');
      })();
      return closing;
    },
  };
}
