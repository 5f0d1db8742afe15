#!/usr/bin/env node
// How many simulated chat users one generator process drives, the deliveries per second it
// sustains with every delivery's latency recorded, and its CPU per delivered message; side by
// side, Artillery 2.0.21's WebSocket engine driving the same server layout at the same rate.
//
//   npx tsc -p . && node bench/client-bench.js [--steps 1000:10000,2500:25000,5000:50000:500]
//     [--chat-seconds 15] [--ramp-seconds 10] [--per-server 100] [--no-artillery] [--artillery-max-users 2500]
//     [--cpu-prof DIR (the generator's, the server's and Artillery's profiles)] [--json FILE]
//
// Each step runs on a fresh reference server in its own process (sign-ups with a cheap KDF so
// the set-up stays short). Users sit in servers of --per-server (or a step's third number), so
// each message fans out to that many chat sockets; the message rate gives the asked deliveries/s.
// The runner has every user join every server, so set-up grows as users²/per-server: the top
// step uses servers of 500.
// Both sides are measured the same way: process CPU (all threads, children included) read
// from /proc, divided by the chat deliveries the server counted (its /metrics) over a window
// where every user is connected and sending. miscord-bench also opens each user's
// notifications socket (no app-level pings in the bench: same message rate); Artillery opens one chat socket per user and
// records nothing about what it receives. ELD is the generator's worst per-second event-loop
// delay p99 during the chat phase. Human output on stderr, the table on stdout.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { treeCpuUs, treeRssBytes, serverCounts, load1 } from './lib/meter.js';
import { clientTable, fmt } from './lib/client-table.js';
import { forkChild, killAll, nextMessage, track } from './lib/children.js';
import { http } from './lib/http.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: process.env.CLIENT_STEPS ?? '1000:10000,2500:25000,5000:50000:500' },
    'chat-seconds': { type: 'string', default: process.env.CHAT_SECONDS ?? '15' },
    'ramp-seconds': { type: 'string', default: process.env.RAMP_SECONDS ?? '10' },
    'per-server': { type: 'string', default: '100' },
    'artillery-max-users': { type: 'string', default: '2500' },
    'no-artillery': { type: 'boolean', default: process.env.ARTILLERY === '0' },
    'cpu-prof': { type: 'string' },
    json: { type: 'string', default: process.env.BENCH_JSON },
  },
});
const steps = args.steps.split(',').map((s) => {
  const [users, dps, perServer = Number(args['per-server'])] = s.split(':').map(Number);
  if (!(users > 0 && dps > 0 && perServer > 0)) throw new Error(`--steps: "${s}" is not users:deliveriesPerSec[:usersPerServer]`);
  return { users, dps, perServer };
});
const chatSeconds = Number(args['chat-seconds']);
const rampSeconds = Number(args['ramp-seconds']);
const ARTILLERY_DIR = here('artillery');
const ARTILLERY_BIN = join(ARTILLERY_DIR, 'node_modules/artillery/bin/run');
const log = (s) => process.stderr.write(`client-bench: ${s}\n`);

