import { afterAll, beforeAll } from 'vitest';
import { createReferenceServer, type ReferenceServer } from '../../../src/server/index.js';
import { HttpClient } from '../../../src/client/http-client.js';
import { UserLedger } from '../../../src/client/ledger.js';
import type { ClientEnv, UserIdentity } from '../../../src/client/client-env.js';
import type { Metrics } from '../../../src/metrics/metrics.js';
import { testEnv } from '../test-env.js';
import type { ReferenceServerOptions } from '../../../src/server/options.js';
import { VoiceSession, type VoiceSessionOptions } from '../../../src/client/voice/voice-session.js';

/** A reference server on 127.0.0.1:0, an env that relays loopback candidates only, and users in one server. */
export interface VoiceFixture {
  server: ReferenceServer;
  env: ClientEnv;
  metrics: Metrics;
  http: HttpClient;
  serverId: number;
  voiceChannelId: number;
  owner: UserIdentity;
  users: Array<{ identity: UserIdentity; ledger: UserLedger }>;
  /** register + login + join the world's server */
  addUser(): Promise<{ identity: UserIdentity; ledger: UserLedger }>;
  /** a session of this user in the fixture's voice room (no stats timer); close() leaves it */
  session(u: { identity: UserIdentity; ledger: UserLedger }, extra?: Partial<VoiceSessionOptions>): VoiceSession;
  /** leaves every session made by `session`, then stops the server */
  close(): Promise<void>;
}

let seq = 0;

export async function voiceFixture(userCount: number, serverOptions: ReferenceServerOptions = {}): Promise<VoiceFixture> {
  const server = await createReferenceServer({ port: 0, ...serverOptions });
  const abort = new AbortController();
  const env = testEnv(server.url, server.wsUrl, { signal: abort.signal });
  const metrics = env.metrics;
  const http = new HttpClient(env);
  const login = async (index: number): Promise<UserIdentity> => {
    const username = `vt${process.pid}x${++seq}`;
    const u = await http.register(username, 'pw-voice-test');
    const t = await http.login(username, 'pw-voice-test');
    return { index, userId: u.id, username, token: t.access_token };
  };
  const owner = await login(999);
  const srv = await http.createServer(owner.token, 'voice-test');
  const full = await http.getServer(owner.token, srv.id);
  const voiceChannelId = full.channels!.find((c) => c.type === 'voice')!.id;
  const users: VoiceFixture['users'] = [];
  const addUser = async () => {
    const identity = await login(users.length);
    await http.joinServer(identity.token, srv.id);
    const entry = { identity, ledger: new UserLedger(identity.index, identity.username) };
    entry.ledger.userId = identity.userId;
    users.push(entry);
    return entry;
  };
  for (let i = 0; i < userCount; i++) await addUser();
  const sessions: VoiceSession[] = [];
  return {
    server,
    env,
    metrics,
    http,
    serverId: srv.id,
    voiceChannelId,
    owner,
    users,
    addUser,
    session: (u, extra = {}) => {
      const s = new VoiceSession({ env, identity: u.identity, ledger: u.ledger, roomId: voiceChannelId, statsIntervalMs: 0, ...extra });
      sessions.push(s);
      return s;
    },
    close: async () => {
      await Promise.all(sessions.map((s) => s.leave({ finalStats: false })));
      abort.abort();
      await server.close();
    },
  };
}

/**
 * A fixture for the enclosing describe: made in beforeAll, closed (every session left, the
 * server stopped) in afterAll. Its fields are there from the first hook or test on.
 */
export function useVoiceFixture(userCount: number, serverOptions: ReferenceServerOptions = {}): VoiceFixture {
  const fx = {} as VoiceFixture;
  let made: VoiceFixture | undefined;
  beforeAll(async () => {
    made = await voiceFixture(userCount, serverOptions);
    Object.assign(fx, made);
  });
  afterAll(async () => {
    await made?.close();
  });
  return fx;
}

/** Waits for a condition re-checked every 20 ms (counters that change 100 times a second). */
export async function waitUntil(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function openFds(): number {
  return readdir('/proc/self/fd');
}

export function threads(): number {
  return readdir('/proc/self/task');
}

import { readdirSync } from 'node:fs';
function readdir(p: string): number {
  return readdirSync(p).length;
}
