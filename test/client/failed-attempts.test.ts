import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import http from 'node:http';
import { ManagedSocket, type SocketOwner } from '../../src/client/managed-socket.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../../src/client/wire-socket.js';
import { DEFAULT_HTTP_TIMEOUT_MS, HttpClient } from '../../src/client/http-client.js';
import { Capabilities } from '../../src/client/capabilities.js';
import { UserLedger } from '../../src/client/ledger.js';
import { silentLogger } from '../../src/log.js';
import type { ClientEnv } from '../../src/client/client-env.js';
import { testEnv } from './test-env.js';

// Failures are measured, not dropped: an attempt that is refused, stalls or fails is a sample
// of its histogram with its time and outcome, and refusals are counted by kind.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A TCP server that accepts and never answers (a stalled upgrade or request); or answers with `answer`. */
async function listen(answer?: (sock: net.Socket, head: string) => void): Promise<number> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => {});
    let head = '';
    s.on('data', (d) => {
      head += d.toString('latin1');
      if (answer && head.includes('\r\n\r\n')) answer(s, head);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

function socketOf(env: ClientEnv): { sock: ManagedSocket; ledger: UserLedger } {
  const ledger = new UserLedger(0, 'u0');
  const owner: SocketOwner = { env, ledger, caps: new Capabilities(silentLogger), identity: { index: 0, userId: 1, username: 'u0', token: 't' }, random: () => 0.5 };
  const sock = new ManagedSocket(owner, 'chat', '/ws/chat/1', 1, { onFrame: () => {} }, false);
  cleanups.push(() => sock.close());
  return { sock, ledger };
}

describe('failed attempts are samples', () => {
  it('defaults wait longer than a stalling server (30 s)', () => {
    expect(DEFAULT_HANDSHAKE_TIMEOUT_MS).toBe(60_000);
    expect(DEFAULT_HTTP_TIMEOUT_MS).toBe(60_000);
  });

  it('a stalled upgrade times out (the env timeout) and is a timed-out sample of ws.connect.<kind>', async () => {
    const port = await listen();
    const env = { ...testEnv(`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`), handshakeTimeoutMs: 150 };
    const { sock } = socketOf(env);
    expect(await sock.open()).toBeNull();
    expect(env.metrics.get('ws.attempts.chat.timed-out')).toBe(1);
    expect(env.metrics.get('errors.ws.connect')).toBe(1);
    const h = env.metrics.histograms.get('ws.connect.chat.timed-out');
    expect(h?.count).toBe(1);
    expect(env.metrics.histograms.get('ws.connect.chat')?.count).toBe(1);
    expect(h!.summary().max).toBeGreaterThanOrEqual(140);
  });

  it('an upgrade refused with 403 is counted under refusals.<kind>.403 and refusals.403, and sampled', async () => {
    const port = await listen((s) => s.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{"detail":"room is full!!"}'));
    const env = testEnv(`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`);
    const { sock, ledger } = socketOf(env);
    expect(await sock.open()).toBeNull();
    expect(env.metrics.get('refusals.chat.403')).toBe(1);
    expect(env.metrics.get('refusals.403')).toBe(1);
    expect(env.metrics.get('ws.attempts.chat.refused')).toBe(1);
    expect(env.metrics.histograms.get('ws.connect.chat.refused')?.count).toBe(1);
    expect([...ledger.sockets.values()][0]!.state).toBe('refused');
  });

  it('an HTTP call that stalls times out and is a timed-out sample of its histogram', async () => {
    const port = await listen();
    const env = { ...testEnv(`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`), httpTimeoutMs: 150 };
    await expect(new HttpClient(env).login('a', 'b')).rejects.toThrow();
    expect(env.metrics.histograms.get('http.login')?.count).toBe(1);
    expect(env.metrics.histograms.get('http.login.timed-out')?.count).toBe(1);
    expect(env.metrics.get('http.login.attempts.timed-out')).toBe(1);
    expect(env.metrics.get('errors.http.timeout')).toBe(1);
  });

  it('an HTTP 500 answer is an error sample of its histogram, with its time', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"detail":"pool exhausted"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const env = testEnv(`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`);
    await expect(new HttpClient(env).login('a', 'b')).rejects.toThrow(/500/);
    expect(env.metrics.histograms.get('http.login')?.count).toBe(1);
    expect(env.metrics.histograms.get('http.login.error')?.count).toBe(1);
    expect(env.metrics.get('errors.http.500')).toBe(1);
  });
});
