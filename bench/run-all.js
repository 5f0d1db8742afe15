#!/usr/bin/env node
// `npm run bench`: the reference server, the chat generator (beside Artillery), the generator's
// memory per user, voice (beside a bare wrtc program), the generator's memory over soaks, and
// trace benchmarks in sequence, each in its own process with a time bound, then every number
// in one summary table. Bounded to about 25 minutes (--quick: about 7). Not a test: numbers
// depend on the machine and on what else runs on it; the load average is printed with them.
//
//   npm run bench [-- --quick] [-- --only server,client,memory,voice,soak,trace] [-- --no-artillery] [-- --json FILE]
//
// Progress and each bench's own output go to stderr; the summary table to stdout.
// Builds dist/ first when it is missing (the benches import the built code).
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clientTable } from './lib/client-table.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    only: { type: 'string', default: process.env.BENCH_ONLY ?? 'server,client,memory,voice,soak,trace' },
    'no-artillery': { type: 'boolean', default: process.env.ARTILLERY === '0' },
    json: { type: 'string' },
  },
});
const PARTS = ['server', 'client', 'memory', 'voice', 'soak', 'trace'];
const only = args.only.split(',').map((s) => s.trim()).filter(Boolean);
for (const p of only) if (!PARTS.includes(p)) {
  console.error(`bench: --only: unknown part "${p}" (parts: ${PARTS.join(', ')})`);
  process.exit(2);
}
const quick = args.quick;
const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
const log = (s) => process.stderr.write(`bench: ${s}\n`);
const tmp = mkdtempSync(join(tmpdir(), 'mb-bench-'));

// what each part runs, and its bound (the part is killed past it and reported as such)
const plan = {
  server: {
    script: 'server-bench.js',
    args: [],
    env: quick ? { IDLE_SOCKETS: '2000', STEPS: '25000,50000', STEP_MS: '2000' } : { IDLE_SOCKETS: '10000', STEPS: '25000,50000,75000,100000', STEP_MS: '4000' },
    boundS: quick ? 60 : 120,
  },
  client: {
    script: 'client-bench.js',
    args: [
      '--steps', quick ? '300:10000' : '1000:10000,2500:25000,5000:50000:500',
      '--chat-seconds', quick ? '5' : '12',
      '--ramp-seconds', quick ? '2' : '8',
      '--json', join(tmp, 'client.json'),
      ...(args['no-artillery'] ? ['--no-artillery'] : []),
    ],
    env: {},
    boundS: quick ? 80 : 300,
  },
  memory: {
    script: 'mem-bench.js',
    args: quick ? ['--quick'] : ['--sizes', '1000,5000'],
    env: {},
    boundS: quick ? 90 : 240,
  },
  voice: {
    script: 'voice-bench.js',
    args: quick ? ['--quick', '--deadline', '80'] : ['--steps', '20,40,50,60', '--ptimes', '20,60', '--window', '6', '--spurt-rooms', '10', '--compare-rooms', '20', '--deadline', '380'],
    env: {},
    boundS: quick ? 90 : 400,
  },
  soak: {
    script: 'soak-bench.js',
    args: quick ? ['--quick'] : ['--users', '200', '--seconds', '300', '--voice-seconds', '180'],
    env: {},
    // the voice soak's bare wrtc baseline runs after it for as long
    boundS: quick ? 240 : 820,
  },
  trace: {
    script: 'trace-bench.js',
    args: quick ? ['100000', '500'] : ['300000', '2000'],
    env: {},
    boundS: quick ? 30 : 60,
  },
};

