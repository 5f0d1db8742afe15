// The bare wrtc baseline of the voice soak in bench/soak-bench.js: no miscord-bench code at all
// (no server, no signaling socket), only the wrtc the bench uses, through the same cycles as
// bench/voice-soak.json: `rooms` rooms of `usersPerRoom` users join (a full mesh, offers and
// answers passed directly, negotiations five at a time, 127.0.0.1 host candidates only), hold
// `holdMs` of tone (one RTCAudioSource per user per cycle fed every 10 ms, 48 kHz mono, a track
// of it per peer connection, an RTCAudioSink per remote track), then leave: every sink stopped,
// every track stopped, every connection closed, every reference dropped; a pause of `pauseMs`
// (the bench's settle and checkpoint) and the next cycle. Run with --expose-gc: every
// `sampleMs` two full GCs and the heap after them go to the parent, which reads this process's
// RSS from /proc at the same moment (the same protocol as soak-driver.js).
// argv[2]: JSON {rooms, usersPerRoom, holdMs, pauseMs, durationMs, sampleMs, ptimeMs, warmupMs?, statsMs?}.
// statsMs > 0 (a diagnostic): getStats() on every connection that often and once more before
// it closes, as the bench's voice sessions do; 0 or absent (the baseline): never.
// IPC out: {type:'sample', t, heapUsed, cycle}, {type:'done', status, cycles, findings: []}.
import wrtc from 'wrtc';
import { FRAME_SAMPLES, SAMPLE_RATE, negotiate, toneFrames } from './bare-wrtc.js';

const { RTCPeerConnection } = wrtc;
const { RTCAudioSource, RTCAudioSink } = wrtc.nonstandard;
const job = JSON.parse(process.argv[2]);
const send = (m) => process.connected && process.send(m);
// wrtc: a process that created an RTCAudioSource must leave through an explicit exit
const leave = (code) => process.exit(code);
process.on('disconnect', () => leave(0));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


/** One cycle's world: built by join(), torn down to nothing by leaveAll(). */
function makeCycle(index) {
  const users = [];
  const pcs = [];
  let frames = 0;
  for (let r = 0; r < job.rooms; r++) {
    const room = [];
    for (let i = 0; i < job.usersPerRoom; i++) {
      const hz = 300 + 40 * ((r * job.usersPerRoom + i) % 40);
      room.push({ source: new RTCAudioSource(), frames: toneFrames(hz), next: 0, tracks: [] });
    }
    users.push(room);
  }
  const all = users.flat();
  const started = performance.now();
  let fed = 0;
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - started) / 10) - fed;
    const n = Math.min(due, 10);
    for (const u of all) {
      for (let i = 0; i < n; i++) {
        u.source.onData({ samples: u.frames[u.next], sampleRate: SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME_SAMPLES });
        u.next = (u.next + 1) % u.frames.length;
      }
    }
    fed += due;
  }, 10);
  const statsAll = async () => {
    for (const { pc } of [...pcs]) await pc.getStats().catch(() => null);
  };
  const statsTimer = job.statsMs > 0 ? setInterval(() => void statsAll(), job.statsMs) : null;

  async function connect(a, b) {
    const pa = new RTCPeerConnection({ iceServers: [] });
    const pb = new RTCPeerConnection({ iceServers: [] });
    for (const [pc, u] of [[pa, a], [pb, b]]) {
      const entry = { pc, sinks: [], track: u.source.createTrack() };
      u.tracks.push(entry.track);
      pcs.push(entry);
      pc.addTrack(entry.track);
      pc.ontrack = (e) => {
        const sink = new RTCAudioSink(e.track);
        sink.ondata = () => frames++;
        entry.sinks.push(sink);
      };
    }
    await negotiate(pa, pb, job.ptimeMs);
  }

  const connected = () => pcs.every(({ pc }) => pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed');

  return {
    index,
    async join() {
      const todo = [];
      for (const room of users) for (let i = 0; i < room.length; i++) for (let j = i + 1; j < room.length; j++) todo.push([room[i], room[j]]);
      await Promise.all(Array.from({ length: 5 }, async () => {
        while (todo.length) await connect(...todo.shift());
      }));
      const deadline = performance.now() + 30_000;
      while (!connected() && performance.now() < deadline) await sleep(50);
      return connected();
    },
    get frames() {
      return frames;
    },
    async leaveAll() {
      clearInterval(timer);
      clearInterval(statsTimer);
      if (job.statsMs > 0) await statsAll(); // the bench's final sample
      for (const e of pcs) {
        for (const s of e.sinks) (s.ondata = null), s.stop();
        e.sinks.length = 0;
        e.pc.ontrack = null;
        e.pc.onicecandidate = null;
        e.pc.close();
      }
      for (const u of all) {
        for (const t of u.tracks) t.stop();
        u.tracks.length = 0;
        u.source = null;
      }
      pcs.length = 0;
      all.length = 0;
      users.length = 0;
    },
  };
}

let cycle = -1;
const t0 = performance.now();
const sampler = setInterval(() => {
  globalThis.gc();
  globalThis.gc();
  send({ type: 'sample', t: Math.round(performance.now() - t0), heapUsed: process.memoryUsage().heapUsed, cycle });
}, job.sampleMs);

// the bench's run has a connect phase before its soak: the same wait here, outside any cycle
await sleep(job.warmupMs ?? 0);
let cycles = 0;
let failed = 0;
let silent = 0;
while (performance.now() - t0 < job.durationMs) {
  cycle = cycles;
  let c = makeCycle(cycles);
  const ok = await c.join();
  if (!ok) failed++;
  const f0 = c.frames;
  await sleep(job.holdMs);
  if (c.frames === f0) silent++;
  await c.leaveAll();
  c = null;
  cycles++;
  await sleep(job.pauseMs);
}
cycle = -1;
clearInterval(sampler);
send({ type: 'done', status: failed || silent ? 'failed' : 'passed', cycles, findings: [...(failed ? [`${failed} cycles not connected`] : []), ...(silent ? [`${silent} cycles without audio`] : [])] });
setTimeout(() => leave(0), 100);
