#!/usr/bin/env node
// Benchmark of the reference server (not a test): `npm run bench:server` after a build.
// The server runs in its own process; raw `ws` clients run in another. It measures
//   1. server RSS per idle socket at IDLE_SOCKETS open sockets (goal < 16 KB each);
//   2. chat deliveries/s with p99 latency in rooms of 10 (goal 50,000/s at p99 < 10 ms),
//      latency counted from each message's intended send time (no coordinated omission).
//   3. the same rooms against a bare `ws` room server (bench/lib/bare-server.js), the baseline
//      of what this machine gives without the reference server's bookkeeping (BASELINE=0 skips).
// Bounded in time (a watchdog kills everything at 110 s) and self-cleaning.
import { once } from 'node:events';
import { forkChild, killAll, nextMessage } from './lib/children.js';
import { http } from './lib/http.js';

const IDLE_SOCKETS = Number(process.env.IDLE_SOCKETS ?? 10_000);
const ROOMS = Number(process.env.ROOMS ?? 20);
const ROOM_SIZE = 10;
const STEPS = (process.env.STEPS ?? '25000,50000,75000,100000').split(',').map(Number);
const STEP_MS = Number(process.env.STEP_MS ?? 4000);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 3000); // unrecorded load at the first step's rate
const USERS = 10;
const watchdog = setTimeout(() => {
  console.error('server-bench: watchdog: over 110 s, stopping');
  killAll();
  process.exit(1);
}, 110_000);

async function mem(server) {
  server.send({ cmd: 'mem' });
  return nextMessage(server, 'mem');
}

async function stats(url) {
  return http(url, 'GET', '/api/debug/websocket-stats');
}

