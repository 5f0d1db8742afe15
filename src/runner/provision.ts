import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import pLimit from 'p-limit';
import { clock } from '../clock.js';
import { MbError } from '../errors.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { HttpClient, HttpStatusError } from '../client/http-client.js';
import type { ClientEnv } from '../client/client-env.js';
import { createTracer } from '../trace/run-tracer.js';
import type { WorldServer } from './run-context.js';
import { checkUserCount } from './option-checks.js';

/**
 * `miscord-bench provision`: creates the accounts and the world (servers, text and voice
 * channels, every user joined to every server) on a deployment once, so later runs with
 * `--users-file` start at once. Registration on a real Miscord costs 0.2 to 5 s a user
 * (bcrypt in its event loop): provisioning goes `concurrency` at a time, writes the file as it
 * goes, and a re-run resumes (a 400 on register means the account exists: it logs in).
 */
export interface ProvisionedUser {
  username: string;
  password: string;
  userId: number;
}

/** The file `--users-file` reads: `users` as before (an array of it still reads), and the world. */
export interface UsersFile {
  version: 1;
  target: string;
  /** usernames are `<prefix>u<index>` */
  prefix: string;
  /** passwords are `<passwordSeed>-<index>`: a re-run after a failure knows the password of an account it half made */
  passwordSeed: string;
  users: ProvisionedUser[];
  world: { owner: { username: string; password: string }; servers: WorldServer[] } | null;
}

export interface ProvisionOptions {
  target: string;
  users: number;
  out: string;
  servers?: number;
  textChannels?: number;
  voiceChannels?: number;
  maxVoiceUsers?: number;
  /** requests in flight at once (default 8) */
  concurrency?: number;
  prefix?: string;
  signal?: AbortSignal;
  onProgress?(p: { done: number; total: number; failed: number; perSec: number; step: string }): void;
}

export interface ProvisionResult {
  file: UsersFile;
  created: number;
  existed: number;
  failed: Array<{ username: string; error: string }>;
}

function readExisting(path: string, target: string): UsersFile | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MbError('MB_ERR_USAGE', `--out ${path} exists and is not a users file: ${(err as Error).message}`);
  }
  const f = raw as Partial<UsersFile>;
  if (!f || typeof f !== 'object' || Array.isArray(raw) || f.version !== 1 || !Array.isArray(f.users) || typeof f.prefix !== 'string') {
    throw new MbError('MB_ERR_USAGE', `--out ${path} exists and was not written by provision: give another path`);
  }
  if (f.target !== target) throw new MbError('MB_ERR_USAGE', `--out ${path} holds accounts of ${f.target}, not ${target}: give another path`);
  if (typeof f.passwordSeed !== 'string') throw new MbError('MB_ERR_USAGE', `--out ${path} has no passwordSeed: it was not written by provision`);
  return { version: 1, target, prefix: f.prefix, passwordSeed: f.passwordSeed, users: f.users, world: f.world ?? null };
}

function save(path: string, file: UsersFile): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n');
  renameSync(tmp, path);
}

