#!/usr/bin/env node
// The generator's own memory over a soak (issue 18): `soak` at --users users for --seconds, then
// a voice soak (bench/voice-soak.json: rooms of 3 join, hold 5 s, leave, repeated) for
// --voice-seconds. Each runs against a reference server in its own process; the generator is
// bench/lib/soak-driver.js (the programmatic API, as `run` uses it) under --expose-gc, which
// reports its heap after two full GCs every 5 s, while this process reads its RSS, fds and
// threads from /proc/<pid> at the same moments. Prints the least-squares slope per minute (and
// per cycle) over the samples after the warm-up (the first minute; a third of the run when
// shorter), and over the second half of those, to show whether RSS levels off.
// Goal (issue 18): heap slope within noise (< 1 MB per 10 min at 200 users), RSS levels off.
// After the voice soak, in the same run, the bare wrtc baseline goes through the same cycles for
// the same time (bench/lib/bare-voice-soak.js: the rooms, the hold and the leave with plain wrtc,
// no miscord-bench code, sampled the same way), and the two RSS slopes (per minute and per
// cycle) are printed side by side with their ratio bench/bare: whether the voice soak's native
// growth is the bench's or wrtc's own.
//
//   npx tsc -p . && node bench/soak-bench.js [--users 200] [--seconds 300] [--voice-seconds 180] [--no-chat] [--no-voice] [--no-bare] [--quick]
//     [--samples FILE]   every sample also appended to FILE as one JSON line (to plot or re-fit later)
//     [--snapshot-at S,S] [--snapshot-dir DIR]   heap snapshots of the generator at those seconds (diff them)
//
// Human output on stderr; one {"soak": ...} JSON line per run on stdout.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { appendFileSync } from 'node:fs';
import { procSnapshot, slope, load1 } from './lib/meter.js';
import { forkChild, nextMessage } from './lib/children.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    users: { type: 'string' },
    seconds: { type: 'string' },
    'voice-seconds': { type: 'string' },
    'no-voice': { type: 'boolean', default: false },
    'no-bare': { type: 'boolean', default: false },
    'no-chat': { type: 'boolean', default: false },
    'sample-seconds': { type: 'string', default: '5' },
    samples: { type: 'string' },
    'snapshot-at': { type: 'string' },
    'snapshot-dir': { type: 'string', default: '.' },
  },
});
const quick = args.quick;
const USERS = Number(args.users ?? (quick ? 50 : 200));
const SECONDS = Number(args.seconds ?? (quick ? 60 : 300));
const VOICE_SECONDS = Number(args['voice-seconds'] ?? (quick ? 60 : 180));
const SAMPLE_MS = Number(args['sample-seconds']) * 1000;
const log = (s) => process.stderr.write(`soak-bench: ${s}\n`);
const MiB = 1048576;