async function settleZero(url) {
  for (let i = 0; i < 500; i++) {
    const s = await stats(url);
    if (s.total_connections === 0) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('server counts did not return to zero');
}

const kb = (b) => (b / 1024).toFixed(1);

async function main() {
  const server = forkChild('server-proc.js', { maxPerUser: 50_000, maxTotal: 50_000, logLevel: 'silent' }, [
    '--expose-gc',
    // SERVER_FLAGS="--trace-gc ..." passes node flags to the server process
    ...(process.env.SERVER_FLAGS ? process.env.SERVER_FLAGS.split(' ') : []),
    // SERVER_CPU_PROF=dir writes a .cpuprofile of the server process there
    ...(process.env.SERVER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SERVER_CPU_PROF}`] : []),
  ]);
  const { url } = await nextMessage(server, 'listening');
  const wsUrl = url.replace(/^http/, 'ws');
  console.error(`server-bench: server at ${url} (pid ${server.pid})`);

  const users = [];
  for (let i = 0; i < USERS; i++) {
    const username = `bench${i}`;
    await http(url, 'POST', '/api/auth/register', { json: { username, email: `${username}@example.com`, password: 'bench-pw' } });
    const { access_token } = await http(url, 'POST', '/api/auth/login', { form: { username, password: 'bench-pw' } });
    users.push(access_token);
  }
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) {
    const s = await http(url, 'POST', '/api/channels/', { token: users[0], json: { name: `room${r}` } });
    for (const t of users.slice(1)) await http(url, 'POST', `/api/channels/${s.id}/join`, { token: t });
    rooms.push({ serverId: s.id, textChannelId: s.channels.find((c) => c.type === 'text').id, tokens: users.slice(0, ROOM_SIZE) });
  }

  // ---- 1. idle sockets: half notifications, half chat, spread over the users
  const targets = users.flatMap((token) => [{ path: '/ws/notifications', token }, { path: `/ws/chat/${rooms[0].serverId}`, token }]);
  // warm up the code paths so the baseline is not the cold heap
  const warm = forkChild('client-proc.js', { mode: 'idle', wsUrl, targets, count: 500 });
  await nextMessage(warm, 'opened');
  warm.send({ cmd: 'close' });
  await nextMessage(warm, 'closed');
  await settleZero(url);
  const before = await mem(server);
  const idle = forkChild('client-proc.js', { mode: 'idle', wsUrl, targets, count: IDLE_SOCKETS, concurrency: 200 });
  const opened = await nextMessage(idle, 'opened');
  const during = await stats(url);
  const after = await mem(server);
  idle.send({ cmd: 'close' });
  await nextMessage(idle, 'closed');
  const zero = await settleZero(url);
  const perSocket = (after.rss - before.rss) / opened.count;

  // ---- 2. rooms of 10: deliveries/s and latency
  const cpuBefore = (await mem(server)).cpuUs;
  const roomsChild = forkChild('client-proc.js', { mode: 'rooms', wsUrl, rooms, steps: STEPS, stepMs: STEP_MS, drainMs: 2000, warmupMs: WARMUP_MS });
  const { results } = await nextMessage(roomsChild, 'rooms');
  await settleZero(url);
  const cpuUs = (await mem(server)).cpuUs - cpuBefore;
  const totalDelivered = results.reduce((n, r) => n + r.delivered, 0);

  server.send({ cmd: 'close' });
  await once(server, 'exit');

  // ---- 3. the same driver against a bare `ws` room server: what this machine gives without the bookkeeping
  let bare = null;
  if (process.env.BASELINE !== '0') {
    const b = forkChild('bare-server.js', {});
    const bareUrl = (await nextMessage(b, 'listening')).url.replace(/^http/, 'ws');
    const bareRooms = rooms.map((r, i) => ({ serverId: i + 1, textChannelId: i + 1, tokens: r.tokens }));
    const bareChild = forkChild('client-proc.js', { mode: 'rooms', wsUrl: bareUrl, rooms: bareRooms, steps: STEPS, stepMs: STEP_MS, drainMs: 2000, warmupMs: WARMUP_MS });
    bare = (await nextMessage(bareChild, 'rooms')).results;
    b.send({ cmd: 'close' });
    await once(b, 'exit');
  }

  const out = process.stdout;
  out.write(`\nreference server benchmark (node ${process.version}, ${IDLE_SOCKETS} idle sockets, ${ROOMS} rooms of ${ROOM_SIZE}, steps after a ${WARMUP_MS / 1000} s unrecorded warm-up)\n\n`);
  out.write(`idle sockets opened        ${opened.count} (${opened.errors} errors) in ${opened.ms} ms; server counted ${during.total_connections}\n`);
  out.write(`server RSS before / after  ${kb(before.rss)} KB / ${kb(after.rss)} KB (heap ${kb(before.heapUsed)} / ${kb(after.heapUsed)} KB)\n`);
  out.write(`RSS per idle socket        ${kb(perSocket)} KB   (goal < 16 KB: ${perSocket < 16 * 1024 ? 'met' : 'NOT met'})\n`);
  out.write(`heap per idle socket       ${kb((after.heapUsed - before.heapUsed) / opened.count)} KB\n`);
  out.write(`after close                total_connections=${zero.total_connections} opened=${zero.counters.connections_opened} closed=${zero.counters.connections_closed}\n\n`);
  out.write('server       target deliv/s  achieved/s  delivered/expected      p50 ms   p99 ms   max ms\n');
  for (const [name, rs] of [['reference', results], ['bare ws', bare ?? []]]) {
    for (const r of rs) {
      out.write(
        `${name.padEnd(9)}  ${String(r.target).padStart(14)}  ${String(r.achieved).padStart(10)}  ${`${r.delivered}/${r.expected}`.padStart(18)}  ${r.p50ms.toFixed(2).padStart(7)}  ${r.p99ms.toFixed(2).padStart(7)}  ${r.maxMs.toFixed(1).padStart(7)}\n`,
      );
    }
  }
  if (bare) out.write('(bare ws: the same driver against a plain `ws` room server with no bookkeeping, in the same run)\n');
  out.write(`\nserver CPU per delivery    ${(cpuUs / Math.max(1, totalDelivered)).toFixed(2)} µs (room sockets' setup included; bounds deliveries/s per core)\n`);
  const at50 = results.find((r) => r.target === 50_000);
  const bare50 = bare?.find((r) => r.target === 50_000);
  if (at50) {
    const baseline = bare50 ? ` (bare ws on this machine in this run: p99 ${bare50.p99ms.toFixed(2)} ms)` : '';
    out.write(`\n50,000 deliveries/s goal (p99 < 10 ms): ${at50.delivered === at50.expected && at50.p99ms < 10 ? 'met' : 'NOT met'}, p99 ${at50.p99ms.toFixed(2)} ms${baseline}\n`);
  }
}

main()
  .catch((err) => {
    console.error(`server-bench: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(watchdog);
    killAll();
  });
