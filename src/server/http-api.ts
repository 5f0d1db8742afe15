import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashPassword, verifyPassword, type TokenService } from './auth.js';
import { BodyCheck, HttpError, emailProblem, readForm, readJson, sendJson } from './http-io.js';
import type { Hub } from './hub.js';
import type { ServerMetrics } from './prom-metrics.js';
import { buildStats, buildV1Stats } from './stats.js';
import { StoreLimitError, type Server, type User } from './store.js';

interface Ctx {
  req: IncomingMessage;
  params: string[];
}
type Handler = (ctx: Ctx) => Promise<unknown>;
interface Route {
  method: string;
  re: RegExp;
  name: string;
  handler: Handler;
}

/** pooled-resource fault: the routes that need no pooled connection (they read no database in Miscord) */
const POOL_FREE_ROUTES = new Set(['stats', 'health']);

const UNAUTHORIZED = () => new HttpError(401, 'Could not validate credentials', { 'www-authenticate': 'Bearer' });

/** A user as protocol.md serializes it; `online` is presence (at least one open socket). */
function userOut(u: User, online: boolean) {
  return { id: u.id, username: u.username, email: u.email, is_active: true, is_online: online, created_at: u.createdAt };
}

/**
 * Why a username cannot be registered, or null (NFC neither adds nor removes any of these, so
 * the raw name is checked): ill-formed UTF-16 (a lone surrogate cannot survive the login form's
 * UTF-8), control characters (Cc), line and paragraph separators, and format characters (Cf:
 * bidi overrides and isolates, zero-width characters, the BOM) would make names that look
 * alike or break the lines they are printed on.
 */
