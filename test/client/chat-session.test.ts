import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { Capabilities } from '../../src/client/capabilities.js';
import { ChatSession, type ChatOwner } from '../../src/client/chat-session.js';
import { DeliveryTracker } from '../../src/client/delivery-tracker.js';
import { UserLedger } from '../../src/client/ledger.js';
import { silentLogger } from '../../src/log.js';
import { testEnv } from './test-env.js';
import { conditions } from '../helpers/until.js';

/** A chat endpoint that records every frame its sockets receive. */
async function chatServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  onTestFinished(() => new Promise<void>((r) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => r()))));
  const frames: string[] = [];
  const { changed, until } = conditions();
  wss.on('connection', (ws) => ws.on('message', (d) => (frames.push(String(d)), changed())));
  const port = (wss.address() as AddressInfo).port;
  return { http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, frames, until: (pred: (f: string[]) => boolean) => until(() => pred(frames)) };
}

function owner(http: string, ws: string, heartbeatMs: number): ChatOwner {
  const env = testEnv(http, ws, { heartbeatMs });
  return {
    env,
    ledger: new UserLedger(0, 'u0'),
    caps: new Capabilities(silentLogger),
    identity: { index: 0, userId: 1, username: 'u0', token: 't' },
    tracker: new DeliveryTracker(env.metrics),
    random: Math.random,
  };
}

describe('ChatSession heartbeat (what Miscord\'s front end sends every 30 s)', () => {
  it('sends {type:"heartbeat"} on the open socket every heartbeatMs, and stops its one timer on close', async () => {
    const s = await chatServer();
    const o = owner(s.http, s.ws, 20);
    const chat = new ChatSession(o, 1, 1);
    expect(await chat.open()).toBe(true);
    await s.until((f) => f.filter((x) => x === '{"type":"heartbeat"}').length >= 3);
    expect(o.env.metrics.counters.get('chat.heartbeats')).toBeGreaterThanOrEqual(3);
    expect(o.ledger.resources.timer).toEqual({ created: 1, released: 0 });
    await chat.close();
    expect(o.ledger.resources.timer).toEqual({ created: 1, released: 1 });
  });

  it('sends none and holds no timer when heartbeatMs is 0', async () => {
    const s = await chatServer();
    const o = owner(s.http, s.ws, 0);
    const chat = new ChatSession(o, 1, 1);
    expect(await chat.open()).toBe(true);
    expect(chat.sendMessage(Date.now())).toBe(true);
    await s.until((f) => f.length === 1);
    await chat.close();
    expect(s.frames.some((f) => f.includes('heartbeat'))).toBe(false);
    expect(o.ledger.resources.timer).toEqual({ created: 0, released: 0 });
  });
});
