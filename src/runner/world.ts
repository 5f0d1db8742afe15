import { randomBytes } from 'node:crypto';
import { clock, delay } from '../clock.js';
import { MbError } from '../errors.js';
import { HttpClient, HttpStatusError } from '../client/http-client.js';
import type { ClientEnv } from '../client/client-env.js';
import type { ServerOut } from '../protocol/messages.js';
import type { Scenario } from '../scenario/schema.js';
import type { Credentials } from './run-state.js';
import type { World, WorldServer } from './run-context.js';

/**
 * The world of a run (its servers, text and voice channels) is set up once and shared by
 * every shard. Its names carry the run id, so a shard finds it by a deterministic lookup on
 * the target, with no coordinator of ours: shard 0 (the world's maker) registers the owner
 * `mb-<runId>-owner` and creates `mb-<runId>-server0..n-1` in order, each with its channels
 * before the next; any other shard logs in as that owner and waits (bounded) until the last
 * server is there with all its channels. Usernames are `mb-<runId>-u<global index>`, so a user
 * index is the same account whatever the split.
 */

/** Printable, short, and safe in a username, a server name and a message key. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_.-]{1,40}$/;

export function checkRunId(id: string): string {
  if (!RUN_ID_PATTERN.test(id)) throw new MbError('MB_ERR_USAGE', `--run-id must be 1 to 40 letters, digits, '.', '_' or '-', got '${id}'`);
  return id;
}

/** A fresh run id (a run that shares its world with nobody). */
export const newRunId = (): string => randomBytes(3).toString('hex');

/** Every name of the run's world and users starts with it. */
export const worldPrefix = (runId: string): string => `mb-${runId}-`;

/** The password of the run's own accounts (the run id decides it, so every shard knows it). */
export const worldPassword = (runId: string): string => `mb-${worldPrefix(runId)}-pw`;

/** How long a shard waits for shard 0 to create the world before giving up (exit 3). */
export const WORLD_WAIT_MS = 120_000;

export interface WorldSetupOptions {
  runId: string;
  /** true: this shard creates the world (shard 0); false: it waits for it */
  create: boolean;
  /** the owner's account when the users file gives one (never registered then) */
  owner: Credentials | null;
  waitMs?: number;
  signal: AbortSignal;
}

const isWanted = (s: Scenario['setup']) => (c: { type: string; max_users?: number }) => c.type === 'voice' && c.max_users === s.maxVoiceUsers;

function worldServer(detail: ServerOut, setup: Scenario['setup']): WorldServer {
  const chans = [...(detail.channels ?? [])].sort((a, b) => a.position - b.position || a.id - b.id);
  return {
    id: detail.id,
    name: detail.name,
    textChannelIds: chans.filter((c) => c.type === 'text').map((c) => c.id),
    // setup.maxVoiceUsers applies to every room the run uses: a room of another size (the server's default General, max_users 10) is left aside
    voiceChannelIds: chans.filter(isWanted(setup)).map((c) => c.id),
  };
}

/** Sets up (shard 0) or finds (any other shard) the run's world. */
export async function setupWorld(env: ClientEnv, scenario: Scenario, o: WorldSetupOptions): Promise<World> {
  const http = new HttpClient(env);
  const prefix = worldPrefix(o.runId);
  const username = o.owner?.username ?? `${prefix}owner`;
  const password = o.owner?.password ?? worldPassword(o.runId);
  const names = Array.from({ length: scenario.setup.servers }, (_, s) => `${prefix}server${s}`);
  if (o.create) {
    let existed = !!o.owner;
    if (!o.owner)
      await http.register(username, password, { user: -1, record: false }).catch((err) => {
        if ((err as { status?: number }).status !== 400) throw err;
        existed = true;
      });
    const token = (await http.login(username, password, { user: -1, record: false })).access_token;
    // a run id used before on this target: the other shards could find the old world instead of this one
    const taken = existed ? (await http.listServers(token, -1)).find((s) => names.includes(s.name)) : undefined;
    if (taken) throw new MbError('MB_ERR_USAGE', `run id ${o.runId} was used before on this target (server ${taken.name} exists): give this run a new --run-id`, { runId: o.runId });
    const me = await http.me(token, -1);
    const world: World = { owner: { index: -1, userId: me.id, username, token }, servers: [] };
    const { textChannels, voiceChannels, maxVoiceUsers } = scenario.setup;
    for (const name of names) {
      const created = await http.createServer(token, name, -1);
      let detail = await http.getServer(token, created.id, -1);
      const texts = (detail.channels ?? []).filter((c) => c.type === 'text');
      const voices = (detail.channels ?? []).filter(isWanted(scenario.setup));
      for (let t = texts.length; t < textChannels; t++) await http.createTextChannel(token, created.id, `text-${t}`, t, -1);
      for (let v = voices.length; v < voiceChannels; v++) await http.createVoiceChannel(token, created.id, `voice-${v}`, v, maxVoiceUsers, -1);
      detail = await http.getServer(token, created.id, -1);
      world.servers.push(worldServer(detail, scenario.setup));
    }
    return world;
  }
  return findWorld(http, scenario, { username, password, names, waitMs: o.waitMs ?? WORLD_WAIT_MS, signal: o.signal, runId: o.runId });
}