export function usernameProblem(name: string): string | null {
  if (/\p{Cs}/u.test(name)) return 'Username is not valid Unicode (it contains a lone surrogate)';
  const bad = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.exec(name);
  if (bad) {
    const cp = `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    const what = /\p{Cc}/u.test(bad[0]) ? 'a control character' : /\p{Cf}/u.test(bad[0]) ? 'an invisible formatting character (bidi or zero-width)' : 'a line separator';
    return `Username must not contain ${what} (${cp} at position ${bad.index})`;
  }
  return null;
}

/** A request the client abandoned (reset or closed before its body arrived): not a server error. */
function clientAborted(req: IncomingMessage, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (req.destroyed && !req.complete);
}

/** Runs a store add whose quota protocol.md answers with 400 (register, join). */
function asBadRequest<T>(add: () => T): T {
  try {
    return add();
  } catch (err) {
    throw err instanceof StoreLimitError ? new HttpError(400, err.message) : err;
  }
}

/** The path of a request-target; an unparsable target (`http://[/`, `http://x:99999/`) is a 400. */
function requestPath(target: string): string {
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    throw new HttpError(400, 'Invalid request target');
  }
}

/**
 * The HTTP routes of protocol.md, answered with Miscord's status codes and `{detail}` bodies.
 * Unknown paths are 404, known paths with another method 405, bad ids in the path 422; HEAD
 * answers as GET without the body. A request the client aborted is counted under status 499
 * (nginx's "client closed request") and logged at debug level only.
 */
export class HttpApi {
  private readonly routes: Route[];

  constructor(
    private readonly hub: Hub,
    private readonly tokens: TokenService,
    private readonly metrics: ServerMetrics,
  ) {
    const R = (method: string, path: string, name: string, handler: Handler): Route => ({
      method,
      re: new RegExp(`^${path.replace(/\{\w+\}/g, '([^/]+)')}$`),
      name,
      handler,
    });
    this.routes = [
      R('POST', '/api/auth/register', 'register', (c) => this.register(c)),
      R('POST', '/api/auth/login', 'login', (c) => this.login(c)),
      R('GET', '/api/auth/me', 'me', async (c) => {
        const u = await this.auth(c);
        return userOut(u, this.onlineUsers().has(u.id));
      }),
      R('POST', '/api/channels/?', 'create_server', (c) => this.createServer(c)),
      R('GET', '/api/channels/?', 'list_servers', async (c) => {
        const u = await this.auth(c);
        return this.hub.store.serversOf(u.id).map((s) => this.serverOut(s));
      }),
      R('GET', '/api/channels/voice/{id}/members', 'voice_members', (c) => this.voiceMembers(c)),
      R('GET', '/api/channels/{id}/members', 'server_members', (c) => this.members(c)),
      R('GET', '/api/channels/{id}/?', 'get_server', async (c) => this.serverOut(await this.memberServer(c))),
      R('POST', '/api/channels/{id}/join', 'join_server', (c) => this.join(c)),
      R('POST', '/api/channels/{id}/text-channels', 'create_text_channel', (c) => this.createChannel(c, 'text')),
      R('POST', '/api/channels/{id}/voice-channels', 'create_voice_channel', (c) => this.createChannel(c, 'voice')),
      R('GET', '/api/debug/websocket-stats', 'stats', async (c) => (this.hub.opts.compat === 'v1' ? buildV1Stats(this.hub) : buildStats(this.hub, { gc: /[?&]gc=1(&|$)/.test(c.req.url ?? '') }))),
      R('GET', '/health', 'health', async () => ({ status: 'healthy' })),
    ];
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path = req.url ?? '/';
    let routeName = 'unknown';
    let status: string | null = null;
    // HEAD is GET without the body (Node writes no body for HEAD)
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    try {
      path = requestPath(path);
      if (path === '/metrics' && method === 'GET') {
        routeName = 'metrics';
        const text = await this.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
        res.end(text);
        return;
      }
      const matches = this.routes.map((r) => ({ r, m: r.re.exec(path) })).filter((x) => x.m);
      if (matches.length === 0) throw new HttpError(404, 'Not Found');
      const hit = matches.find((x) => x.r.method === method);
      if (!hit) {
        const allow = new Set(matches.flatMap((x) => (x.r.method === 'GET' ? ['GET', 'HEAD'] : [x.r.method])));
        throw new HttpError(405, 'Method Not Allowed', { allow: [...allow].join(', ') });
      }
      routeName = hit.r.name;
      const release = this.hub.pool && !POOL_FREE_ROUTES.has(routeName) ? await this.pooled() : null;
      try {
        const body = await hit.r.handler({ req, params: hit.m!.slice(1) });
        sendJson(res, 200, body);
      } finally {
        release?.();
      }
    } catch (err) {
      // a store quota: 403 on creation routes; register and join turn theirs into 400 (protocol.md)
      if (err instanceof StoreLimitError) err = new HttpError(403, err.message);
      if (err instanceof HttpError) {
        sendJson(res, err.status, { detail: err.detail }, err.headers);
      } else if (clientAborted(req, err)) {
        status = '499';
        this.hub.log.debug('[HTTP]', `${req.method} ${path}: the client aborted the request (${(err as Error)?.message ?? err})`);
        res.destroy();
      } else {
        this.hub.log.error('[HTTP]', `${req.method} ${path}: ${(err as Error)?.stack ?? err}`);
        sendJson(res, 500, { detail: 'Internal Server Error' });
      }
    } finally {
      this.metrics.http.inc({ route: routeName, status: status ?? String(res.statusCode) });
    }
  }

  /**
   * pooled-resource fault: a route holds one pooled connection while it runs; with none free
   * for faultPoolStallMs it fails with 500, as a backend whose database pool is exhausted.
   */
  private async pooled(): Promise<() => void> {
    const pool = this.hub.pool!;
    const release = await pool.acquire();
    if (release) return release;
    this.hub.log.debug('[HTTP]', `pooled-resource: no free connection after ${pool.stallMs} ms (${JSON.stringify(pool.state)})`);
    throw new HttpError(500, `QueuePool limit of size ${pool.size} overflow 0 reached, connection timed out, timeout ${pool.stallMs / 1000}`);
  }

  private async auth(c: Ctx): Promise<User> {
    const h = c.req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    const id = await this.tokens.verify(m?.[1]);
    const user = id === null ? undefined : this.hub.store.users.get(id);
    if (!user) throw UNAUTHORIZED();
    return user;
  }

  private id(c: Ctx, i = 0): number {
    const raw = c.params[i]!;
    if (!/^\d{1,15}$/.test(raw)) {
      throw new HttpError(422, [{ type: 'int_parsing', loc: ['path', 'id'], msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw }]);
    }
    return Number(raw);
  }

  private async register(c: Ctx) {
    const body = await readJson(c.req, this.hub.opts.maxBodyBytes);
    const v = new BodyCheck(body);
    const raw = v.str('username', { min: 1, max: 100 });
    const email = v.str('email', { min: 3, max: 254 });
    const password = v.str('password', { min: 1, max: 256 });
    if (email !== undefined) {
      const problem = emailProblem(email);
      if (problem) v.fail('email', 'value_error', problem, email);
    }
    v.done();
    const problem = usernameProblem(raw!);
    if (problem) throw new HttpError(400, problem);
    // café in NFC and in NFD is one user
    const username = raw!.normalize('NFC');
    const { store } = this.hub;
    if (store.userTaken(username, email!)) throw new HttpError(400, 'Username or email already registered');
    const hash = await hashPassword(password!, this.hub.opts.scryptCost);
    // a concurrent registration may have taken the name while we hashed
    if (store.userTaken(username, email!)) throw new HttpError(400, 'Username or email already registered');
    return userOut(asBadRequest(() => store.addUser(username, email!, hash)), false);
  }

  private async login(c: Ctx) {
    const form = await readForm(c.req, this.hub.opts.maxBodyBytes);
    const username = form.get('username');
    const password = form.get('password');
    const missing = (['username', 'password'] as const).filter((f) => !form.get(f));
    if (missing.length) throw new HttpError(422, missing.map((f) => ({ type: 'missing', loc: ['body', f], msg: 'Field required' })));
    const user = this.hub.store.userByName(username!.normalize('NFC'));
    if (!user || !(await verifyPassword(password!, user.passwordHash))) {
      throw new HttpError(401, 'Incorrect username or password', { 'www-authenticate': 'Bearer' });
    }
    return { access_token: await this.tokens.sign(user.id), token_type: 'bearer' };
  }

  private async createServer(c: Ctx) {
    const user = await this.auth(c);
    const v = new BodyCheck(await readJson(c.req, this.hub.opts.maxBodyBytes));
    const name = v.str('name', { min: 1, max: 100 });
    const description = v.str('description', { max: 1000, optional: true });
    v.done();
    return this.serverOut(this.hub.store.addServer(name!, description ?? null, user.id));
  }

  private serverOf(c: Ctx): Server {
    const s = this.hub.store.servers.get(this.id(c));
    if (!s) throw new HttpError(404, 'Channel not found');
    return s;
  }

  private async memberServer(c: Ctx): Promise<Server> {
    const user = await this.auth(c);
    const s = this.serverOf(c);
    if (!s.members.has(user.id)) throw new HttpError(403, 'Not a member of this channel');
    return s;
  }

  private async join(c: Ctx) {
    const user = await this.auth(c);
    const s = this.serverOf(c);
    if (s.members.has(user.id)) throw new HttpError(400, 'Already a member of this channel');
    asBadRequest(() => this.hub.store.addMember(s, user.id));
    return { detail: 'Successfully joined channel' };
  }

  private async createChannel(c: Ctx, kind: 'text' | 'voice') {
    const user = await this.auth(c);
    const s = this.serverOf(c);
    if (s.ownerId !== user.id) throw new HttpError(403, 'Only the owner can create channels');
    const v = new BodyCheck(await readJson(c.req, this.hub.opts.maxBodyBytes));
    const name = v.str('name', { min: 1, max: 100 });
    const channelId = v.int('channel_id', { min: 1 });
    const position = v.int('position', { min: 0, optional: true });
    const maxUsers = kind === 'voice' ? v.int('max_users', { min: 1, max: 99, optional: true }) : undefined;
    v.done();
    if (channelId !== s.id) throw new HttpError(400, `channel_id ${channelId} does not match the channel in the path (${s.id})`);
    if (kind === 'text') {
      const t = this.hub.store.addTextChannel(s, name!, position);
      return { id: t.id, name: t.name, channel_id: s.id, position: t.position, type: 'text' };
    }
    const vc = this.hub.store.addVoiceChannel(s, name!, position, maxUsers ?? 10);
    return { id: vc.id, name: vc.name, channel_id: s.id, position: vc.position, max_users: vc.maxUsers, type: 'voice' };
  }

  /** Users holding at least one open socket of any kind (the live set, not the registry). */
  private onlineUsers(): Set<number> {
    const ids = new Set<number>();
    for (const conn of this.hub.cm.live) ids.add(conn.userId);
    // stale-presence fault: presence is set on connect and never cleared
    if (this.hub.opts.faults.has('stale-presence')) for (const id of this.hub.cm.everOnline) ids.add(id);
    return ids;
  }

  private async members(c: Ctx) {
    const s = await this.memberServer(c);
    const online = this.onlineUsers();
    const out = [];
    for (const id of [...s.members].sort((a, b) => a - b)) {
      const u = this.hub.store.users.get(id);
      if (u) out.push(userOut(u, online.has(id)));
    }
    return out;
  }

  private async voiceMembers(c: Ctx) {
    const user = await this.auth(c);
    const vc = this.hub.store.voiceChannels.get(this.id(c));
    if (!vc) throw new HttpError(404, 'Voice channel not found');
    if (!this.hub.store.servers.get(vc.serverId)?.members.has(user.id)) throw new HttpError(403, 'Not a member of this channel');
    const seen = new Set<number>();
    const duplicates = this.hub.opts.faults.has('duplicate-member');
    const out = [];
    for (const m of this.hub.voice.members(vc.id)) {
      // duplicate-member fault: one row per socket, not per user
      if (seen.has(m.userId) && !duplicates) continue;
      seen.add(m.userId);
      out.push({ id: m.userId, user_id: m.userId, username: m.username, is_muted: m.isMuted, is_deafened: m.isDeafened });
    }
    return out;
  }

  private serverOut(s: Server) {
    const { store } = this.hub;
    const text = s.textChannels.map((id) => store.textChannels.get(id)!).sort((a, b) => a.position - b.position || a.id - b.id);
    const voice = s.voiceChannels.map((id) => store.voiceChannels.get(id)!).sort((a, b) => a.position - b.position || a.id - b.id);
    return {
      id: s.id,
      name: s.name,
      description: s.description,
      owner_id: s.ownerId,
      created_at: s.createdAt,
      type: 'server' as const,
      member_count: s.members.size,
      channels: [
        ...text.map((t) => ({ id: t.id, name: t.name, type: 'text' as const, position: t.position, channel_id: s.id })),
        ...voice.map((v) => ({ id: v.id, name: v.name, type: 'voice' as const, position: v.position, max_users: v.maxUsers, channel_id: s.id })),
      ],
    };
  }
}
