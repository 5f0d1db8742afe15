import { once } from 'node:events';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { UserLedger, type SocketRecord } from '../../src/client/ledger.js';
import { clock } from '../../src/clock.js';
import { fetchStats } from '../../src/client/fetch-stats.js';
import type { StatsReading } from '../../src/protocol/stats-reading.js';
import { MemoryTracer } from '../../src/trace/tracer.js';
import { createLeakDetector, type LeakDetectorOptions } from '../../src/leak/leak-detector.js';
import type { LeakDetector, LeakUserView } from '../../src/leak/types.js';
import type { SocketKind } from '../../src/protocol/messages.js';
import type { ReferenceServer, ReferenceServerOptions } from '../../src/server/index.js';
import { signUp, startServer, world, type TestUser, type World } from '../server/helpers.js';

/**
 * A tiny stand-in for the runner's simulated users: plain ws sockets kept in a real
 * ledger, every close reported to the detector, every event traced. Enough to drive each
 * fault of the reference server on purpose and watch the detector name it.
 */
export class SimUser {
  readonly ledger: UserLedger;
  private readonly ws = new Map<string, WebSocket>();

  constructor(
    readonly index: number,
    readonly identity: TestUser,
    private readonly h: Harness,
  ) {
    this.ledger = new UserLedger(index, identity.username);
    this.ledger.userId = identity.id;
  }

  private path(kind: SocketKind, channelId: number | null): string {
    return kind === 'chat' ? `/ws/chat/${channelId}` : kind === 'voice' ? `/ws/voice/${channelId}` : '/ws/notifications';
  }

  async open(kind: SocketKind, channelId: number | null = kind === 'chat' ? this.h.world.serverId : kind === 'voice' ? this.h.world.voiceChannelId : null): Promise<SocketRecord> {
    const rec = this.ledger.socketOpening(kind, kind === 'notifications' ? null : channelId);
    const ws = new WebSocket(`${this.h.server.wsUrl}${this.path(kind, channelId)}?token=${encodeURIComponent(this.identity.token)}`);
    ws.on('error', () => {});
    this.ws.set(rec.id, ws);
    onTestFinished(() => void ws.terminate());
    this.h.tracer.emit({ ev: 'socket.opening', user: this.index, socket: rec.id, kind });
    ws.once('close', (code, reason) => {
      const by = rec.state === 'closing' ? 'client' : 'server';
      this.ledger.socketClosed(rec, { code, reason: reason.toString(), by });
      this.h.tracer.emit({ ev: 'socket.close', user: this.index, socket: rec.id, kind, code, by });
      this.h.detector.onSocketClosed(this.index, this.identity.id, rec, this.ledger);
    });
    await once(ws, 'open');
    this.ledger.socketOpened(rec);
    this.h.tracer.emit({ ev: 'socket.open', user: this.index, socket: rec.id, kind });
    return rec;
  }

  socket(rec: SocketRecord): WebSocket {
    return this.ws.get(rec.id)!;
  }

  /** A clean client close, awaited. */
  async close(rec: SocketRecord): Promise<void> {
    const ws = this.socket(rec);
    if (ws.readyState === WebSocket.CLOSED) return;
    this.ledger.socketClosing(rec);
    this.h.tracer.emit({ ev: 'socket.closing', user: this.index, socket: rec.id, kind: rec.kind });
    const closed = once(ws, 'close');
    ws.close(1000);
    await closed;
  }

  /** Dies without a close frame (the server sees 1006). */
  async kill(rec: SocketRecord): Promise<void> {
    const ws = this.socket(rec);
    this.ledger.socketClosing(rec);
    const closed = once(ws, 'close');
    ws.terminate();
    await closed;
  }

  /** Stops answering pings without closing; resolves when the server drops it (if it does). */
  freeze(rec: SocketRecord): Promise<unknown> {
    const ws = this.socket(rec);
    rec.frozen = true;
    rec.frozenAt = clock.now();
    (ws as unknown as { _autoPong: boolean })._autoPong = false;
    this.h.tracer.emit({ ev: 'socket.freeze', user: this.index, socket: rec.id });
    return ws.readyState === WebSocket.CLOSED ? Promise.resolve() : once(ws, 'close');
  }

  /** The leaky switch: a new socket, the old one forgotten but never closed. */
  async leakySwitch(old: SocketRecord): Promise<SocketRecord> {
    old.abandoned = true;
    return this.open(old.kind, old.channelId);
  }

  async leave(): Promise<void> {
    await Promise.all(this.ledger.openSockets().map((r) => this.close(r)));
  }

  view(): LeakUserView {
    return { ledger: this.ledger, token: this.identity.token };
  }
}

export interface Harness {
  server: ReferenceServer;
  world: World;
  users: SimUser[];
  tracer: MemoryTracer;
  detector: LeakDetector;
  views(): LeakUserView[];
  checkpoint(name: string, opts?: { final?: boolean; cycle?: number }): ReturnType<LeakDetector['checkpoint']>;
  /** every user leaves, then the final checkpoint */
  finish(): ReturnType<LeakDetector['checkpoint']>;
}

export interface HarnessOptions {
  users?: number;
  server?: ReferenceServerOptions;
  detector?: Partial<LeakDetectorOptions>;
  /** rewrites every stats reading the detector gets (a server that lies, or lacks [ext]) */
  rewrite?: (r: StatsReading) => StatsReading;
  /** runs before the detector reads its baseline (real users already online) */
  beforeStart?: (h: Harness) => Promise<void>;
}

export async function harness(o: HarnessOptions = {}): Promise<Harness> {
  const server = await startServer({ heartbeatMs: 500, missedPongs: 2, maxPerUser: 10, ...o.server });
  const identities: TestUser[] = [];
  for (let i = 0; i < (o.users ?? 2); i++) identities.push(await signUp(server));
  const w = await world(server, { members: identities });
  const tracer = new MemoryTracer();
  const h = { server, world: w, tracer, users: [] as SimUser[] } as unknown as Harness;
  const rewrite = o.rewrite;
  h.detector = createLeakDetector({
    httpUrl: server.url,
    settleMs: 800,
    pollMs: 25,
    tracer,
    ...(rewrite ? { fetchStats: async (signal?: AbortSignal) => rewrite(await fetchStats(server.url, { signal })) } : {}),
    ...o.detector,
  });
  onTestFinished(() => h.detector.close());
  h.users = identities.map((id, i) => new SimUser(i, id, h));
  h.views = () => h.users.map((u) => u.view());
  h.checkpoint = (name, opts) => h.detector.checkpoint(name, h.views(), opts);
  h.finish = async () => {
    await Promise.all(h.users.map((u) => u.leave()));
    return h.checkpoint('final', { final: true });
  };
  await o.beforeStart?.(h);
  await h.detector.start();
  return h;
}

export const classesOf = (d: LeakDetector) => [...new Set(d.findings().map((f) => f.class))].sort();
