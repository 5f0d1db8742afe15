// The bench's own voice users in a process of their own, for bench/voice-bench.js's
// comparison with bench/lib/bare-voice.js: the parent measures both from /proc.
// argv[2]: JSON {httpUrl, groups:[{roomId, members:[{index, userId, username, token}]}], ptimeMs}.
// The same IPC as bare-voice.js: ready, build -> meshed, window-start, window-end -> window, close.
import { VoiceSession } from '../../dist/client/voice/voice-session.js';
import { negotiationLimiter } from '../../dist/client/voice/negotiation-limiter.js';
import { UserLedger } from '../../dist/client/ledger.js';
import { Metrics } from '../../dist/metrics/metrics.js';
import { MemoryTracer } from '../../dist/trace/tracer.js';
import { silentLogger } from '../../dist/log.js';
import { socketStreamFor } from '../../dist/runner/target.js';

const job = JSON.parse(process.argv[2]);
const send = (m) => process.connected && process.send(m);
const leave = (code) => process.exit(code); // wrtc: an explicit exit (a natural one may crash)
process.on('disconnect', () => leave(0));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const metrics = new Metrics();
const tracer = new MemoryTracer();
const signal = new AbortController().signal;
const events = {};
const env = {
  httpUrl: job.httpUrl,
  wsUrl: job.httpUrl.replace(/^http/, 'ws'),
  metrics,
  tracer,
  log: silentLogger,
  iceServers: [],
  loopbackOnly: true,
  signal,
  events,
  // the ledger, metrics and tracer hear every socket event, as in a run
  stream: socketStreamFor({ metrics, tracer, events }),
};
const limiter = negotiationLimiter(5);
const sessions = [];

async function build() {
  for (const g of job.groups) {
    for (const u of g.members) sessions.push(new VoiceSession({ env, identity: u, ledger: new UserLedger(u.index, u.username), roomId: g.roomId, audio: 'tone', limiter, statsIntervalMs: 0, ptimeMs: job.ptimeMs }));
  }
  for (let i = 0; i < sessions.length; i += 10) {
    const res = await Promise.all(sessions.slice(i, i + 10).map((s) => s.join()));
    if (res.some((r) => !r.ok)) throw new Error(`a join was refused: ${JSON.stringify(res.find((r) => !r.ok))}`);
  }
  const want = job.groups.reduce((n, g) => n + g.members.length * (g.members.length - 1), 0);
  const peers = () => sessions.reduce((n, s) => n + s.peers.size, 0);
  const connected = () => peers() === want && sessions.every((s) => [...s.peers.values()].every((p) => p.connectedAt !== null));
  const deadline = performance.now() + 60_000;
  while (!connected() && performance.now() < deadline) await sleep(100);
  return { peers: peers(), ok: connected() };
}

async function audioStats() {
  let concealed = 0;
  let samples = 0;
  let expected = 0;
  let received = 0;
  for (const s of sessions) {
    await s.sampleStats();
    for (const p of s.peers.values()) {
      if (p.stats) (concealed += p.stats.concealedSamples), (samples += p.stats.totalSamplesReceived);
      expected += p.audio.expected;
      received += p.audio.received;
    }
  }
  return { concealed, samples, expected, received };
}

let w0 = null;
process.on('message', async (m) => {
  if (m.cmd === 'build') send({ type: 'meshed', ...(await build()) });
  else if (m.cmd === 'window-start') (w0 = await audioStats()), send({ type: 'started' });
  else if (m.cmd === 'window-end') {
    const w1 = await audioStats();
    const ds = w1.samples - w0.samples;
    const de = w1.expected - w0.expected;
    send({ type: 'window', concealedPct: ds > 0 ? +(((w1.concealed - w0.concealed) / ds) * 100).toFixed(2) : null, framesRecvPct: de > 0 ? +(((w1.received - w0.received) / de) * 100).toFixed(1) : null });
  } else if (m.cmd === 'close') {
    await Promise.all(sessions.map((s) => s.leave({ finalStats: false })));
    send({ type: 'closed' });
    setTimeout(() => leave(0), 100);
  }
});
send({ type: 'ready' });