async function startServer(users) {
  const prof = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(args['cpu-prof'], 'server')}`] : [];
  const server = forkChild('server-proc.js', { maxPerUser: 10, maxTotal: users * 3 + 100, heartbeatMs: 30_000, logLevel: process.env.BENCH_SERVER_LOG ?? 'silent', scryptCost: 2 }, prof);
  const { url } = await nextMessage(server, 'listening');
  return {
    url,
    pid: server.pid,
    async close() {
      if (server.exitCode !== null || server.signalCode !== null) return;
      server.send({ cmd: 'close' });
      const t = setTimeout(() => server.kill('SIGKILL'), 5000);
      await once(server, 'exit');
      clearTimeout(t);
    },
  };
}

const layout = (users, perServerMax) => {
  const perServer = Math.min(perServerMax, users);
  return { perServer, servers: Math.ceil(users / perServer) };
};

// ---- miscord-bench: the generator in its own process, the window from its chat-phase samples
async function runGenerator(step) {
  const server = await startServer(step.users);
  try {
    const { perServer } = layout(step.users, step.perServer);
    const job = { target: server.url, users: step.users, deliveriesPerSec: step.dps, chatSeconds, rampSeconds, perServer, cpuProfDir: args['cpu-prof'] };
    if (job.cpuProfDir) mkdirSync(job.cpuProfDir, { recursive: true });
    const gen = forkChild('generator-proc.js', job, process.env.GEN_FLAGS ? process.env.GEN_FLAGS.split(' ') : []);
    const chat = []; // one point per chat-phase sample of the generator
    let peakRss = 0;
    let maxEld = 0; // the worst per-second event-loop delay p99 of the chat phase
    let result = null;
    const reads = [];
    gen.on('message', (m) => {
      if (m.type === 'done') result = m.result;
      if (m.type !== 'sample') return;
      peakRss = Math.max(peakRss, treeRssBytes(gen.pid));
      if (!m.chat) return;
      maxEld = Math.max(maxEld, m.eldMs);
      const point = { t: performance.now(), cpuUs: treeCpuUs(gen.pid), delivered: m.delivered };
      chat.push(point);
      reads.push(serverCounts(server.url).then((c) => (point.server = c.chatDelivered), () => {}));
    });
    const [code] = await once(gen, 'exit');
    await Promise.all(reads);
    if (!result) throw new Error(`generator exited with ${code} before its result`);
    const a = chat[0];
    const b = chat[chat.length - 1];
    const w = a && b && b !== a ? { seconds: (b.t - a.t) / 1000, cpuUs: b.cpuUs - a.cpuUs, delivered: (b.server ?? 0) - (a.server ?? 0), own: b.delivered - a.delivered } : null;
    return {
      side: 'miscord-bench',
      users: step.users,
      fanout: perServer,
      sockets: result.sockets,
      asked: step.dps,
      achieved: w ? w.delivered / w.seconds : 0,
      ratio: result.deliveryRatio,
      p50: result.p50,
      p99: result.p99,
      usPerDelivery: w && w.delivered ? w.cpuUs / w.delivered : NaN,
      cpuPct: w ? w.cpuUs / 1e4 / w.seconds : NaN,
      eldP99: maxEld,
      rssMiB: peakRss / 2 ** 20,
      note: `${result.status}${result.abortReason ? ` (${result.abortReason})` : ''}${result.reliable ? '' : '; generator unreliable'}; own count ${w ? Math.round(w.own) : 0} of server ${w ? w.delivered : 0}`,
    };
  } finally {
    await server.close();
  }
}

// ---- Artillery: the same layout, users pre-registered, tokens through a payload CSV
async function ensureArtillery() {
  if (existsSync(ARTILLERY_BIN)) return null;
  log('installing Artillery 2.0.21 into bench/artillery (once; about 600 MB)');
  const npm = track(spawn('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', ARTILLERY_DIR], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  npm.stderr.on('data', (d) => (err += d));
  const [code] = await once(npm, 'exit');
  if (code !== 0 || !existsSync(ARTILLERY_BIN)) return `npm install failed (${code}): ${err.trim().split('\n').pop() ?? ''}`;
  return null;
}

async function pool(n, concurrency, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (i < n) await fn(i++);
  }));
}

async function artilleryUsers(url, users, perServerMax) {
  const { perServer, servers } = layout(users, perServerMax);
  const tokens = new Array(users);
  await pool(users, 32, async (i) => {
    const username = `art${i}`;
    await http(url, 'POST', '/api/auth/register', { json: { username, email: `${username}@example.com`, password: 'bench-pw' } });
    tokens[i] = (await http(url, 'POST', '/api/auth/login', { form: { username, password: 'bench-pw' } })).access_token;
  });
  const rows = new Array(users);
  for (let s = 0; s < servers; s++) {
    const first = s * perServer;
    const srv = await http(url, 'POST', '/api/channels/', { token: tokens[first], json: { name: `room${s}` } });
    const tc = srv.channels.find((c) => c.type === 'text').id;
    const members = Array.from({ length: Math.min(perServer, users - first) }, (_, k) => first + k);
    await pool(members.length - 1, 32, (k) => http(url, 'POST', `/api/channels/${srv.id}/join`, { token: tokens[members[k + 1]] }));
    for (const m of members) rows[m] = `${tokens[m]},${srv.id},${tc}`;
  }
  return rows;
}

async function runArtillery(step) {
  const server = await startServer(step.users);
  const dir = mkdtempSync(join(tmpdir(), 'mb-artillery-'));
  try {
    const rows = await artilleryUsers(server.url, step.users, step.perServer);
    const { perServer } = layout(step.users, step.perServer);
    const gap = (step.users * perServer) / step.dps; // seconds between one user's messages
    // A user arriving at a sends at a + k·gap (k = 1..count), so once all are connected any
    // span of m whole gaps holds exactly m messages of each user: that span is the window.
    const m = Math.max(1, Math.round(chatSeconds / gap));
    const count = m + Math.ceil(rampSeconds / gap) + 1;
    writeFileSync(join(dir, 'users.csv'), rows.join('\n') + '\n');
    const wsBase = server.url.replace(/^http/, 'ws');
    const script = {
      config: {
        target: wsBase,
        phases: [{ duration: rampSeconds, arrivalCount: step.users }],
        payload: { path: join(dir, 'users.csv'), fields: ['token', 'serverId', 'tc'], order: 'sequence' },
      },
      scenarios: [
        {
          engine: 'ws',
          flow: [
            { connect: `${wsBase}/ws/chat/{{ serverId }}?token={{ token }}` },
            { loop: [{ think: `${Math.max(1, Math.round(gap * 1000))}ms` }, { send: '{"type":"message","content":"artillery","text_channel_id":{{ tc }} }' }], count },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'script.json'), JSON.stringify(script));
    const out = openSync(join(dir, 'artillery.log'), 'w');
    const art = track(
      spawn(process.execPath, [...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(args['cpu-prof'], 'artillery')}`] : []), ARTILLERY_BIN, 'run', join(dir, 'script.json')], {
        cwd: dir,
        stdio: ['ignore', out, out],
        env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', WORKERS: '1', ...(process.env.ARTILLERY_DEBUG ? { DEBUG: 'ws' } : {}) },
      }),
    );
    closeSync(out);
    const exited = once(art, 'exit');
    const watchdog = setTimeout(() => art.kill('SIGKILL'), (rampSeconds + count * gap + 60) * 1000);
    // poll the server and Artillery's CPU; the window: every user connected
    const points = [];
    let done = false;
    void exited.then(() => (done = true));
    let peakRss = 0;
    while (!done) {
      const t = performance.now();
      const cpuUs = treeCpuUs(art.pid);
      peakRss = Math.max(peakRss, treeRssBytes(art.pid));
      try {
        points.push({ t, cpuUs, ...(await serverCounts(server.url)) });
      } catch {
        /* the server is busy: skip this point */
      }
      // the window is complete: Artillery's own wind-down and report are of no use here
      const first = points.find((q) => q.chatSockets >= step.users);
      if (first && t > first.t + m * gap * 1000 + 500 && art.exitCode === null) art.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 250))]);
    }
    clearTimeout(watchdog);
    const [code] = await exited;
    const start = points.findIndex((p) => p.chatSockets >= step.users);
    let end = start;
    const until = start >= 0 ? points[start].t + m * gap * 1000 : 0;
    while (end + 1 < points.length && points[end + 1].chatSockets >= step.users && points[end].t < until) end++;
    const a = points[start];
    const b = points[end];
    const w = start >= 0 && end > start ? { seconds: (b.t - a.t) / 1000, cpuUs: b.cpuUs - a.cpuUs, delivered: b.chatDelivered - a.chatDelivered } : null;
    return {
      side: 'artillery 2.0.21',
      users: step.users,
      fanout: perServer,
      sockets: Math.max(0, ...points.map((p) => p.chatSockets)),
      asked: step.dps,
      achieved: w ? w.delivered / w.seconds : 0,
      ratio: null,
      p50: null,
      p99: null,
      usPerDelivery: w && w.delivered ? w.cpuUs / w.delivered : NaN,
      cpuPct: w ? w.cpuUs / 1e4 / w.seconds : NaN,
      eldP99: null,
      rssMiB: peakRss / 2 ** 20,
      note: w ? `exit ${code ?? 'after the window'}; window ${w.seconds.toFixed(1)} s with all ${step.users} connected; records no receive latency` : `exit ${code}; never had all ${step.users} users connected (see ${join(dir, 'artillery.log')})`,
    };
  } finally {
    await server.close();
    if (!process.env.KEEP_ARTILLERY_DIR) rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const started = performance.now();
  log(`node ${process.version}, load average ${load1()}, steps ${args.steps}, chat ${chatSeconds} s, ramp ${rampSeconds} s`);
  let artilleryProblem = args['no-artillery'] ? 'skipped (--no-artillery)' : await ensureArtillery();
  if (artilleryProblem && !args['no-artillery']) log(`Artillery unavailable: ${artilleryProblem}; going on without it`);
  const rows = [];
  // the JSON is rewritten after every step, so a run stopped at its bound keeps what it measured
  const save = (done) => {
    if (args.json) writeFileSync(args.json, JSON.stringify({ bench: 'client', done, load1: load1(), wallSeconds: (performance.now() - started) / 1000, chatSeconds, rows, artillery: artilleryProblem ?? 'ran' }, null, 2));
  };
  for (const step of steps) {
    log(`step ${step.users} users, ${step.dps} deliveries/s: miscord-bench (load ${load1()})`);
    const tg = performance.now();
    const g = await runGenerator(step);
    g.wallSeconds = (performance.now() - tg) / 1000;
    rows.push(g);
    log(`  ${fmt(g.achieved)} deliveries/s, ${fmt(g.usPerDelivery, 2)} µs CPU each, p99 ${fmt(g.p99, 1)} ms; ${g.note} (${g.wallSeconds.toFixed(0)} s)`);
    if (!artilleryProblem && step.users > Number(args['artillery-max-users'])) {
      log(`  Artillery not run at ${step.users} users (over --artillery-max-users ${args['artillery-max-users']}: its set-up and gaps would overrun the bound)`);
    } else if (!artilleryProblem) {
      log(`step ${step.users} users, ${step.dps} deliveries/s: Artillery (load ${load1()})`);
      try {
        const ta = performance.now();
        const a = await runArtillery(step);
        a.wallSeconds = (performance.now() - ta) / 1000;
        rows.push(a);
        log(`  ${fmt(a.achieved)} deliveries/s, ${fmt(a.usPerDelivery, 2)} µs CPU each; ${a.note} (${a.wallSeconds.toFixed(0)} s)`);
      } catch (err) {
        artilleryProblem = `failed: ${err.message}`;
        log(`Artillery ${artilleryProblem}; going on without it`);
      }
    }
    save(false);
  }
  const summary = { bench: 'client', load1: load1(), wallSeconds: (performance.now() - started) / 1000, chatSeconds, rows, artillery: artilleryProblem ?? 'ran' };
  process.stdout.write(`\ngenerator benchmark (node ${process.version}, load average ${summary.load1} at the end, ${summary.wallSeconds.toFixed(0)} s)\n\n${clientTable(rows)}\n`);
  if (artilleryProblem) process.stdout.write(`Artillery: ${artilleryProblem}\n`);
  for (const r of rows) process.stdout.write(`  ${r.side} ${r.users} users: ${r.note}\n`);
  save(true);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main()
    .catch((err) => {
      log(err.stack ?? String(err));
      process.exitCode = 1;
    })
    .finally(killAll);
}
