import { once } from 'node:events';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import type { ReferenceServer } from '../../src/server/index.js';
import type { StatsResponse } from '../../src/protocol/messages.js';
import { valueUntil } from '../helpers/until.js';

/** Starts a server on port 0 and closes it when the test ends. */
export { startServer } from '../helpers/server.js';

export interface TestUser {
  id: number;
  username: string;
  token: string;
}

let seq = 0;
export async function signUp(s: Pick<ReferenceServer, 'url'>, name = `user${++seq}`): Promise<TestUser> {
  const r = await fetch(`${s.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, email: `${name}@example.com`, password: 'secret-pw' }),
  });
  if (r.status !== 200) throw new Error(`register ${r.status} ${await r.text()}`);
  const user = (await r.json()) as { id: number };
  const l = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: name, password: 'secret-pw' }) });
  const { access_token } = (await l.json()) as { access_token: string };
  return { id: user.id, username: name, token: access_token };
}

export function api(s: ReferenceServer, token?: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(s.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  return { get: (p: string) => call('GET', p), post: (p: string, b?: unknown) => call('POST', p, b) };
}

export interface World {
  owner: TestUser;
  serverId: number;
  textChannels: number[];
  voiceChannelId: number;
}

/** An owner with one server (general + General), optionally more text channels and members. */
export async function world(s: ReferenceServer, opts: { members?: TestUser[]; extraText?: number } = {}): Promise<World> {
  const owner = await signUp(s);
  const created = await api(s, owner.token).post('/api/channels/', { name: 'srv' });
  const serverId = created.body.id as number;
  for (let i = 0; i < (opts.extraText ?? 0); i++) {
    await api(s, owner.token).post(`/api/channels/${serverId}/text-channels`, { name: `t${i}`, channel_id: serverId });
  }
  for (const m of opts.members ?? []) await api(s, m.token).post(`/api/channels/${serverId}/join`);
  const full = await api(s, owner.token).get(`/api/channels/${serverId}`);
  const chans = full.body.channels as Array<{ id: number; type: string }>;
  return {
    owner,
    serverId,
    textChannels: chans.filter((c) => c.type === 'text').map((c) => c.id),
    voiceChannelId: chans.find((c) => c.type === 'voice')!.id,
  };
}

type Msg = { type: string; [k: string]: unknown };

/** A ws client that queues JSON frames so a test can await the next one matching a predicate. */
export class TestSocket {
  readonly ws: WebSocket;
  readonly received: Msg[] = [];
  private waiters: Array<{ pred: (m: Msg) => boolean; resolve: (m: Msg) => void }> = [];
  closed: Promise<{ code: number; reason: string }>;
  /** performance.now() at open and close, for timing bounds */
  openedAt = 0;
  closedAt = 0;

  constructor(url: string, opts: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, opts);
    this.ws.on('error', () => {});
    this.ws.once('open', () => (this.openedAt = performance.now()));
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => {
        this.closedAt = performance.now();
        resolve({ code, reason: reason.toString() });
      }),
    );
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(data.toString()) as Msg;
      const i = this.waiters.findIndex((w) => w.pred(m));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
      else this.received.push(m);
    });
    onTestFinished(() => this.close());
  }

  async opened(): Promise<this> {
    if (this.ws.readyState !== WebSocket.OPEN) await once(this.ws, 'open');
    return this;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** The first queued or next frame matching `pred` (a type name or a function). */
  next(pred: string | ((m: Msg) => boolean)): Promise<Msg> {
    const p = typeof pred === 'string' ? (m: Msg) => m.type === pred : pred;
    const i = this.received.findIndex(p);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]!);
    return new Promise((resolve) => this.waiters.push({ pred: p, resolve }));
  }

  has(type: string): boolean {
    return this.received.some((m) => m.type === type);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close();
    await this.closed;
  }
}

export function connect(s: Pick<ReferenceServer, 'wsUrl'>, path: string, token: string, opts: WebSocket.ClientOptions = {}): Promise<TestSocket> {
  return new TestSocket(`${s.wsUrl}${path}?token=${encodeURIComponent(token)}`, opts).opened();
}

/** Polls the server's stats until `pred` holds (server-side state has no event to await). */
export function statsUntil(s: ReferenceServer, pred: (st: StatsResponse) => boolean, timeoutMs = 10_000): Promise<StatsResponse> {
  return valueUntil(() => s.stats(), pred, { what: 'the server stats to match', timeoutMs, detail: (st) => JSON.stringify({ ...st, process: undefined }) });
}

export async function statsHttp(s: ReferenceServer): Promise<StatsResponse> {
  return (await fetch(`${s.url}/api/debug/websocket-stats`)).json() as Promise<StatsResponse>;
}

/** Every count back to zero and the counters consistent. */
export function allClosed(st: StatsResponse): boolean {
  return (
    st.total_connections === 0 &&
    (st.connections?.length ?? 0) === 0 &&
    Object.keys(st.voice_rooms ?? {}).length === 0 &&
    st.counters!.connections_opened === st.counters!.connections_closed
  );
}
