import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createReferenceServer, type ReferenceServer } from '../../src/server/index.js';
import { benchFetch, nodeFetch, FETCH_BLOCKED_PORTS } from '../../src/client/bench-fetch.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { isMbError } from '../../src/errors.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function plainServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close: () => Promise<void> }> {
  const s: Server = createServer(handler);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  let closed: Promise<void> | null = null;
  const close = () => (closed ??= new Promise<void>((r) => {
    s.close(() => r());
    s.closeAllConnections();
  }));
  cleanups.push(close);
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close };
}

/** The reference server on the first fetch-blocked port that 127.0.0.1 lets us bind, or null when all are taken. */
async function serverOnBlockedPort(): Promise<ReferenceServer | null> {
  for (const port of [6666, 6667, 6668, 6669, 6665, 6000]) {
    try {
      return await createReferenceServer({ port, host: '127.0.0.1' });
    } catch (err) {
      if (!isMbError(err) || err.code !== 'MB_ERR_SERVER_START') throw err;
    }
  }
  return null;
}

describe('benchFetch', () => {
  it('answers like fetch on the node:http path: status, headers, body, and a POST body', async () => {
    const { url } = await plainServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.writeHead(req.method === 'POST' ? 201 : 404, { 'content-type': 'application/json', 'x-seen': req.headers.authorization ?? '' });
        res.end(JSON.stringify({ method: req.method, body }));
      });
    });
    const r = await nodeFetch(new URL(url + '/x'), { method: 'POST', headers: { authorization: 'Bearer t' }, body: 'a=1' });
    expect(r.status).toBe(201);
    expect(r.ok).toBe(true);
    expect(r.headers.get('x-seen')).toBe('Bearer t');
    expect(await r.json()).toEqual({ method: 'POST', body: 'a=1' });
    const g = await nodeFetch(new URL(url + '/y'));
    expect(g.ok).toBe(false);
    expect(g.status).toBe(404);
  });

  it("rejects like fetch: the signal's reason on a timeout, TypeError with the socket error as cause when refused", async () => {
    const { url } = await plainServer(() => {}); // never answers
    const err = await nodeFetch(new URL(url), { signal: AbortSignal.timeout(100) }).catch((e: Error) => e);
    expect((err as Error).name).toBe('TimeoutError');
    // a port nothing listens on: bind one, close it, connect
    const gone = await plainServer(() => {});
    await gone.close();
    const refused = await nodeFetch(new URL(gone.url)).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect(((refused as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('fetch itself refuses the blocked ports (why the node:http path exists)', async () => {
    expect(FETCH_BLOCKED_PORTS.has(6666)).toBe(true);
    const err = await fetch('http://127.0.0.1:6666/').catch((e: Error) => e);
    expect(String((err as Error).cause ?? err)).toMatch(/bad port/i);
  });
});

describe('a target on a port fetch refuses', () => {
  it('runs a whole scenario against a reference server on such a port', async (t) => {
    const server = await serverOnBlockedPort();
    if (!server) {
      t.skip('ports 6665-6669 and 6000 are all taken on 127.0.0.1: no fetch-blocked port to bind');
      return;
    }
    cleanups.push(() => server.close());
    expect(FETCH_BLOCKED_PORTS.has(Number(new URL(server.url).port))).toBe(true);
    expect((await benchFetch(server.url + '/health')).status).toBe(200);
    const scenario = parseScenario({
      name: 'blocked-port',
      description: 'a target on a fetch-blocked port',
      seed: 1,
      users: 3,
      setup: { servers: 1, textChannels: 1, voiceChannels: 0 },
      settle: 500,
      phases: [{ type: 'connect', rampUp: 100 }, { type: 'chat', duration: 600, messagesPerUserPerSec: 3 }, { type: 'disconnect' }],
    });
    const report = await runScenario({ scenario, target: server.url });
    expect(report.abortReason).toBeNull();
    expect(report.status).toBe('completed');
    expect(report.counters['chat.delivered']).toBeGreaterThan(0);
    expect(report.histograms['http.login']!.count).toBe(3);
    expect(report.target.extStats).toBe(true);
    expect(report.findings).toEqual([]);
  });
});
