// The miscord-bench generator in its own process for bench/client-bench.js: one run of a
// chat scenario against `target`, so its CPU is measured apart from the bench and the server.
// argv[2] is a JSON job {target, users, deliveriesPerSec, chatSeconds, rampSeconds, perServer, cpuProfDir?}.
// IPC out: {type:'sample', chat, delivered} once a second (delivered: cumulative); {type:'done', result}.
// With cpuProfDir, a .cpuprofile of the chat phase is written there.
import { runScenario, parseScenario } from '../../dist/index.js';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const job = JSON.parse(process.argv[2]);
const { users, deliveriesPerSec, chatSeconds, rampSeconds = 10 } = job;
const perServer = Math.min(job.perServer ?? 100, users);
const servers = Math.ceil(users / perServer);
// every message fans out to the perServer chat sockets of its server
const perUserRate = deliveriesPerSec / perServer / users;

const scenario = parseScenario({
  name: 'client-bench',
  description: 'generator capacity',
  users,
  setup: { servers, textChannels: 1, voiceChannels: 0 },
  connectConcurrency: 200,
  heartbeat: 0, // like pingEvery: 0, only the asked messages, the same rate Artillery sends
  phases: [
    { type: 'connect', rampUp: `${rampSeconds}s` },
    { type: 'chat', duration: `${chatSeconds}s`, messagesPerUserPerSec: perUserRate, typingRatio: 0, pingEvery: 0 },
    { type: 'disconnect' },
  ],
});

let session = null;
let inChat = false;
let delivered = 0; // cumulative, from the timeline's deliveries/s
let lastT = null;
const samples = [];
const send = (m) => process.connected && process.send(m);
process.on('disconnect', () => process.exit(0)); // the bench died: do not outlive it

function startProfile() {
  session = new Session();
  session.connect();
  void session.post('Profiler.enable').then(() => session.post('Profiler.setSamplingInterval', { interval: 100 })).then(() => session.post('Profiler.start'));
}
function stopProfile() {
  const s = session;
  session = null;
  void s.post('Profiler.stop').then(({ profile }) => {
    writeFileSync(join(job.cpuProfDir, `generator-${job.users}u-${process.pid}.cpuprofile`), JSON.stringify(profile));
    s.disconnect();
  });
}

const report = await runScenario({
  scenario,
  target: job.target,
  leakCheck: false,
  logLevel: 'error',
  signal: AbortSignal.timeout(job.timeoutMs ?? 240_000),
  onSample(s, live) {
    const chat = live.phase.startsWith('chat');
    if (lastT !== null) delivered += (s.deliveriesPerSec * (s.t - lastT)) / 1000;
    lastT = s.t;
    if (chat) samples.push(s);
    // the parent reads this process's CPU and the server's counters at each sample
    send({ type: 'sample', chat, delivered, eldMs: s.eventLoopDelayMs });
    if (chat && !inChat && job.cpuProfDir) startProfile();
    if (!chat && inChat && session) stopProfile();
    inChat = chat;
  },
});

const d = report.histograms['chat.deliver'];
const steady = samples.slice(1);
send({
  type: 'done',
  result: {
    status: report.status,
    abortReason: report.abortReason ?? null,
    usersOnline: Math.max(0, ...report.timeline.map((s) => s.users)),
    sockets: Math.max(0, ...report.timeline.map((s) => s.client.total)),
    deliveredPerSec: steady.length ? steady.reduce((a, s) => a + s.deliveriesPerSec, 0) / steady.length : 0,
    deliveryRatio: report.rates.deliveryRatio ?? null,
    deliverCount: d?.count ?? 0,
    p50: d?.p50 ?? null,
    p99: d?.p99 ?? null,
    eldP99: report.generator.eventLoopDelayP99Ms,
    eldMax: report.generator.eventLoopDelayMaxMs,
    reliable: report.generator.reliable,
    unreliableReason: report.generator.unreliableReason ?? null,
    peakRssBytes: report.generator.peakRssBytes,
    connectP99: report.histograms['ws.connect.chat']?.p99 ?? null,
  },
});
process.disconnect();