const running = new Set();
// a bench and whatever it started (servers, Artillery): its whole process group
const killGroup = (child) => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL'); // the group is gone already: a no-op unless the bench is somehow still there
  }
};
const killAll = () => {
  for (const c of running) killGroup(c);
};
process.once('SIGINT', () => (killAll(), process.exit(130)));
process.once('SIGTERM', () => (killAll(), process.exit(143)));
process.once('exit', () => {
  killAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs one bench; its stdout is kept (and echoed to stderr), its stderr passed through. */
async function runPart(name) {
  const p = plan[name];
  const child = spawn(process.execPath, [here(p.script), ...p.args], { env: { ...process.env, ...p.env }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  running.add(child);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    process.stderr.write(d);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, p.boundS * 1000);
  const started = performance.now();
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  running.delete(child);
  // a bench that exited leaves no child of its own behind
  killGroup(child);
  const seconds = (performance.now() - started) / 1000;
  const status = timedOut ? `stopped at its bound of ${p.boundS} s` : code === 0 ? 'ok' : `exit ${code ?? signal}`;
  return { out, status, seconds };
}

// ---- reading each bench's numbers from its output
const num = (re, text) => {
  const m = re.exec(text);
  return m ? m[1] : 'n/a';
};

function serverRows(out) {
  const rows = [
    ['server', 'RSS per idle socket', `${num(/RSS per idle socket\s+([\d.]+) KB/, out)} KB`, 'goal < 16 KB'],
    ['server', 'idle sockets opened', num(/idle sockets opened\s+(\d+)/, out), ''],
  ];
  for (const m of out.matchAll(/^(reference|bare ws)\s+(\d+)\s+(\d+)\s+(\d+\/\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$/gm)) {
    const reference = m[1] === 'reference';
    rows.push(['server', `${reference ? '' : 'bare ws baseline: '}${m[2]} deliveries/s asked`, `${m[3]}/s achieved, ${m[4]} delivered, p50 ${m[5]} ms, p99 ${m[6]} ms, max ${m[7]} ms`, reference && m[2] === '50000' ? 'goal p99 < 10 ms' : '']);
  }
  rows.push(['server', 'server CPU per delivery', `${num(/server CPU per delivery\s+([\d.]+) µs/, out)} µs`, '']);
  return rows;
}

function voiceRows(out) {
  const rows = [];
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    let r;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (r.summary) {
      const byPtime = Object.entries(r.summary.pairsHeldByPtime ?? {}).map(([p, n]) => `${n} at ${p} ms packets`).join(', ');
      rows.push(['voice', 'pairs with concealment < 1%', `${r.summary.pairsHeld} pairs (${r.summary.peerConnectionsHeld} peer connections)${byPtime ? `; ${byPtime}` : ''}`, 'goal 60 pairs']);
      rows.push(['voice', 'talk-spurt peers held', String(r.summary.talkSpurtPeers), 'goal 300']);
    } else if (r.baseline) {
      const b = r.baseline;
      const side = (x) => `${x.cpuPctPerPeer}% CPU/peer, ${x.rssKBPerPeer} KB RSS/peer (${x.rssMB} MB), ${x.fdsPerPeer} fds/peer, ${x.threadsPerPeer} threads/peer, concealed ${x.concealedPct}%`;
      rows.push(['voice', `bench/bare ${b.ptime} ms, ${b.rooms}x${b.usersPerRoom}`, `CPU ${b.ratio.cpu}x, RSS/peer ${b.ratio.rss}x, fds ${b.ratio.fds}x, threads ${b.ratio.threads}x`, 'goal <= 1.2x']);
      rows.push(['voice', `  bench ${b.bench.peers} peers`, side(b.bench), '']);
      rows.push(['voice', `  bare ${b.bare.peers} peers`, side(b.bare), '']);
    } else if (r.label) {
      rows.push(['voice', r.label, `${r.peers} peers, CPU ${r.cpuPct}% (${r.cpuPctPerPeer}%/peer), RSS ${r.rssMB} MB, ${r.fdsPerPeer} fds/peer, ${r.threadsPerPeer} threads/peer, concealed ${r.concealedPct}%, frames ${r.framesRecvPct}%`, '']);
    }
  }
  return rows;
}

const jsonLines = (out, key) =>
  out
    .split('\n')
    .filter((l) => l.startsWith(`{"${key}"`))
    .map((l) => {
      try {
        return JSON.parse(l)[key];
      } catch {
        return null;
      }
    })
    .filter(Boolean);

function memoryRows(out) {
  const rows = [];
  const [m] = jsonLines(out, 'memory');
  if (!m) return rows;
  for (const r of m.rows) rows.push(['memory', `${r.side === 'bare' ? 'bare ws baseline' : 'generator'} at ${r.users} users`, `${r.rssKBPerUser} KB RSS/user, ${r.heapKBPerUser} KB heap/user, ${r.externalKBPerUser ?? 'n/a'} KB Buffers/user (RSS ${r.rssHeldMiB} MiB, heap ${r.heapHeldMiB} MiB, ${r.sockets} sockets)`, '']);
  for (const x of m.ratios ?? []) rows.push(['memory', `bench / bare ws at ${x.users} users`, `RSS ${x.rss}x, heap ${x.heap}x per user`, '']);
  if (m.marginal) rows.push(['memory', `marginal ${m.marginal.from} -> ${m.marginal.to} users`, `${m.marginal.rssKBPerUser} KB RSS/user, ${m.marginal.heapKBPerUser} KB heap/user${m.bareMarginal ? ` (bare ws: ${m.bareMarginal.rssKBPerUser} KB RSS, ${m.bareMarginal.heapKBPerUser} KB heap)` : ''}`, 'goal < 40 KB']);
  return rows;
}

function soakRows(out) {
  return jsonLines(out, 'soak').flatMap((s) => [
    ['soak', `${s.label}, ${s.seconds} s, ${s.cycles} cycles`, `heap ${s.heap.mibPerMin} MiB/min (${s.heap.mibPer10Min} per 10 min, ${s.heap.mibPerCycle}/cycle), ${s.heap.firstMiB} -> ${s.heap.lastMiB} MiB`, 'goal < 1 MB per 10 min'],
    ['soak', `  RSS`, `${s.rss.mibPerMin} MiB/min (second half ${s.rss.secondHalf.mibPerMin}), ${s.rss.firstMiB} -> ${s.rss.lastMiB} MiB; findings [${s.findings.join(', ')}]`, 'goal: levels off'],
  ]).concat(
    jsonLines(out, 'voiceCompare').map((c) => [
      'soak',
      'voice soak RSS, bench vs bare wrtc',
      `bench ${c.bench.rssMiBPerMin} MiB/min, ${c.bench.rssMiBPerCycle}/cycle; bare ${c.bare.rssMiBPerMin} MiB/min, ${c.bare.rssMiBPerCycle}/cycle; ratio ${c.ratioPerMin}x/min, ${c.ratioPerCycle}x/cycle`,
      'baseline: bare wrtc, same cycles',
    ]),
  );
}

function traceRows(out) {
  const rows = [];
  for (const m of out.matchAll(/^(no tracer \(building the events\)|in memory \(evidence rings only\)|with --trace FILE)\s+(\d+) ev\/s\s+([\d.]+) µs CPU\/ev(?:\s+([\d.-]+) µs\/ev over baseline)?/gm)) {
    rows.push(['trace', m[1], `${m[2]} events/s, ${m[3]} µs CPU/event${m[4] ? `, ${m[4]} µs/event over baseline` : ''}`, '']);
  }
  const burst = /burst of (\d+) events in one tick: accepted (\d+), dropped (\d+)/.exec(out);
  if (burst) rows.push(['trace', `burst of ${burst[1]} events`, `accepted ${burst[2]}, dropped ${burst[3]}`, '']);
  rows.push(['trace', 'memory held under the burst', `${num(/1M events: ([\d., ]+) MB/, out)} MB`, 'bound 8 MiB of text']);
  rows.push(['trace', 'evidence rings', `${num(/evidence rings: ([\d.]+ MB for \d+ users)/, out)} (${num(/\(([\d.]+) KiB\/user/, out)} KiB/user)`, '']);
  return rows;
}

function clientRows(file) {
  if (!existsSync(file)) return { rows: [], table: null };
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const rows = [];
  for (const r of s.rows) {
    rows.push(['client', `${r.side} ${r.users} users`, `${Math.round(r.achieved)} of ${r.asked} deliveries/s, ${Number.isNaN(r.usPerDelivery) || r.usPerDelivery === null ? 'n/a' : r.usPerDelivery.toFixed(2)} µs CPU per delivery${r.p99 !== null ? `, p99 ${r.p99} ms` : ''}`, '']);
  }
  if (s.artillery !== 'ran') rows.push(['client', 'Artillery', s.artillery, '']);
  return { rows, table: clientTable(s.rows) };
}

async function main() {
  const t0 = performance.now();
  if (!existsSync(here('../dist/index.js'))) {
    log('dist/ is missing: building (npx tsc -p .)');
    execFileSync('npx', ['tsc', '-p', '.'], { cwd: here('..'), stdio: 'inherit' });
  }
  const machine = `node ${process.version}, ${cpus().length} cores`;
  log(`${quick ? 'quick' : 'full'} run of ${only.join(', ')} on ${machine}; load average ${load()}`);
  const summary = [];
  const parts = {};
  let clientTableText = null;
  for (const name of PARTS) {
    if (!only.includes(name)) continue;
    const loadBefore = load();
    log(`--- ${name} (bound ${plan[name].boundS} s, load average ${loadBefore})`);
    const r = await runPart(name);
    parts[name] = { status: r.status, seconds: +r.seconds.toFixed(1), loadBefore };
    log(`--- ${name}: ${r.status} in ${r.seconds.toFixed(0)} s`);
    let rows = [];
    if (name === 'server') rows = serverRows(r.out);
    if (name === 'voice') rows = voiceRows(r.out);
    if (name === 'trace') rows = traceRows(r.out);
    if (name === 'memory') rows = memoryRows(r.out);
    if (name === 'soak') rows = soakRows(r.out);
    if (name === 'client') {
      const c = clientRows(join(tmp, 'client.json'));
      rows = c.rows;
      clientTableText = c.table;
    }
    summary.push([name, 'status', `${r.status} (${r.seconds.toFixed(0)} s, load average before ${loadBefore})`, ''], ...rows);
  }
  const wall = (performance.now() - t0) / 1000;
  const widths = [6, Math.max(...summary.map((r) => r[1].length)), Math.max(...summary.map((r) => r[2].length))];
  const out = [
    '',
    `miscord-bench benchmarks (${quick ? 'quick' : 'full'}; ${machine}; ${wall.toFixed(0)} s; load average now ${load()})`,
    '',
    ...summary.map((r) => `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3]}`.trimEnd()),
  ];
  if (clientTableText) out.push('', 'generator (client) steps side by side:', clientTableText);
  process.stdout.write(out.join('\n') + '\n');
  if (args.json) writeFileSync(args.json, JSON.stringify({ quick, machine, wallSeconds: wall, parts, rows: summary }, null, 2));
  const failed = Object.entries(parts).filter(([, p]) => p.status !== 'ok');
  if (failed.length) {
    log(`not every part finished: ${failed.map(([n, p]) => `${n} ${p.status}`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  log(err.stack ?? String(err));
  process.exitCode = 1;
});
