import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { spawnCli, type CliChild } from '../helpers/cli.js';
import { FAULT_NAMES } from '../../src/server/faults.js';
import { api, connect, signUp } from './helpers.js';

/** `serve ...args` from the build; `stdout` holds its complete stdout lines so far. */
function serve(args: string[]): { child: ChildProcess; stdout: string[]; stderr: () => string; exited: Promise<number | null>; cli: CliChild } {
  const cli = spawnCli(['serve', ...args]);
  return {
    child: cli.child,
    get stdout() {
      return cli.stdout().split('\n').slice(0, -1);
    },
    stderr: cli.stderr,
    exited: cli.closed,
    cli,
  };
}

async function firstLine(p: ReturnType<typeof serve>): Promise<string> {
  return p.cli.firstLine().catch(() => {
    throw new Error(`serve exited early: ${p.stderr()}`);
  });
}

describe('miscord-bench serve (child process, from the build)', () => {
  it('prints exactly one stdout line, closes sockets with 1001 on SIGTERM and exits 0', async () => {
    const p = serve(['--port', '0', '--max-per-user', '5']);
    const line = await firstLine(p);
    expect(line).toMatch(/^listening http:\/\/127\.0\.0\.1:\d+$/);
    const url = line.slice('listening '.length);
    const user = await signUp({ url });
    const sock = await connect({ wsUrl: url.replace('http', 'ws') }, '/ws/notifications', user.token);
    const stats = (await (await fetch(`${url}/api/debug/websocket-stats`)).json()) as { config: { max_per_user: number } };
    expect(stats.config.max_per_user).toBe(5);
    p.child.kill('SIGTERM');
    expect((await sock.closed).code).toBe(1001);
    expect(await p.exited).toBe(0);
    expect(p.stdout.filter((l) => l !== line)).toEqual([]);
  });

  it('passes the store limits to the server and lists them in --help', async () => {
    const p = serve(['--port', '0', '--max-channels-per-server', '3', '--max-users', '2']);
    const url = (await firstLine(p)).slice('listening '.length);
    const user = await signUp({ url });
    const s = { url } as Parameters<typeof api>[0];
    const id = (await api(s, user.token).post('/api/channels/', { name: 'x' })).body.id as number;
    expect((await api(s, user.token).post(`/api/channels/${id}/text-channels`, { name: 'a', channel_id: id })).status).toBe(200);
    const over = await api(s, user.token).post(`/api/channels/${id}/text-channels`, { name: 'b', channel_id: id });
    expect(over.status).toBe(403);
    expect(over.body.detail).toMatch(/limit 3, --max-channels-per-server/);
    await signUp({ url });
    await expect(signUp({ url })).rejects.toThrow(/register 400 .*--max-users/);
    const help = serve(['--help']);
    expect(await help.exited).toBe(0);
    const text = help.stdout.join('\n');
    for (const flag of ['--max-users', '--max-servers', '--max-servers-per-user', '--max-channels-per-server', '--max-members-per-server', '--max-history-bytes']) expect(text).toContain(flag);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('exits 3 with one clear line when the port is in use, 2 on a bad flag', async () => {
    const first = serve(['--port', '0']);
    const url = (await firstLine(first)).slice('listening '.length);
    const port = new URL(url).port;
    const second = serve(['--port', port]);
    expect(await second.exited).toBe(3);
    expect(second.stderr()).toMatch(/already in use/);
    expect(second.stdout).toEqual([]);
    const bad = serve(['--missed-pongs', '0']);
    expect(await bad.exited).toBe(2);
    const badLimit = serve(['--max-channels-per-server', '1']);
    expect(await badLimit.exited).toBe(2);
  });

  it('takes the fault options, lists every fault in --help, and refuses fault options without their fault', async () => {
    const p = serve(['--port', '0', '--fault', 'pooled-resource', '--fault-pool-size', '1', '--fault-pool-stall-ms', '200', '--fault', 'drop-announcement', '--fault-event', 'user_speaking']);
    const url = (await firstLine(p)).slice('listening '.length);
    const stats = (await (await fetch(`${url}/api/debug/websocket-stats`)).json()) as { faults: string[]; fault_pool: unknown };
    expect(stats.faults.sort()).toEqual(['drop-announcement', 'pooled-resource']);
    expect(stats.fault_pool).toEqual({ size: 1, in_use: 0, waiting: 0 });
    const help = serve(['--help']);
    expect(await help.exited).toBe(0);
    const text = help.stdout.join('\n');
    for (const f of FAULT_NAMES) expect(text).toContain(f);
    for (const flag of ['--fault-event', '--fault-pool-size', '--fault-pool-stall-ms']) expect(text).toContain(flag);
    const orphan = serve(['--port', '0', '--fault-pool-size', '3']);
    expect(await orphan.exited).toBe(2);
    expect(orphan.stderr()).toMatch(/faultPoolSize only applies to the pooled-resource fault/);
    const badEvent = serve(['--port', '0', '--fault', 'drop-announcement', '--fault-event', 'user_danced']);
    expect(await badEvent.exited).toBe(2);
  });
});
