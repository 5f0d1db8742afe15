// The bare wrtc baseline of bench/voice-bench.js: no miscord-bench code at all. The same
// rooms x users-per-room mesh as the bench's own voice users, built with plain wrtc in this
// process: one RTCAudioSource per user fed by one shared 10 ms timer (48 kHz mono, 480
// samples of a tone, as src/client/voice/tone-source.ts frames it), one track of that source
// per peer connection, an RTCAudioSink per remote track counting frames, offers and answers
// passed directly (a=ptime as the bench writes it), only 127.0.0.1 host candidates.
// argv[2]: JSON {rooms, usersPerRoom, ptimeMs}. IPC: sends {type:'ready'} (imports loaded),
// then on {cmd:'build'} {type:'meshed', peers, ok}; {cmd:'window-start'} -> {type:'started'}, {cmd:'window-end'}
// answer {type:'window', concealedPct, framesRecvPct}; {cmd:'close'} closes and exits.
import wrtc from 'wrtc';
import { FRAME_SAMPLES, SAMPLE_RATE, negotiate, toneFrames } from './bare-wrtc.js';

const { RTCPeerConnection } = wrtc;
const { RTCAudioSource, RTCAudioSink } = wrtc.nonstandard;
const job = JSON.parse(process.argv[2]);
const send = (m) => process.connected && process.send(m);
// wrtc: a process that created an RTCAudioSource must leave through an explicit exit
const leave = (code) => process.exit(code);
process.on('disconnect', () => leave(0));


const users = [];
const pcs = [];
let timer = null;
let frames = 0;
let expected = 0;

function makeUser(hz) {
  const u = { source: new RTCAudioSource(), frames: toneFrames(hz), next: 0, tracks: [] };
  users.push(u);
  return u;
}

/** A connects to B: two peer connections, each sending its user's tone and sinking the other's. */
async function connect(a, b) {
  const pa = new RTCPeerConnection({ iceServers: [] });
  const pb = new RTCPeerConnection({ iceServers: [] });
  const pair = [pa, pb];
  pcs.push(...pair);
  for (const [pc, u] of [[pa, a], [pb, b]]) {
    const track = u.source.createTrack();
    u.tracks.push(track);
    pc.addTrack(track);
    pc.ontrack = (e) => {
      const sink = new RTCAudioSink(e.track);
      sink.ondata = () => frames++;
      pc.sinks = [...(pc.sinks ?? []), sink];
    };
  }
  await negotiate(pa, pb, job.ptimeMs);
}

const connected = () => pcs.every((pc) => pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed');

async function build() {
  const rooms = [];
  for (let r = 0; r < job.rooms; r++) rooms.push(Array.from({ length: job.usersPerRoom }, (_, i) => makeUser(300 + 40 * ((r * job.usersPerRoom + i) % 40))));
  // one timer feeds every source, catching up with wall time as the bench's sources do
  const started = performance.now();
  let fed = 0;
  timer = setInterval(() => {
    const due = Math.floor((performance.now() - started) / 10) - fed;
    const n = Math.min(due, 10);
    for (const u of users) {
      for (let i = 0; i < n; i++) {
        u.source.onData({ samples: u.frames[u.next], sampleRate: SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME_SAMPLES });
        u.next = (u.next + 1) % u.frames.length;
      }
    }
    // every user's frames go to each of its (usersPerRoom - 1) peers
    expected += n * users.length * (job.usersPerRoom - 1);
    fed += due;
  }, 10);
  // negotiations five at a time, as the bench's limiter allows
  const todo = [];
  for (const room of rooms) for (let i = 0; i < room.length; i++) for (let j = i + 1; j < room.length; j++) todo.push([room[i], room[j]]);
  const workers = Array.from({ length: 5 }, async () => {
    while (todo.length) await connect(...todo.shift());
  });
  await Promise.all(workers);
  const deadline = performance.now() + 60_000;
  while (!connected() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return { peers: pcs.length, ok: connected() };
}

async function audioStats() {
  let concealed = 0;
  let samples = 0;
  for (const pc of pcs) {
    for (const r of (await pc.getStats()).values()) {
      if (r.type === 'inbound-rtp' && (r.kind ?? r.mediaType) === 'audio') (concealed += r.concealedSamples ?? 0), (samples += r.totalSamplesReceived ?? 0);
    }
  }
  return { concealed, samples, frames, expected };
}

let w0 = null;
process.on('message', async (m) => {
  if (m.cmd === 'build') send({ type: 'meshed', ...(await build()) });
  else if (m.cmd === 'window-start') (w0 = await audioStats()), send({ type: 'started' });
  else if (m.cmd === 'window-end') {
    const w1 = await audioStats();
    const ds = w1.samples - w0.samples;
    const de = w1.expected - w0.expected;
    send({ type: 'window', concealedPct: ds > 0 ? +(((w1.concealed - w0.concealed) / ds) * 100).toFixed(2) : null, framesRecvPct: de > 0 ? +(((w1.frames - w0.frames) / de) * 100).toFixed(1) : null });
  } else if (m.cmd === 'close') {
    clearInterval(timer);
    for (const pc of pcs) {
      for (const s of pc.sinks ?? []) s.stop();
      pc.close();
    }
    for (const u of users) for (const t of u.tracks) t.stop();
    send({ type: 'closed' });
    setTimeout(() => leave(0), 100);
  }
});
send({ type: 'ready' });