async function soak(label, scenario, users, seconds) {
  const server = forkChild('server-proc.js', { maxPerUser: 10, maxTotal: users * 4 + 100, heartbeatMs: 30_000, logLevel: 'silent', scryptCost: 2 });
  const { url } = await nextMessage(server, 'listening');
  try {
    const snapshotAtMs = args['snapshot-at'] ? args['snapshot-at'].split(',').map((s) => Number(s) * 1000) : [];
    const gen = forkChild('soak-driver.js', { target: url, scenario, users, durationMs: seconds * 1000, sampleMs: SAMPLE_MS, snapshotAtMs, snapshotDir: args['snapshot-dir'] }, ['--expose-gc']);
    return await sampled(label, users, seconds, gen);
  } finally {
    server.send({ cmd: 'close' });
    await Promise.race([once(server, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

/** The bare wrtc program through the voice soak's cycles (rooms of 3, hold 5 s), no server. */
function bareVoiceSoak(label, seconds) {
  const gen = forkChild('bare-voice-soak.js', { rooms: 3, usersPerRoom: 3, holdMs: 5000, pauseMs: 500, ptimeMs: 20, durationMs: seconds * 1000, sampleMs: SAMPLE_MS }, ['--expose-gc']);
  return sampled(label, 9, seconds, gen);
}

/** Samples `gen` (a driver speaking soak-driver.js's IPC) from /proc until its report. */
async function sampled(label, users, seconds, gen) {
  const samples = [];
  // one listener for the samples and the end (nextMessage would add one per skipped sample)
  const done = await new Promise((resolve, reject) => {
    gen.on('message', (m) => {
      if (m.type === 'done') return resolve(m);
      if (m.type !== 'sample') return;
      const p = procSnapshot(gen.pid);
      if (!p) return;
      const sample = { t: m.t, cycle: m.cycle, heap: m.heapUsed, rss: p.rssBytes, fds: p.fds, threads: p.threads };
      samples.push(sample);
      if (args.samples) appendFileSync(args.samples, `${JSON.stringify({ label, ...sample })}\n`);
    });
    gen.once('exit', (code) => reject(new Error(`${label}: the generator exited (${code}) before its report`)));
  });
  await Promise.race([once(gen, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
  if (gen.exitCode === null) gen.kill('SIGKILL');
  return summarise(label, users, seconds, samples, done);
}

function summarise(label, users, seconds, samples, done) {
  const warmMs = Math.min(60_000, (seconds * 1000) / 3);
  // the soak's own samples after the warm-up (not the final disconnect and report)
  const after = samples.filter((s) => s.t >= warmMs && s.cycle >= 0);
  const half = after.slice(Math.floor(after.length / 2));
  const perMin = (pts, key) => {
    const r = slope(pts.map((s) => [s.t / 60_000, s[key] / MiB]));
    return { mibPerMin: r.slope === null ? null : +r.slope.toFixed(3), r2: r.r2 === null ? null : +r.r2.toFixed(2) };
  };
  // cycle length: the soak's time over the cycles it finished
  const inSoak = samples.filter((s) => s.cycle >= 0);
  const soakMin = inSoak.length > 1 ? (inSoak.at(-1).t - inSoak[0].t) / 60_000 : null;
  const cycleMin = soakMin && done.cycles > 1 ? soakMin / done.cycles : null;
  const heap = perMin(after, 'heap');
  const rss = perMin(after, 'rss');
  const out = {
    label,
    users,
    seconds,
    status: done.status,
    cycles: done.cycles,
    findings: done.findings,
    samples: samples.length,
    warmupS: warmMs / 1000,
    cycleS: cycleMin === null ? null : +(cycleMin * 60).toFixed(1),
    heap: { ...heap, mibPerCycle: heap.mibPerMin === null || cycleMin === null ? null : +(heap.mibPerMin * cycleMin).toFixed(4), mibPer10Min: heap.mibPerMin === null ? null : +(heap.mibPerMin * 10).toFixed(2), secondHalf: perMin(half, 'heap'), firstMiB: +(samples[0].heap / MiB).toFixed(1), lastMiB: +(inSoak.at(-1).heap / MiB).toFixed(1) },
    rss: { ...rss, mibPerCycle: rss.mibPerMin === null || cycleMin === null ? null : +(rss.mibPerMin * cycleMin).toFixed(4), secondHalf: perMin(half, 'rss'), firstMiB: +(samples[0].rss / MiB).toFixed(1), peakMiB: +(Math.max(...samples.map((s) => s.rss)) / MiB).toFixed(1), lastMiB: +(inSoak.at(-1).rss / MiB).toFixed(1) },
    fds: { first: samples[0].fds, max: Math.max(...samples.map((s) => s.fds)), last: inSoak.at(-1).fds },
    threads: { first: samples[0].threads, max: Math.max(...samples.map((s) => s.threads)), last: inSoak.at(-1).threads },
  };
  console.log(JSON.stringify({ soak: out }));
  log(
    `${label}: ${out.cycles} cycles of ${out.cycleS} s, ${out.samples} samples, status ${out.status}, findings [${out.findings.join(', ')}]\n` +
      `  heap after GC ${out.heap.firstMiB} -> ${out.heap.lastMiB} MiB; after ${out.warmupS} s: ${out.heap.mibPerMin} MiB/min (R² ${out.heap.r2}), ${out.heap.mibPer10Min} MiB per 10 min, ${out.heap.mibPerCycle} MiB/cycle; second half ${out.heap.secondHalf.mibPerMin} MiB/min\n` +
      `  RSS ${out.rss.firstMiB} -> ${out.rss.lastMiB} MiB (peak ${out.rss.peakMiB}); after ${out.warmupS} s: ${out.rss.mibPerMin} MiB/min (R² ${out.rss.r2}), ${out.rss.mibPerCycle} MiB/cycle; second half ${out.rss.secondHalf.mibPerMin} MiB/min\n` +
      `  fds ${out.fds.first} / max ${out.fds.max} / last ${out.fds.last}; threads ${out.threads.first} / max ${out.threads.max} / last ${out.threads.last}`,
  );
  return out;
}

log(`soak ${USERS} users ${SECONDS} s${args['no-voice'] ? '' : `, voice soak ${VOICE_SECONDS} s`}; sample every ${SAMPLE_MS / 1000} s; load average ${load1()}`);
if (!args['no-chat']) await soak(`soak ${USERS} users`, 'soak', USERS, SECONDS);
if (!args['no-voice']) {
  const bench = await soak('voice soak (rooms of 3, hold 5 s)', fileURLToPath(new URL('voice-soak.json', import.meta.url)), 9, VOICE_SECONDS);
  if (!args['no-bare']) {
    const bare = await bareVoiceSoak('bare wrtc voice soak (rooms of 3, hold 5 s)', VOICE_SECONDS);
    const ratio = (a, b) => (a === null || b === null || b === 0 ? null : +(a / b).toFixed(2));
    const side = (s) => ({ cycles: s.cycles, cycleS: s.cycleS, rssMiBPerMin: s.rss.mibPerMin, rssMiBPerCycle: s.rss.mibPerCycle, r2: s.rss.r2, secondHalfMiBPerMin: s.rss.secondHalf.mibPerMin, heapMiBPerMin: s.heap.mibPerMin });
    const cmp = { bench: side(bench), bare: side(bare), ratioPerMin: ratio(bench.rss.mibPerMin, bare.rss.mibPerMin), ratioPerCycle: ratio(bench.rss.mibPerCycle, bare.rss.mibPerCycle) };
    console.log(JSON.stringify({ voiceCompare: cmp }));
    log(
      `voice soak RSS, bench vs bare wrtc (same cycles, same run):\n` +
        `  bench ${cmp.bench.rssMiBPerMin} MiB/min (R² ${cmp.bench.r2}), ${cmp.bench.rssMiBPerCycle} MiB/cycle over ${cmp.bench.cycles} cycles of ${cmp.bench.cycleS} s\n` +
        `  bare  ${cmp.bare.rssMiBPerMin} MiB/min (R² ${cmp.bare.r2}), ${cmp.bare.rssMiBPerCycle} MiB/cycle over ${cmp.bare.cycles} cycles of ${cmp.bare.cycleS} s\n` +
        `  ratio bench/bare ${cmp.ratioPerMin}x per minute, ${cmp.ratioPerCycle}x per cycle`,
    );
  }
}