/** Polls the target until shard 0's world is complete: the owner can log in, and the last server has every channel. */
async function findWorld(http: HttpClient, scenario: Scenario, o: { username: string; password: string; names: string[]; waitMs: number; signal: AbortSignal; runId: string }): Promise<World> {
  const until = clock.now() + o.waitMs;
  const { textChannels, voiceChannels } = scenario.setup;
  let token: string | null = null;
  let why = `the world's owner ${o.username} does not exist yet`;
  for (let attempt = 0; ; attempt++) {
    try {
      token ??= (await http.login(o.username, o.password, { user: -1, record: false })).access_token;
      why = `the servers ${o.names[0]}..${o.names.at(-1)} are not all there yet`;
      const mine = await http.listServers(token, -1);
      const byName = new Map(mine.map((s) => [s.name, s]));
      const found = o.names.map((n) => byName.get(n));
      if (found.every((s) => s !== undefined)) {
        // shard 0 completes each server before the next: the last one complete means all are
        const details = await Promise.all(found.map((s) => http.getServer(token!, s.id, -1)));
        const servers = details.map((d) => worldServer(d, scenario.setup));
        const last = servers.at(-1)!;
        if (last.textChannelIds.length >= textChannels && last.voiceChannelIds.length >= voiceChannels) {
          const me = await http.me(token, -1);
          return { owner: { index: -1, userId: me.id, username: o.username, token }, servers };
        }
        why = `server ${last.name} has ${last.textChannelIds.length} of ${textChannels} text and ${last.voiceChannelIds.length} of ${voiceChannels} voice channels so far`;
      }
    } catch (err) {
      // 401: the owner is not registered yet (or has another password: the run id is taken)
      if (!(err instanceof HttpStatusError && err.status === 401)) throw err;
    }
    if (o.signal.aborted) throw o.signal.reason;
    if (clock.now() >= until)
      throw new MbError('MB_ERR_TARGET_UNREACHABLE', `shard 0 of run ${o.runId} did not set up the world within ${Math.round(o.waitMs / 1000)} s (${why}): start shard 0 with the same --run-id against the same target`, { runId: o.runId });
    await delay(Math.min(1000, 100 * 2 ** Math.min(attempt, 3)), o.signal);
  }
}

/**
 * Phase alignment across shards, with the target as the meeting place: before phase `step`,
 * each shard creates the owner's server `mb-<runId>-sync<step>-s<index>` and waits until every
 * shard's is there (the owner's server list), so all shards start each phase together, as
 * one process does. Bounded: a shard missing after `waitMs` (it died, or runs another
 * scenario) ends the waiting for the rest of the run, and the caller says so.
 */
export async function phaseBarrier(env: ClientEnv, o: { runId: string; step: number; shard: { index: number; count: number }; token: string; waitMs?: number; signal: AbortSignal }): Promise<string | null> {
  const http = new HttpClient(env);
  const name = (k: number) => `${worldPrefix(o.runId)}sync${o.step}-s${k}`;
  await http.createServer(o.token, name(o.shard.index), -1);
  const until = clock.now() + (o.waitMs ?? WORLD_WAIT_MS);
  const wanted = Array.from({ length: o.shard.count }, (_, k) => name(k));
  for (;;) {
    const have = new Set((await http.listServers(o.token, -1)).map((s) => s.name));
    const missing = wanted.filter((n) => !have.has(n));
    if (!missing.length) return null;
    if (o.signal.aborted) throw o.signal.reason;
    if (clock.now() >= until) return `shard${missing.length > 1 ? 's' : ''} ${missing.map((n) => n.slice(n.lastIndexOf('-s') + 2)).join(', ')} did not reach phase ${o.step + 1} within ${Math.round((o.waitMs ?? WORLD_WAIT_MS) / 1000)} s: the shards ran the rest unaligned`;
    await delay(50, o.signal);
  }
}
