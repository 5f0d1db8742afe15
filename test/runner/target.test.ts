import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createTracer } from '../../src/trace/run-tracer.js';
import { loadScenario } from '../../src/scenario/load-scenario.js';
import { SERVE_OPTIONS } from '../../src/server/options.js';
import { bundledConfig, iceServersFor, openTarget, type TargetSpec } from '../../src/runner/target.js';
import { reapWindowOf } from '../../src/leak/leak-detector.js';
import type { UserIdentity } from '../../src/client/client-env.js';
import type { SocketRecord } from '../../src/client/ledger.js';
import { startServer } from '../server/helpers.js';

const scenario = loadScenario('smoke').scenario;

function spec(url: string, more: Partial<TargetSpec> = {}): TargetSpec {
  return { url, scenario, metrics: new Metrics(), tracer: createTracer(), log: silentLogger, signal: new AbortController().signal, onDied: () => {}, ...more };
}

/** An HTTP server on 127.0.0.1:0 answering every request with 404 (a deployment without the stats route). */
async function notFoundServer(): Promise<string> {
  const server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('openTarget', () => {
  it('an [ext] deployment: its config, the reap window it promises from that config, the env for its users', async () => {
    const s = await startServer({ heartbeatMs: 200, missedPongs: 1 });
    const t = await openTarget(spec(s.url, { expectReapMs: 99_999 }));
    onTestFinished(() => t.close());
    expect(t).toMatchObject({ url: s.url, bundled: false, extStats: true, config: { heartbeat_ms: 200, missed_pongs: 1 } });
    expect(t.assumedConfig).toEqual(t.config);
    // heartbeat × (missed + 1) + max(500, heartbeat / 2): the target's own config wins over --expect-reap-ms
    expect(t.reap).toEqual({ windowMs: 200 * 2 + 500, from: "the target's [ext] config" });
    const u = new URL(s.url);
    expect(t.env).toMatchObject({ httpUrl: `http://${u.host}`, wsUrl: `ws://${u.host}`, iceServers: null, loopbackOnly: true, heartbeatMs: scenario.heartbeat });
    expect(t.caps.notes).toEqual([]);
  });

  it('a deployment without a stats route: noted, no config, the reap window only from --expect-reap-ms', async () => {
    const url = await notFoundServer();
    const promised = await openTarget(spec(url, { expectReapMs: 4000 }));
    expect(promised).toMatchObject({ extStats: false, config: null, assumedConfig: undefined, reap: { windowMs: 4000, from: '--expect-reap-ms' } });
    expect(promised.caps.notes).toEqual(['the target has no usable /api/debug/websocket-stats: server-side counts and leak checks are limited']);
    const unknown = await openTarget(spec(url));
    expect(unknown.reap).toEqual({ windowMs: null, from: null });
  });

  it('an unreachable target throws MB_ERR_TARGET_UNREACHABLE', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    await expect(openTarget(spec(`http://127.0.0.1:${port}`))).rejects.toMatchObject({ code: 'MB_ERR_TARGET_UNREACHABLE' });
  });

  it("hands the users' events to every listener until it is removed, and to none once closed", async () => {
    const url = await notFoundServer();
    const t = await openTarget(spec(url));
    const a: string[] = [];
    const b: string[] = [];
    const removeA = t.listen({ onSocketClosed: (_u, rec) => a.push(rec.id) });
    t.listen({ onSocketClosed: (_u, rec) => b.push(rec.id), onWire: (e) => b.push(e.kind) });
    const user: UserIdentity = { index: 0, userId: 1, username: 'u0', token: 't' };
    t.env.events.onSocketClosed!(user, { id: 'c1' } as SocketRecord);
    removeA();
    t.env.events.onSocketClosed!(user, { id: 'c2' } as SocketRecord);
    t.env.events.onWire!({ kind: 'open', t: 0, user: 0, userId: 1, socket: 'v1', room: 1 });
    await t.close();
    t.env.events.onSocketClosed!(user, { id: 'c3' } as SocketRecord);
    expect(a).toEqual(['c1']);
    expect(b).toEqual(['c1', 'c2', 'open']);
  });
});

describe("the bundled server's promises", () => {
  it("come from the scenario's options over the server's own defaults", () => {
    expect(bundledConfig(scenario)).toEqual({
      heartbeat_ms: scenario.bundledServer.heartbeatMs ?? SERVE_OPTIONS.heartbeatMs.default,
      missed_pongs: scenario.bundledServer.missedPongs ?? SERVE_OPTIONS.missedPongs.default,
      max_per_user: scenario.bundledServer.maxPerUser ?? SERVE_OPTIONS.maxPerUser.default,
      max_total: scenario.bundledServer.maxTotal ?? SERVE_OPTIONS.maxTotal.default,
    });
    expect(bundledConfig({ ...scenario, bundledServer: { heartbeatMs: 1000, missedPongs: 3, maxPerUser: 5, maxTotal: 50 } })).toEqual({ heartbeat_ms: 1000, missed_pongs: 3, max_per_user: 5, max_total: 50 });
    expect(reapWindowOf(bundledConfig({ ...scenario, bundledServer: { heartbeatMs: 1000, missedPongs: 3 } }))).toBe(1000 * 4 + 500);
    expect(reapWindowOf({ heartbeat_ms: 4000 }, undefined, 10)).toBe(4000 * (SERVE_OPTIONS.missedPongs.default + 1) + 10);
    expect(reapWindowOf(null, 700)).toBe(700);
  });

  it('ICE servers: as given, else none for the bundled server and the server\'s own for a deployment', () => {
    expect(iceServersFor(undefined, true)).toEqual([]);
    expect(iceServersFor(undefined, false)).toBeNull();
    expect(iceServersFor([{ urls: 'stun:x' }], true)).toEqual([{ urls: 'stun:x' }]);
    expect(iceServersFor(null, true)).toBeNull();
  });
});
