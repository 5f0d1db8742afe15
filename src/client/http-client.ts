import { ROUTES, errorDetail, type ServerOut, type TokenOut, type UserOut, type TextChannelOut, type VoiceChannelOut } from '../protocol/messages.js';
import { MbError } from '../errors.js';
import { clock } from '../clock.js';
import type { ClientEnv } from './client-env.js';
import { benchFetch } from './bench-fetch.js';

/**
 * A request's signal: aborted with the reason of the first of `parents` to abort or, after
 * `ms`, with a TimeoutError (as AbortSignal.timeout). `AbortSignal.any([parent, …])` would do,
 * but Node 20 keeps a WeakRef in a long-lived parent for every signal made so and never prunes
 * them (about 60 bytes of heap per request, for the whole run: issue 18). This links through
 * listeners that `dispose()` removes once the request is over, with the timer.
 */
export function timedSignal(parents: ReadonlyArray<AbortSignal | undefined>, ms = Infinity): { signal: AbortSignal; dispose(): void } {
  const c = new AbortController();
  const linked = parents.filter((p): p is AbortSignal => p !== undefined);
  const onAbort = (e: Event) => c.abort((e.target as AbortSignal).reason);
  for (const p of linked) {
    if (p.aborted) c.abort(p.reason);
    else p.addEventListener('abort', onAbort, { once: true });
  }
  const timer = Number.isFinite(ms) ? clock.setTimeout(() => c.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms) : undefined;
  timer?.unref?.();
  return {
    signal: c.signal,
    dispose: () => {
      clock.clearTimeout(timer);
      for (const p of linked) p.removeEventListener('abort', onAbort);
    },
  };
}

/** Longer than a server's own stall (a pool exhausted answers after 30 s), so its answer is measured, not our timeout. */
export const DEFAULT_HTTP_TIMEOUT_MS = 60_000;

/** An HTTP answer outside 2xx, with its status and Miscord's `detail`. */
export class HttpStatusError extends MbError {
  constructor(
    readonly status: number,
    readonly route: string,
    readonly detail: string,
  ) {
    super('MB_ERR_PROTOCOL', `${route} answered HTTP ${status}${detail ? `: ${detail}` : ''}`, { status, route });
  }
}

export interface HttpCallOptions {
  token?: string;
  json?: unknown;
  form?: Record<string, string>;
  /** histogram to record the latency in (ms, from `startedAt`) */
  histogram?: string;
  /** intended start (clock.now()); defaults to now, so a late start counts against latency */
  startedAt?: number;
  /** trace subject */
  user?: number;
  /** statuses that are an answer the caller expects (already a member, already registered): thrown as usual, counted as `http.expected.<status>`, not as errors */
  expected?: readonly number[];
}

/**
 * The Miscord REST API as the bench uses it. Every call is traced (`http`) and counted
 * (`errors.http.<status>` on failure); network failures become MB_ERR_TARGET_UNREACHABLE.
 */
export class HttpClient {
  constructor(private readonly env: ClientEnv) {}

