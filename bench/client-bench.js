#!/usr/bin/env node
// How many simulated chat users one generator process drives, the deliveries per second it
// sustains with every delivery's latency recorded, and its CPU per delivered message.
// The reference server runs in its own process (the bundled child). Bounded: < 2 min.
//
//   npx tsc -p . && node bench/client-bench.js [users=2000] [deliveriesPerSec=20000] [chatSeconds=20]
//
// Users are spread over servers of 100 so each message fans out to 100 chat sockets; the
// message rate is chosen to hit the asked deliveries/s. Numbers from a busy machine are
// not the final ones: measure on a quiet one.
import { runScenario, parseScenario } from '../dist/index.js';

const users = Number(process.argv[2] ?? 2000);
const targetDeliveries = Number(process.argv[3] ?? 20000);
const chatSeconds = Number(process.argv[4] ?? 20);
const perServer = Math.min(100, users);
const servers = Math.ceil(users / perServer);
const perUserRate = targetDeliveries / perServer / users;

const scenario = parseScenario({
  name: 'client-bench',
  description: 'generator capacity',
  users,
  setup: { servers, textChannels: 1, voiceChannels: 0 },
  bundledServer: { maxTotal: users * 2 + 100, heartbeatMs: 30000 },
  connectConcurrency: 200,
  phases: [
    { type: 'connect', rampUp: '10s' },
    { type: 'chat', duration: `${chatSeconds}s`, messagesPerUserPerSec: perUserRate, typingRatio: 0, pingEvery: '10s' },
    { type: 'disconnect' },
  ],
});

let chatStart = null;
let chatEnd = null;
const samples = [];
const t0 = performance.now();
const report = await runScenario({
  scenario,
  leakCheck: false,
  logLevel: 'error',
  signal: AbortSignal.timeout(115_000),
  onSample(s, live) {
    if (live.phase.startsWith('chat') && !chatStart) chatStart = { cpu: process.cpuUsage(), delivered: null, t: performance.now() };
    if (live.phase.startsWith('chat')) samples.push(s);
    if (chatStart && !chatEnd && !live.phase.startsWith('chat')) chatEnd = { cpu: process.cpuUsage(chatStart.cpu), t: performance.now() };
  },
});
const wall = (performance.now() - t0) / 1000;
const steady = samples.slice(1); // the first second of the phase is partial
const delivered = steady.reduce((a, s) => a + s.deliveriesPerSec, 0);
const dps = steady.length ? delivered / steady.length : 0;
const cpuUs = chatEnd ? chatEnd.cpu.user + chatEnd.cpu.system : NaN;
const chatDelivered = samples.reduce((a, s) => a + s.deliveriesPerSec, 0);
const maxSockets = Math.max(0, ...report.timeline.map((s) => s.client.total));
const d = report.histograms['chat.deliver'];
const line = (k, v) => console.log(`${k.padEnd(34)} ${v}`);
line('status', `${report.status}${report.abortReason ? ` (${report.abortReason})` : ''}`);
line('users asked / online at peak', `${users} / ${Math.max(0, ...report.timeline.map((s) => s.users))}`);
line('client sockets at peak', maxSockets);
line('deliveries/s asked', targetDeliveries);
line('deliveries/s sustained (mean)', dps.toFixed(0));
line('delivery ratio', report.rates.deliveryRatio ?? 'n/a');
line('chat.deliver count / p50 / p99 ms', d ? `${d.count} / ${d.p50} / ${d.p99}` : 'n/a');
line('generator CPU µs per delivery', chatDelivered ? (cpuUs / chatDelivered).toFixed(2) : 'n/a');
line('generator event-loop p99 / max ms', `${report.generator.eventLoopDelayP99Ms.toFixed(1)} / ${report.generator.eventLoopDelayMaxMs.toFixed(1)}`);
line('generator reliable', report.generator.reliable ? 'yes' : `no: ${report.generator.unreliableReason}`);
line('generator peak RSS MiB', (report.generator.peakRssBytes / 2 ** 20).toFixed(0));
line('ws.connect.chat p99 ms', report.histograms['ws.connect.chat']?.p99 ?? 'n/a');
line('wall s', wall.toFixed(1));
