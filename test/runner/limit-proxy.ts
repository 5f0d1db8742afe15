import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { onTestFinished } from 'vitest';
import { createReferenceServer, type ReferenceServerOptions } from '../../src/server/index.js';

/**
 * A broken target made of a clean reference server and a proxy in front of it (127.0.0.1,
 * port 0), for the limit and capacity checks: it can show voice rooms with another
 * `max_users` than the server enforces, and emulate a pooled per-socket resource (beyond
 * `pool` upgraded sockets, an upgrade stalls `stallMs` then gets 403, and GET /api/auth/me and
 * POST /api/auth/login stall then answer 500, until sockets close).
 */
export interface ProxyOptions {
  server?: ReferenceServerOptions;
  /** added to every voice channel's max_users the server shows */
  maxUsersShift?: number;
  pool?: number;
  stallMs?: number;
}

export async function limitProxy(o: ProxyOptions = {}): Promise<{ url: string; open: () => number }> {
  const upstream = await createReferenceServer({ port: 0, ...o.server });
  onTestFinished(() => upstream.close());
  const up = new URL(upstream.url);
  let open = 0;
  const exhausted = () => o.pool !== undefined && open >= o.pool;
  const stall = (fn: () => void) => {
    const t = setTimeout(fn, o.stallMs ?? 0);
    timers.add(t);
  };
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (exhausted() && (req.url === '/api/auth/me' || req.url === '/api/auth/login')) return stall(() => res.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":"pool exhausted"}'));
    let r: Response;
    try {
      r = await fetch(upstream.url + req.url, { method: req.method, headers: req.headers as Record<string, string>, body: chunks.length ? Buffer.concat(chunks) : undefined });
    } catch {
      // the upstream went away (the test is tearing down)
      return res.destroy();
    }
    let body = Buffer.from(await r.arrayBuffer());
    if (o.maxUsersShift && /^\/api\/channels\/\d+(\/voice-channels)?$/.test(req.url ?? '') && r.ok) {
      const shift = (c: { max_users?: number }) => (typeof c.max_users === 'number' ? (c.max_users += o.maxUsersShift!) : 0);
      const j = JSON.parse(body.toString()) as { channels?: Array<{ max_users?: number }>; max_users?: number };
      for (const c of j.channels ?? []) shift(c);
      shift(j);
      body = Buffer.from(JSON.stringify(j));
    }
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json', 'content-length': body.length }).end(body);
  });
  const piped = new Set<net.Socket>();
  server.on('upgrade', (req, sock: net.Socket, head: Buffer) => {
    sock.on('error', () => {});
    piped.add(sock);
    sock.on('close', () => piped.delete(sock));
    if (exhausted()) return stall(() => sock.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    open++;
    let counted = true;
    const release = () => counted && ((counted = false), open--);
    const u = net.connect(Number(up.port), up.hostname, () => {
      u.write(`${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
      if (head.length) u.write(head);
      sock.pipe(u).pipe(sock);
    });
    u.on('error', () => sock.destroy());
    u.on('close', () => (release(), sock.destroy()));
    sock.on('close', () => (release(), u.destroy()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const t of timers) clearTimeout(t);
    for (const s of piped) s.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, open: () => open };
}