  async call<T>(method: string, route: string, opts: HttpCallOptions = {}): Promise<T> {
    const { env } = this;
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    }
    const start = opts.startedAt ?? clock.now();
    env.metrics.inc('http.calls');
    // the request's own signal: the run's, and its timeout; disposed, it leaves nothing on the run's
    const req = timedSignal([env.signal], env.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS);
    try {
      return await this.attempt<T>(method, route, opts, headers, body, start, req.signal);
    } finally {
      req.dispose();
    }
  }

  private async attempt<T>(method: string, route: string, opts: HttpCallOptions, headers: Record<string, string>, body: string | undefined, start: number, signal: AbortSignal): Promise<T> {
    const { env } = this;
    let res: Response;
    // every attempt is a sample: its time in the histogram (and `<histogram>.<outcome>` when it failed)
    const sample = (outcome: 'ok' | 'refused' | 'timed-out' | 'error', ms: number) => {
      if (!opts.histogram) return;
      env.metrics.record(opts.histogram, ms);
      if (outcome !== 'ok') env.metrics.record(`${opts.histogram}.${outcome}`, ms);
      env.metrics.inc(`${opts.histogram}.attempts.${outcome}`);
    };
    try {
      res = await benchFetch(env.httpUrl + route, { method, headers, body, signal });
    } catch (err) {
      const timedOut = !env.signal.aborted && (err as Error).name === 'TimeoutError';
      if (!env.signal.aborted) sample(timedOut ? 'timed-out' : 'error', clock.now() - start);
      env.metrics.inc(timedOut ? 'errors.http.timeout' : 'errors.http.network');
      env.tracer.emit({ ev: 'http', user: opts.user, method, route, status: 0, error: String((err as Error).cause ?? (err as Error).message) });
      if (env.signal.aborted) throw env.signal.reason;
      throw new MbError('MB_ERR_TARGET_UNREACHABLE', `${method} ${env.httpUrl}${route} failed: ${(err as Error).cause ?? (err as Error).message}`, undefined, { cause: err });
    }
    const text = await res.text().catch(() => '');
    const ms = clock.now() - start;
    env.tracer.emit({ ev: 'http', user: opts.user, method, route, status: res.status, ms: Math.round(ms * 1000) / 1000 });
    if (!res.ok) {
      if (opts.expected?.includes(res.status)) {
        sample('refused', ms);
        env.metrics.inc(`http.expected.${res.status}`);
        throw new HttpStatusError(res.status, `${method} ${route}`, errorDetail(text) ?? text.slice(0, 200));
      }
      sample(res.status >= 500 ? 'error' : 'refused', ms);
      env.metrics.inc(`errors.http.${res.status}`);
      throw new HttpStatusError(res.status, `${method} ${route}`, errorDetail(text) ?? text.slice(0, 200));
    }
    sample('ok', ms);
    try {
      return (text ? JSON.parse(text) : null) as T;
    } catch {
      throw new MbError('MB_ERR_PROTOCOL', `${method} ${route} did not answer JSON`);
    }
  }

  /** `record: false` keeps set-up calls (the world's owner) out of the latency histograms */
  register(username: string, password: string, o: { user?: number; startedAt?: number; record?: boolean } = {}): Promise<UserOut> {
    return this.call('POST', ROUTES.register, { json: { username, email: `${username}@example.com`, password }, histogram: o.record === false ? undefined : 'http.register', user: o.user, startedAt: o.startedAt, expected: [400] });
  }

  login(username: string, password: string, o: { user?: number; startedAt?: number; record?: boolean } = {}): Promise<TokenOut> {
    return this.call('POST', ROUTES.login, { form: { username, password }, histogram: o.record === false ? undefined : 'http.login', user: o.user, startedAt: o.startedAt });
  }

  me(token: string, user?: number): Promise<UserOut> {
    return this.call('GET', ROUTES.me, { token, user });
  }

  createServer(token: string, name: string, user?: number): Promise<ServerOut> {
    return this.call('POST', ROUTES.servers, { token, json: { name, description: 'miscord-bench' }, user });
  }

  /** the caller's servers */
  listServers(token: string, user?: number): Promise<ServerOut[]> {
    return this.call('GET', ROUTES.servers, { token, user });
  }

  getServer(token: string, id: number, user?: number): Promise<ServerOut> {
    return this.call('GET', ROUTES.server(id), { token, user });
  }

  joinServer(token: string, id: number, user?: number): Promise<unknown> {
    // 400: already a member (the world's owner, a returning user): an expected answer, not an error
    return this.call('POST', ROUTES.joinServer(id), { token, user, expected: [400] });
  }

  createTextChannel(token: string, serverId: number, name: string, position: number, user?: number): Promise<TextChannelOut> {
    return this.call('POST', ROUTES.textChannels(serverId), { token, json: { name, channel_id: serverId, position }, user });
  }

  createVoiceChannel(token: string, serverId: number, name: string, position: number, maxUsers: number, user?: number): Promise<VoiceChannelOut> {
    return this.call('POST', ROUTES.voiceChannels(serverId), { token, json: { name, channel_id: serverId, position, max_users: maxUsers }, user });
  }
}

/** The `sub` claim of a JWT (the user id), without verifying it: the server does that. */
export function userIdOfToken(token: string): number | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub?: unknown };
    const id = Number(payload.sub);
    return Number.isInteger(id) ? id : null;
  } catch {
    return null;
  }
}
