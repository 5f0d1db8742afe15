import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';

/**
 * Ports the fetch API (undici, Node's own) refuses to connect to, whatever the server: the
 * "bad ports" of the Fetch standard (https://fetch.spec.whatwg.org/#port-blocking).
 */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389,
  427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566,
  6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

export interface BenchFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** keep-alive, as undici's pool is: a bench makes thousands of calls to one origin */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** The port a URL connects to (its explicit port, else the scheme's default). */
function portOf(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/**
 * `fetch`, except that a URL on a port fetch refuses (6000, 6665-6669, ...) goes through
 * node:http(s) instead, so the bench can reach any port a user can name. The answer is a
 * standard Response either way (the node:http one with its body read in full), and the
 * errors are fetch's: the signal's reason on abort, a TypeError('fetch failed') whose
 * `cause` is the socket error otherwise.
 */
export function benchFetch(url: string, init: BenchFetchInit = {}): Promise<Response> {
  const u = new URL(url);
  if (!FETCH_BLOCKED_PORTS.has(portOf(u))) return fetch(url, init);
  return nodeFetch(u, init);
}

/** The node:http(s) path of benchFetch (exported for its test). */
export function nodeFetch(u: URL, init: BenchFetchInit = {}): Promise<Response> {
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const https = u.protocol === 'https:';
  const request = https ? httpsRequest : httpRequest;
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const req = request(u, { method: init.method ?? 'GET', headers, agent: https ? agents.https : agents.http });
    const onAbort = () => {
      req.destroy();
      finish(() => reject(signal!.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(() => reject(new TypeError('fetch failed', { cause: err }))));
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish(() => reject(new TypeError('fetch failed', { cause: err }))));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
        }
        // Response refuses statuses outside 200-599 (and a body on 204/304)
        const nullBody = status === 204 || status === 205 || status === 304;
        finish(() => {
          try {
            resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: h }));
          } catch (err) {
            reject(new TypeError('fetch failed', { cause: err }));
          }
        });
      });
    });
    req.end(init.body);
  });
}
