#!/usr/bin/env node
import { setMaxListeners } from 'node:events';
// How many WebRTC peers one generator process carries: pairs of peers with flowing audio
// (tone mode, a ladder of sizes, concealment < 1% is "holds"), then a talk-spurt mode (rooms
// of 6, one speaker at a time) aiming at >= 300 peer connections. Prints CPU, memory, fds and
// threads per peer so users can size their generators. The bundled server runs in its own
// process. Not a test: numbers depend on the machine; measure on a quiet one.
// The tone ladder runs once per Opus packet duration of --ptimes (20 ms as browsers send, 60 ms
// for a third of the packets).
// Then, at one load (--compare-rooms rooms of --compare-size users), per ptime, the bench's own
// voice users (bench/lib/bench-voice.js) and the bare wrtc baseline (bench/lib/bare-voice.js,
// no miscord-bench code) one after the other, each in its own process measured from /proc:
// per-peer CPU, RSS, fds and threads of each side and the ratio bench/bare.
// Usage: npx tsc -p . && node bench/voice-bench.js [--steps 20,40,60,75] [--ptimes 20,60] [--window 10] [--spurt-rooms 10]
//        [--compare-rooms 20] [--compare-size 2] [--no-compare] [--no-ladder] [--quick]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { VoiceSession } from '../dist/client/voice/voice-session.js';
import { negotiationLimiter } from '../dist/client/voice/negotiation-limiter.js';
import { HttpClient } from '../dist/client/http-client.js';
import { UserLedger } from '../dist/client/ledger.js';
import { Metrics } from '../dist/metrics/metrics.js';
import { MemoryTracer } from '../dist/trace/tracer.js';
import { silentLogger } from '../dist/log.js';
import { cpuOfOne, procSnapshot } from './lib/meter.js';
import { forkChild, nextMessage } from './lib/children.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const QUICK = args.includes('--quick');
const STEPS = opt('steps', QUICK ? '10,20' : '20,40,60,75').split(',').map(Number);
const WINDOW_S = Number(opt('window', QUICK ? 4 : 10));
const PTIMES = opt('ptimes', QUICK ? '20' : '20,60').split(',').map(Number);
const SPURT_ROOMS = Number(opt('spurt-rooms', QUICK ? 2 : 10));
const ROOM_SIZE = 6;
const COMPARE_ROOMS = Number(opt('compare-rooms', QUICK ? 5 : 20));
const COMPARE_SIZE = Number(opt('compare-size', 2));
const COMPARE = !args.includes('--no-compare');
const LADDER = !args.includes('--no-ladder');
const DEADLINE_MS = Number(opt('deadline', 300)) * 1000; // hard bound on the whole bench

