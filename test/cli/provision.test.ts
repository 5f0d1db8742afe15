import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';
import { provision, type UsersFile } from '../../src/runner/provision.js';
import { readUsersFile } from '../../src/runner/read-users-file.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'mb-provision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const serverCount = async (url: string, token: string) => ((await (await fetch(`${url}/api/channels/`, { headers: { authorization: `Bearer ${token}` } })).json()) as unknown[]).length;
const login = async (url: string, username: string, password: string) =>
  ((await (await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username, password }) })).json()) as { access_token: string }).access_token;

describe('provision', () => {
  it('creates accounts and world once, resumes after a failure, and the run uses both', async () => {
    const s = await startServer();
    const out = join(dir, 'users.json');
    const progress: number[] = [];
    const first = await provision({ target: s.url, users: 4, out, servers: 2, textChannels: 2, voiceChannels: 1, maxVoiceUsers: 4, concurrency: 3, onProgress: (p) => progress.push(p.done) });
    expect(first).toMatchObject({ created: 4, existed: 0, failed: [] });
    expect(progress.at(-1)).toBe(4);
    const file = JSON.parse(readFileSync(out, 'utf8')) as UsersFile;
    expect(file.users.map((u) => u.username)).toEqual([0, 1, 2, 3].map((i) => `${file.prefix}u${i}`));
    expect(file.world!.servers).toHaveLength(2);
    // the default General (max_users 10) is left aside: the world's voice rooms are of maxVoiceUsers
    expect(file.world!.servers.every((x) => x.textChannelIds.length === 2 && x.voiceChannelIds.length === 1)).toBe(true);
    // every user joined every server
    const token = await login(s.url, file.users[3]!.username, file.users[3]!.password);
    expect(await serverCount(s.url, token)).toBe(2);

    // a crash after an account was made but before the file said so: the re-run logs in to it
    file.users.pop();
    writeFileSync(out, JSON.stringify(file));
    const again = await provision({ target: s.url, users: 6, out, servers: 2, textChannels: 2, voiceChannels: 1, maxVoiceUsers: 4 });
    expect(again).toMatchObject({ created: 2, existed: 1, failed: [] });
    const after = JSON.parse(readFileSync(out, 'utf8')) as UsersFile;
    expect(after.users).toHaveLength(6);
    expect(after.world!.servers.map((x) => x.id)).toEqual(file.world!.servers.map((x) => x.id));
    expect(readUsersFile(out).map((u) => u.username)).toEqual(after.users.map((u) => u.username));

    // a run with the file creates no server of its own and registers nobody
    const ownerToken = await login(s.url, after.world!.owner.username, after.world!.owner.password);
    const report = await runScenario({
      scenario: parseScenario({ name: 'p', description: 'p', users: 4, setup: { servers: 2, textChannels: 2, voiceChannels: 1, maxVoiceUsers: 4 }, settle: 300, phases: [{ type: 'connect' }, { type: 'chat', duration: 800, messagesPerUserPerSec: 5 }, { type: 'disconnect' }] }),
      target: s.url,
      usersFile: out,
      logLevel: 'error',
    });
    expect(report.status).toBe('completed');
    expect(report.histograms['http.register']?.count ?? 0).toBe(0);
    expect(await serverCount(s.url, ownerToken)).toBe(2);
    expect(report.rates.deliveryRatio).toBe(1);
    // provisioned users are members already: no join, no 400
    expect(report.errors).toEqual([]);
  });

  it('refuses an --out file that provision did not write, or one for another target', async () => {
    const s = await startServer();
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, JSON.stringify([{ username: 'a', password: 'b' }]));
    await expect(provision({ target: s.url, users: 1, out: plain })).rejects.toThrow(/was not written by provision/);
    const out = join(dir, 'other.json');
    await provision({ target: s.url, users: 1, out });
    await expect(provision({ target: 'http://127.0.0.1:8099', users: 1, out })).rejects.toThrow(/holds accounts of http:\/\/127\.0\.0\.1:\d+, not http:\/\/127\.0\.0\.1:8099/);
  });
});