export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  checkUserCount(o.users);
  const url = new URL(o.target);
  const httpUrl = `${url.protocol}//${url.host}`;
  const signal = o.signal ?? new AbortController().signal;
  const env = {
    httpUrl,
    wsUrl: httpUrl.replace(/^http/, 'ws'),
    metrics: new Metrics(),
    tracer: createTracer({}),
    log: createLogger('silent'),
    signal,
  } as unknown as ClientEnv;
  const http = new HttpClient(env);
  const file: UsersFile = readExisting(o.out, o.target) ?? { version: 1, target: o.target, prefix: o.prefix ?? `mbp-${randomBytes(3).toString('hex')}-`, passwordSeed: randomBytes(9).toString('base64url'), users: [], world: null };
  const secret = file.passwordSeed;
  // written before the first account, so a failure at any point can be resumed
  save(o.out, file);
  const setup = { servers: o.servers ?? 1, textChannels: o.textChannels ?? 3, voiceChannels: o.voiceChannels ?? 1, maxVoiceUsers: o.maxVoiceUsers ?? 10 };

  /** register (400: it exists) then log in; returns the token and whether it was created */
  const account = async (username: string, password: string): Promise<{ token: string; userId: number; created: boolean }> => {
    let created = true;
    try {
      await http.register(username, password, { record: false });
    } catch (err) {
      if (!(err instanceof HttpStatusError && err.status === 400)) throw err;
      created = false;
    }
    const token = (await http.login(username, password, { record: false })).access_token;
    const me = await http.me(token);
    return { token, userId: me.id, created };
  };

  // the owner and the world, once
  const owner = file.world?.owner ?? { username: `${file.prefix}owner`, password: `${secret}-owner` };
  const ownerAcc = await account(owner.username, owner.password);
  if (!file.world || file.world.servers.length < setup.servers) {
    const servers: WorldServer[] = file.world?.servers ?? [];
    for (let s = servers.length; s < setup.servers; s++) {
      const created = await http.createServer(ownerAcc.token, `${file.prefix}server${s}`);
      let detail = await http.getServer(ownerAcc.token, created.id);
      const texts = (detail.channels ?? []).filter((c) => c.type === 'text');
      const voices = (detail.channels ?? []).filter((c) => c.type === 'voice' && (c as { max_users?: number }).max_users === setup.maxVoiceUsers);
      for (let t = texts.length; t < setup.textChannels; t++) await http.createTextChannel(ownerAcc.token, created.id, `text-${t}`, t);
      for (let v = voices.length; v < setup.voiceChannels; v++) await http.createVoiceChannel(ownerAcc.token, created.id, `voice-${v}`, v + 1, setup.maxVoiceUsers);
      detail = await http.getServer(ownerAcc.token, created.id);
      const chans = [...(detail.channels ?? [])].sort((a, b) => a.position - b.position || a.id - b.id);
      servers.push({
        id: created.id,
        name: created.name,
        textChannelIds: chans.filter((c) => c.type === 'text').map((c) => c.id),
        voiceChannelIds: chans.filter((c) => c.type === 'voice' && (c as { max_users?: number }).max_users === setup.maxVoiceUsers).map((c) => c.id),
      });
      file.world = { owner, servers };
      save(o.out, file);
    }
  }
  const servers = file.world!.servers;

  const done = new Map(file.users.map((u) => [u.username, u]));
  const todo: number[] = [];
  for (let i = 0; i < o.users; i++) if (!done.has(`${file.prefix}u${i}`)) todo.push(i);
  const limit = pLimit(o.concurrency ?? 8);
  const failed: ProvisionResult['failed'] = [];
  let created = 0;
  let existed = 0;
  const start = clock.now();
  let lastSave = clock.now();
  const progress = (step: string) => o.onProgress?.({ done: done.size, total: o.users, failed: failed.length, perSec: (done.size - (o.users - todo.length)) / Math.max(0.001, (clock.now() - start) / 1000), step });
  progress('users');
  await Promise.all(
    todo.map((i) =>
      limit(async () => {
        if (signal.aborted) return;
        const username = `${file.prefix}u${i}`;
        const password = `${secret}-${i}`;
        try {
          const acc = await account(username, password);
          for (const s of servers) {
            await http.joinServer(acc.token, s.id).catch((err) => {
              if (!(err instanceof HttpStatusError && err.status === 400)) throw err; // 400: already a member
            });
          }
          if (acc.created) created++;
          else existed++;
          const u = { username, password, userId: acc.userId };
          done.set(username, u);
          file.users.push(u);
        } catch (err) {
          // a 401 on login after a 400 on register: the name is taken with another password (not ours)
          failed.push({ username, error: (err as Error).message });
        }
        if (clock.now() - lastSave > 1000) {
          lastSave = clock.now();
          save(o.out, file);
        }
        progress('users');
      }),
    ),
  );
  file.users.sort((a, b) => indexOf(a.username, file.prefix) - indexOf(b.username, file.prefix));
  save(o.out, file);
  progress('done');
  if (signal.aborted) throw new MbError('MB_ERR_ABORTED', `provision interrupted: ${done.size} of ${o.users} users in ${o.out}; run it again to go on`);
  return { file, created, existed, failed };
}

const indexOf = (username: string, prefix: string): number => Number(username.slice(prefix.length + 1)) || 0;

/** The world of a users file written by provision, or null (a plain array, or no world). */
export function readUsersWorld(path: string): UsersFile['world'] {
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<UsersFile>;
    return !Array.isArray(raw) && raw?.version === 1 && raw.world ? raw.world : null;
  } catch {
    return null;
  }
}
