import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { FaultPool } from '../../src/server/fault-pool.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { connect, signUp, startServer, statsUntil, type TestUser } from './helpers.js';
import { valueUntil } from '../helpers/until.js';

/** The HTTP answer to a notifications upgrade: 101 when accepted (left open), else the status and {detail}. */
function upgrade(s: ReferenceServer, token: string): Promise<{ status: number; detail?: string; ws: WebSocket }> {
  const ws = new WebSocket(`${s.wsUrl}/ws/notifications?token=${encodeURIComponent(token)}`);
  onTestFinished(() => ws.terminate());
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.once('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, detail: body ? (JSON.parse(body) as { detail: string }).detail : undefined, ws });
      });
    });
    // the server went away mid-stall
    ws.once('close', () => resolve({ status: 0, ws }));
  });
}

async function login(s: ReferenceServer, u: TestUser): Promise<{ status: number; detail?: string }> {
  try {
    const r = await fetch(`${s.url}/api/auth/login`, { method: 'POST', body: new URLSearchParams({ username: u.username, password: 'secret-pw' }) });
    const body = (await r.json()) as { detail?: string };
    return { status: r.status, detail: body.detail };
  } catch {
    return { status: 0 };
  }
}

describe('FaultPool', () => {
  it('hands out size connections, then makes acquirers wait first come first served, and gives up after stallMs', async () => {
    const pool = new FaultPool(2, 60_000);
    const a = (await pool.acquire())!;
    const b = (await pool.acquire())!;
    expect(pool.state).toEqual({ size: 2, in_use: 2, waiting: 0 });
    const order: string[] = [];
    const w1 = pool.acquire().then((r) => (order.push('w1'), r));
    const w2 = pool.acquire().then((r) => (order.push('w2'), r));
    expect(pool.state.waiting).toBe(2);
    a();
    a(); // idempotent: the second call frees nothing
    const r1 = (await w1)!;
    expect(order).toEqual(['w1']);
    expect(pool.state).toEqual({ size: 2, in_use: 2, waiting: 1 });
    b();
    await w2;
    expect(order).toEqual(['w1', 'w2']);
    r1();
    expect(pool.state).toEqual({ size: 2, in_use: 1, waiting: 0 });

    const short = new FaultPool(1, 30);
    const held = (await short.acquire())!;
    expect(await short.acquire()).toBeNull();
    held();
    expect(short.state.in_use).toBe(0);
  });

  it('close() fails the waiters at once and every later acquire', async () => {
    const pool = new FaultPool(1, 60_000);
    await pool.acquire();
    const waiting = pool.acquire();
    pool.close();
    expect(await waiting).toBeNull();
    expect(await pool.acquire()).toBeNull();
    expect(pool.state.waiting).toBe(0);
  });
});

describe('pooled-resource fault', () => {
  it('refuses the upgrade with 403 and fails login with 500, naming the pool, after the stall', async () => {
    const s = await startServer({ faults: ['pooled-resource'], faultPoolSize: 1, faultPoolStallMs: 300 });
    const u = await signUp(s);
    await connect(s, '/ws/notifications', u.token);
    const started = performance.now();
    const [up, l] = await Promise.all([upgrade(s, u.token), login(s, u)]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(up).toMatchObject({ status: 403, detail: 'QueuePool limit of size 1 overflow 0 reached, connection timed out' });
    expect(l).toEqual({ status: 500, detail: 'QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 0.3' });
    expect((await s.stats()).counters!.rejected).toBe(1);
  });

  it('recovers when a socket closes: a waiting request and a waiting upgrade get the freed connections', async () => {
    // a stall far longer than the test: only a freed connection can answer them in time
    const s = await startServer({ faults: ['pooled-resource'], faultPoolSize: 2, faultPoolStallMs: 60_000 });
    const u = await signUp(s);
    const n1 = await connect(s, '/ws/notifications', u.token);
    const n2 = await connect(s, '/ws/notifications', u.token);
    // queued in this order: the first connection freed goes to the login
    const waitingLogin = login(s, u);
    await poolUntil(s, (p) => p.waiting === 1);
    const waitingUpgrade = upgrade(s, u.token);
    await poolUntil(s, (p) => p.in_use === 2 && p.waiting === 2);
    await n1.close();
    expect((await waitingLogin).status).toBe(200);
    await n2.close();
    expect((await waitingUpgrade).status).toBe(101);
    // the request gave its connection back, the upgraded socket holds the other
    expect((await login(s, u)).status).toBe(200);
    await poolUntil(s, (p) => p.in_use === 1 && p.waiting === 0);
    await statsUntil(s, (st) => st.connections!.length === 1);
  });

  it('server close interrupts a stalled upgrade and request instead of waiting the stall out', async () => {
    const s = await startServer({ faults: ['pooled-resource'], faultPoolSize: 1, faultPoolStallMs: 60_000 });
    const u = await signUp(s);
    await connect(s, '/ws/notifications', u.token);
    const stalledUpgrade = upgrade(s, u.token);
    const stalledLogin = login(s, u);
    await poolUntil(s, (p) => p.waiting === 2);
    const started = performance.now();
    await s.close();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect([0, 503]).toContain((await stalledUpgrade).status);
    expect([0, 500]).toContain((await stalledLogin).status);
  });

  it('without the fault, any number of notifications sockets leaves login alone', async () => {
    const s = await startServer({ maxPerUser: 20 });
    const u = await signUp(s);
    for (let i = 0; i < 16; i++) await connect(s, '/ws/notifications', u.token);
    expect((await login(s, u)).status).toBe(200);
  });
});

/** Polls the stats' fault_pool until `pred` holds (waiting for a connection has no event to await). */
async function poolUntil(s: ReferenceServer, pred: (p: { size: number; in_use: number; waiting: number }) => boolean): Promise<void> {
  await valueUntil(async () => (await s.stats()).fault_pool!, pred, { what: 'the fault_pool to match' });
}
