#!/usr/bin/env node
// The cost of tracing: events/s and µs of CPU per event, in memory only and with a file,
// and the memory bound (evidence rings per user, the file buffer under a burst).
// Usage: npx tsc -p . && node bench/trace-bench.js [events=300000] [users=2000]
// Prints numbers; it is not a test. Measure on a quiet machine.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createTracer } from '../dist/trace/run-tracer.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const EVENTS = Number(process.argv[2] ?? 300_000);
const USERS = Number(process.argv[3] ?? 2_000);
const dir = mkdtempSync(join(tmpdir(), 'mb-trace-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// a run's mix: chat traffic dominates, with socket lifecycle, signaling and stats samples
function makeEvent(i) {
  const user = i % USERS;
  const r = i % 20;
  if (r < 14) return { ev: r % 2 ? 'msg.recv' : 'msg.sent', user, socket: `u${user}-chat-2`, type: 'message', bytes: 96, seq: i };
  if (r < 16) return { ev: r === 14 ? 'socket.open' : 'socket.close', user, socket: `u${user}-chat-2`, kind: 'chat', channelId: 1, by: 'client', code: 1000 };
  if (r < 18) return { ev: 'webrtc.ice', user, peer: `u${user}->u${user + 1}`, dir: 'sent', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.168.1.23 54321 typ host generation 0', sdpMid: '0', sdpMLineIndex: 0 } };
  if (r < 19) return { ev: 'webrtc.ice_state', user, peer: `u${user}->u${user + 1}`, state: 'connected' };
  return { ev: 'webrtc.stats', user, peer: `u${user}->u${user + 1}`, packetsLost: 0, jitterMs: 2.1, rttMs: 0.4, bytesSent: 12345, bytesReceived: 12000 };
}

const cpuUs = (c) => c.user + c.system;

// emits `n` events in slices that yield to the event loop, as a run does
async function paced(tracer, n, slice = 500) {
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i += slice) {
    const end = Math.min(n, i + slice);
    for (let j = i; j < end; j++) tracer?.emit(makeEvent(j));
    await new Promise(setImmediate);
  }
  const emitCpu = cpuUs(process.cpuUsage(cpu0));
  await tracer?.close();
  const wallMs = performance.now() - wall0;
  const totalCpu = cpuUs(process.cpuUsage(cpu0));
  return { wallMs, emitCpuUs: emitCpu, totalCpuUs: totalCpu };
}

function row(name, n, r, base) {
  const perEvent = (r.totalCpuUs - (base?.totalCpuUs ?? 0)) / n;
  console.log(
    `${name.padEnd(34)} ${String(Math.round(n / (r.wallMs / 1000))).padStart(10)} ev/s  ${(r.totalCpuUs / n).toFixed(2).padStart(6)} µs CPU/ev  ${base ? `${perEvent.toFixed(2).padStart(6)} µs/ev over baseline` : ''}`,
  );
}

console.log(`trace bench: ${EVENTS} events over ${USERS} users, node ${process.version}`);
// the bound under a burst the disk cannot absorb: one synchronous loop, no chance to drain
const held = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const burst = createTracer({ file: join(dir, 'burst.ndjson'), perUser: 0 });
gc();
gc();
const heapB0 = held();
const BURST = 1_000_000;
const retained = [];
for (let i = 0; i < BURST; i++) {
  burst.emit(makeEvent(i));
  if (i % 250_000 === 249_999) {
    gc(); // what the tracer retains, not the garbage of the events it dropped
    retained.push(((held() - heapB0) / 1e6).toFixed(1));
  }
}
const bs = burst.stats();
await burst.close();
console.log(`burst of ${BURST} events in one tick: accepted ${bs.written}, dropped ${bs.dropped} (counted in trace.dropped lines)`);
console.log(`  memory held by the tracer after 250k, 500k, 750k, 1M events: ${retained.join(', ')} MB (bound: 8 MiB of text)`);

await paced(null, 50_000); // warm-up
await paced(createTracer(), 50_000);
const base = await paced(null, EVENTS);
row('no tracer (building the events)', EVENTS, base);
const mem = await paced(createTracer(), EVENTS);
row('in memory (evidence rings only)', EVENTS, mem, base);
const file = join(dir, 'paced.ndjson');
const tracer = createTracer({ file });
const withFile = await paced(tracer, EVENTS);
row('with --trace FILE', EVENTS, withFile, base);
const s = tracer.stats();
console.log(`  file: ${(statSync(file).size / 1e6).toFixed(1)} MB, ${(statSync(file).size / EVENTS).toFixed(0)} B/event, dropped ${s.dropped}`);

// memory: evidence rings once every user has a full history
gc();
gc();
const heap0 = process.memoryUsage().heapUsed;
const rings = createTracer();
for (let i = 0; i < USERS * 400; i++) rings.emit(makeEvent(i));
gc();
gc();
const heap1 = process.memoryUsage().heapUsed;
console.log(`evidence rings: ${((heap1 - heap0) / 1e6).toFixed(1)} MB for ${USERS} users with full rings (${((heap1 - heap0) / USERS / 1024).toFixed(1)} KiB/user, default perUser 100 + 50 chat)`);
await rings.close();