const fds = () => readdirSync('/proc/self/fd').length;
const threads = () => readdirSync('/proc/self/task').length;
const mb = (b) => (b / 1048576).toFixed(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const procCpuMs = (pid) => cpuOfOne(pid) / 1000;

// ------------------------------------------------------------------ the server, its own process
const bin = fileURLToPath(new URL('../bin/miscord-bench.js', import.meta.url));
// --exit-with-stdin: the server goes with our stdin pipe, so it never outlives a killed bench
const server = spawn(process.execPath, [bin, 'serve', '--port', '0', '--max-total', '100000', '--max-per-user', '10', '--log-level', 'error', '--exit-with-stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
let exiting = false;
const stopServer = () => {
  if (server.exitCode === null && !server.killed) server.kill('SIGTERM');
};
const finish = (code) => {
  if (exiting) return;
  exiting = true;
  stopServer();
  // wrtc: a process that created an RTCAudioSource must leave through an explicit exit
  // (a natural one crashes with SIGSEGV): from beforeExit when the loop empties first
  process.once('beforeExit', () => process.exit(code));
  setTimeout(() => process.exit(code), 200).unref();
};
process.on('SIGINT', () => finish(130));
process.on('SIGTERM', () => finish(143));
setTimeout(() => {
  console.error(`voice bench: deadline of ${DEADLINE_MS / 1000} s reached, stopping`);
  finish(3);
}, DEADLINE_MS).unref();

const rl = createInterface({ input: server.stdout });
const [line] = await Promise.race([once(rl, 'line'), once(server, 'exit').then(() => ['server exited'])]);
const m = /^listening (http:\/\/\S+)/.exec(line);
if (!m) {
  console.error(`voice bench: server did not start: ${line}`);
  finish(3);
  await sleep(1000);
}
const httpUrl = m[1];
const env = {
  httpUrl,
  wsUrl: httpUrl.replace(/^http/, 'ws'),
  metrics: new Metrics(),
  tracer: new MemoryTracer(),
  log: silentLogger,
  iceServers: [],
  loopbackOnly: true,
  signal: new AbortController().signal,
  events: {},
};
// every request in flight listens to it (a run's signal is set the same way)
setMaxListeners(0, env.signal);
const http = new HttpClient(env);

// ------------------------------------------------------------------ users and rooms
let seq = 0;
const tag = `vb${process.pid}`;
async function login(index) {
  const username = `${tag}u${++seq}`;
  const u = await http.register(username, 'voice-bench-pw');
  const t = await http.login(username, 'voice-bench-pw');
  return { index, userId: u.id, username, token: t.access_token };
}
const owner = await login(100000);
const srv = await http.createServer(owner.token, 'voice-bench');
const users = [];
async function ensureUsers(n) {
  while (users.length < n) {
    const batch = [];
    for (let i = users.length; i < Math.min(n, users.length + 20); i++) batch.push(login(i).then(async (id) => (await http.joinServer(id.token, srv.id), id)));
    users.push(...(await Promise.all(batch)));
  }
}
const rooms = [];
async function ensureRooms(n, size) {
  while (rooms.length < n) rooms.push((await http.createVoiceChannel(owner.token, srv.id, `bench-${rooms.length}`, rooms.length + 2, Math.max(size, 10))).id);
}

const limiter = negotiationLimiter(5);
function sessionFor(user, roomId, audio, ptimeMs = 20) {
  const ledger = new UserLedger(user.index, user.username);
  return new VoiceSession({ env, identity: user, ledger, roomId, audio, limiter, statsIntervalMs: 0, ptimeMs });
}

async function statsOf(sessions) {
  let concealed = 0;
  let samples = 0;
  let lost = 0;
  for (const s of sessions) {
    await s.sampleStats();
    for (const p of s.peers.values()) {
      const st = p.stats;
      if (!st) continue;
      concealed += st.concealedSamples;
      samples += st.totalSamplesReceived;
      lost += st.audioPacketsLost;
    }
  }
  return { concealed, samples, lost };
}
const frames = (sessions) => {
  let expected = 0;
  let received = 0;
  let tone = 0;
  for (const s of sessions) for (const p of s.peers.values()) (expected += p.audio.expected), (received += p.audio.received), (tone += p.audio.withTone);
  return { expected, received, tone };
};

/** Builds the rooms, waits for the mesh, measures a window, tears down; returns one result row. */
async function measure(label, groups, audio, onWindow, ptimeMs = 20) {
  const fds0 = fds();
  const threads0 = threads();
  const t0 = performance.now();
  const sessions = [];
  for (const g of groups) for (const u of g.members) sessions.push(sessionFor(u, g.roomId, audio, ptimeMs));
  // joins go in batches; negotiations are bounded by the shared limiter anyway
  for (let i = 0; i < sessions.length; i += 10) {
    const res = await Promise.all(sessions.slice(i, i + 10).map((s) => s.join()));
    if (res.some((r) => !r.ok)) throw new Error(`${label}: a join was refused: ${JSON.stringify(res.find((r) => !r.ok))}`);
  }
  const pcs = () => sessions.reduce((n, s) => n + s.peers.size, 0);
  const want = groups.reduce((n, g) => n + g.members.length * (g.members.length - 1), 0);
  const connected = () => sessions.every((s) => [...s.peers.values()].every((p) => p.connectedAt !== null)) && pcs() === want;
  const meshDeadline = performance.now() + 60_000;
  while (!connected() && performance.now() < meshDeadline) await sleep(100);
  const setupS = (performance.now() - t0) / 1000;
  const ok = connected();
  await sleep(2000); // let jitter buffers settle before the window
  const before = await statsOf(sessions);
  const f0 = frames(sessions);
  const cpu0 = process.cpuUsage();
  const srvCpu0 = procCpuMs(server.pid);
  const w0 = performance.now();
  const stopWindow = onWindow?.(sessions);
  await sleep(WINDOW_S * 1000);
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  const srvCpu = procCpuMs(server.pid) - srvCpu0;
  await stopWindow?.();
  const rss = process.memoryUsage().rss;
  const fdsHeld = fds();
  const threadsHeld = threads();
  const after = await statsOf(sessions);
  const f1 = frames(sessions);
  const peers = pcs();
  const tl = performance.now();
  await Promise.all(sessions.map((s) => s.leave({ finalStats: false })));
  const teardownS = (performance.now() - tl) / 1000;
  await sleep(500);
  const dSamples = after.samples - before.samples;
  const row = {
    label,
    peers,
    meshed: ok,
    setupS: +setupS.toFixed(1),
    cpuPct: +(((cpu.user + cpu.system) / 1000 / wallMs) * 100).toFixed(1),
    serverCpuPct: +((srvCpu / wallMs) * 100).toFixed(1),
    cpuPctPerPeer: +(((cpu.user + cpu.system) / 1000 / wallMs) * 100 / Math.max(1, peers)).toFixed(2),
    rssMB: +mb(rss),
    fdsPerPeer: +((fdsHeld - fds0) / Math.max(1, peers)).toFixed(2),
    threadsPerPeer: +((threadsHeld - threads0) / Math.max(1, peers)).toFixed(3),
    threads: threadsHeld,
    concealedPct: dSamples > 0 ? +(((after.concealed - before.concealed) / dSamples) * 100).toFixed(2) : null,
    packetsLost: after.lost - before.lost,
    framesRecvPct: f1.expected - f0.expected > 0 ? +(((f1.received - f0.received) / (f1.expected - f0.expected)) * 100).toFixed(1) : null,
    teardownS: +teardownS.toFixed(1),
    fdsAfter: fds() - fds0,
    threadsAfter: threads() - threads0,
  };
  console.log(JSON.stringify(row));
  return row;
}

console.error(`voice bench: server ${httpUrl} (pid ${server.pid}), node ${process.version}, steps ${STEPS.join(',')} pairs, window ${WINDOW_S} s`);
const results = [];
const held = {}; // ptime -> pairs holding concealment < 1%
let spurt = null;
if (LADDER) {
  for (const ptime of PTIMES) {
    held[ptime] = 0;
    for (const pairs of STEPS) {
      await ensureUsers(pairs * 2);
      await ensureRooms(pairs, 2);
      const groups = Array.from({ length: pairs }, (_, i) => ({ roomId: rooms[i], members: [users[2 * i], users[2 * i + 1]] }));
      const r = await measure(`tone ${pairs} pairs ${ptime}ms`, groups, 'tone', undefined, ptime);
      results.push(r);
      if (r.meshed && r.concealedPct !== null && r.concealedPct < 1) held[ptime] = pairs;
      else break;
    }
  }

  // talk-spurt: rooms of 6, one speaker at a time, rotating every 1-3 s
  await ensureUsers(SPURT_ROOMS * ROOM_SIZE);
  await ensureRooms(Math.max(rooms.length, STEPS.at(-1)) + SPURT_ROOMS, ROOM_SIZE);
  const spurtRooms = rooms.slice(-SPURT_ROOMS);
  const groups = spurtRooms.map((roomId, r) => ({ roomId, members: users.slice(r * ROOM_SIZE, (r + 1) * ROOM_SIZE) }));
  spurt = await measure(`talk-spurt ${SPURT_ROOMS}x${ROOM_SIZE}`, groups, 'talk-spurt', (sessions) => {
    let stop = false;
    const loops = groups.map(async (_, gi) => {
      const members = sessions.slice(gi * ROOM_SIZE, (gi + 1) * ROOM_SIZE);
      let k = gi;
      let cur = null;
      while (!stop) {
        cur?.setSpeaking(false);
        cur = members[k++ % members.length];
        cur.setSpeaking(true);
        await sleep(1000 + Math.random() * 2000);
      }
      cur?.setSpeaking(false);
    });
    return async () => {
      stop = true;
      await Promise.all(loops);
    };
  });
  results.push(spurt);
}

// ------------------------------------------------------------------ beside the bare wrtc baseline
/** One side of the comparison in its own process, measured from outside. */
async function side(kind, script, job) {
  const child = forkChild(script, job);
  await nextMessage(child, 'ready');
  await sleep(500);
  const s0 = procSnapshot(child.pid); // imports loaded, nothing built
  child.send({ cmd: 'build' });
  const meshed = await nextMessage(child, 'meshed');
  await sleep(2000); // jitter buffers settle
  child.send({ cmd: 'window-start' });
  await nextMessage(child, 'started');
  const c0 = procSnapshot(child.pid);
  const w0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const s1 = procSnapshot(child.pid);
  const wallMs = performance.now() - w0;
  child.send({ cmd: 'window-end' });
  const w = await nextMessage(child, 'window');
  child.send({ cmd: 'close' });
  await Promise.race([once(child, 'exit'), sleep(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
  const peers = Math.max(1, meshed.peers);
  return {
    side: kind,
    peers: meshed.peers,
    meshed: meshed.ok,
    cpuPct: +(((s1.cpuUs - c0.cpuUs) / 1000 / wallMs) * 100).toFixed(1),
    cpuPctPerPeer: +(((s1.cpuUs - c0.cpuUs) / 1000 / wallMs) * 100 / peers).toFixed(2),
    rssMB: +mb(s1.rssBytes),
    rssKBPerPeer: +((s1.rssBytes - s0.rssBytes) / 1024 / peers).toFixed(0),
    fdsPerPeer: +((s1.fds - s0.fds) / peers).toFixed(2),
    threadsPerPeer: +((s1.threads - s0.threads) / peers).toFixed(3),
    threads: s1.threads,
    concealedPct: w.concealedPct,
    framesRecvPct: w.framesRecvPct,
  };
}
const ratio = (a, b) => (b > 0 ? +(a / b).toFixed(2) : null);
const baselines = [];
if (COMPARE) {
  await ensureUsers(COMPARE_ROOMS * COMPARE_SIZE);
  await ensureRooms(COMPARE_ROOMS, COMPARE_SIZE);
  const cGroups = Array.from({ length: COMPARE_ROOMS }, (_, i) => ({ roomId: rooms[i], members: users.slice(i * COMPARE_SIZE, (i + 1) * COMPARE_SIZE) }));
  for (const ptime of PTIMES) {
    const bench = await side('bench', './bench-voice.js', { httpUrl, groups: cGroups, ptimeMs: ptime });
    const bare = await side('bare', './bare-voice.js', { rooms: COMPARE_ROOMS, usersPerRoom: COMPARE_SIZE, ptimeMs: ptime });
    const b = { ptime, rooms: COMPARE_ROOMS, usersPerRoom: COMPARE_SIZE, bench, bare, ratio: { cpu: ratio(bench.cpuPctPerPeer, bare.cpuPctPerPeer), rss: ratio(bench.rssKBPerPeer, bare.rssKBPerPeer), rssTotal: ratio(bench.rssMB, bare.rssMB), fds: ratio(bench.fdsPerPeer, bare.fdsPerPeer), threads: ratio(bench.threadsPerPeer, bare.threadsPerPeer) } };
    baselines.push(b);
    console.log(JSON.stringify({ baseline: b }));
  }
}

if (results.length) console.error('\n' + 'mode'.padEnd(26) + 'peers  cpu%  srv%  cpu%/peer  rssMB  fds/peer  thr/peer  conceal%  frames%  setup s  teardown s');
for (const r of results) {
  console.error(
    `${r.label.padEnd(26)}${String(r.peers).padStart(5)} ${String(r.cpuPct).padStart(5)} ${String(r.serverCpuPct).padStart(5)} ${String(r.cpuPctPerPeer).padStart(10)} ${String(r.rssMB).padStart(6)} ${String(r.fdsPerPeer).padStart(9)} ${String(r.threadsPerPeer).padStart(9)} ${String(r.concealedPct).padStart(9)} ${String(r.framesRecvPct).padStart(8)} ${String(r.setupS).padStart(8)} ${String(r.teardownS).padStart(11)}`,
  );
}
if (baselines.length) {
  console.error('\nbeside the bare wrtc program (same rooms, same process model, measured from /proc):');
  console.error('ptime side   peers  cpu%  cpu%/peer  rssMB  rssKB/peer  fds/peer  thr/peer  conceal%  frames%');
  for (const b of baselines) {
    for (const r of [b.bench, b.bare]) console.error(`${String(b.ptime).padStart(5)} ${r.side.padEnd(5)} ${String(r.peers).padStart(6)} ${String(r.cpuPct).padStart(5)} ${String(r.cpuPctPerPeer).padStart(10)} ${String(r.rssMB).padStart(6)} ${String(r.rssKBPerPeer).padStart(11)} ${String(r.fdsPerPeer).padStart(9)} ${String(r.threadsPerPeer).padStart(9)} ${String(r.concealedPct).padStart(9)} ${String(r.framesRecvPct).padStart(8)}`);
    console.error(`${String(b.ptime).padStart(5)} ratio bench/bare: CPU ${b.ratio.cpu}x, RSS/peer ${b.ratio.rss}x (total ${b.ratio.rssTotal}x), fds ${b.ratio.fds}x, threads ${b.ratio.threads}x (goal <= 1.2x)`);
  }
}
const heldText = PTIMES.map((p) => `${held[p]} at ${p} ms packets`).join(', ');
if (LADDER) console.error(`\npairs holding concealment < 1%: ${heldText} (goal 60 = 120 peer connections); talk-spurt peers held: ${spurt.meshed ? spurt.peers : 0} (goal 300)`);
const pairsHeld = held[20] ?? held[PTIMES[0]];
if (LADDER) console.log(JSON.stringify({ summary: { pairsHeld, peerConnectionsHeld: pairsHeld * 2, pairsHeldByPtime: held, talkSpurtPeers: spurt.meshed ? spurt.peers : 0 } }));
finish(0);
