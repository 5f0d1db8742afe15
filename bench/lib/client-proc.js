// Raw `ws` clients for bench/server-bench.js, in their own process.
// argv[2] is a JSON job; results go back over IPC.
//   {mode:'idle', wsUrl, targets:[{path, token}], count, concurrency}
//   {mode:'rooms', wsUrl, rooms:[{serverId, textChannelId, tokens:[...]}], steps:[deliveriesPerSec], stepMs, drainMs, warmupMs}
import WebSocket from 'ws';
import hdr from 'hdr-histogram-js';

const job = JSON.parse(process.argv[2]);
const sockets = new Set();

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      resolve(ws);
    });
    ws.on('error', reject); // on, not once: a later error after the first must not go unhandled
  });
}

async function openMany(urls, concurrency) {
  const out = [];
  let i = 0;
  let errors = 0;
  const worker = async () => {
    while (i < urls.length) {
      const url = urls[i++];
      try {
        out.push(await open(url));
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { out, errors };
}

async function closeAll() {
  const closing = [...sockets].map((ws) => new Promise((r) => (ws.once('close', r), ws.close())));
  await Promise.all(closing);
}

async function idle() {
  const urls = [];
  for (let k = 0; k < job.count; k++) {
    const t = job.targets[k % job.targets.length];
    urls.push(`${job.wsUrl}${t.path}?token=${t.token}`);
  }
  const started = performance.now();
  const { out, errors } = await openMany(urls, job.concurrency ?? 200);
  process.send({ type: 'opened', count: out.length, errors, ms: Math.round(performance.now() - started) });
  await new Promise((r) => process.once('message', r)); // {cmd:'close'}
  await closeAll();
  process.send({ type: 'closed' });
}

async function rooms() {
  const members = []; // {ws, room}
  for (const [r, room] of job.rooms.entries()) {
    for (const token of room.tokens) {
      const ws = await open(`${job.wsUrl}/ws/chat/${room.serverId}?token=${token}`);
      members.push({ ws, room: r, tc: room.textChannelId });
    }
  }
  const roomSize = job.rooms[0].tokens.length;
  let hist;
  let delivered = 0;
  for (const m of members) {
    m.ws.on('message', (data) => {
      const now = performance.now();
      // a substring search, not JSON.parse: the generator must cost less than the server
      const text = data.toString();
      if (!text.startsWith('{"type":"message"')) return;
      const at = text.indexOf('"content":"') + 11;
      const colon = text.indexOf(':', at);
      const intended = Number(text.slice(colon + 1, text.indexOf('"', colon)));
      if (hist) hist.recordValue(Math.max(1, Math.round((now - intended) * 1000))); // µs
      delivered++;
    });
  }
  const results = [];
  // a warm-up at the first step's rate, not recorded: JIT and heap growth of both processes
  // happen there, as wrk2's calibration period does, so the steps measure the steady state
  const steps = job.warmupMs > 0 ? [{ rate: job.steps[0], ms: job.warmupMs, warmup: true }] : [];
  for (const rate of job.steps) steps.push({ rate, ms: job.stepMs, warmup: false });
  for (const { rate: deliveriesPerSec, ms: stepMs, warmup } of steps) {
    hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    delivered = 0;
    const msgsPerSec = deliveriesPerSec / roomSize;
    const start = performance.now();
    let sent = 0;
    // open model: message k is due at start + k / rate; latency counts from that instant
    await new Promise((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        const due = Math.min(Math.floor(((now - start) / 1000) * msgsPerSec), Math.floor((stepMs / 1000) * msgsPerSec));
        while (sent < due) {
          const m = members[sent % members.length];
          const intended = start + (sent * 1000) / msgsPerSec;
          m.ws.send(`{"type":"message","content":"${sent}:${intended}","text_channel_id":${m.tc}}`);
          sent++;
        }
        if (now - start >= stepMs) {
          clearInterval(tick);
          resolve();
        }
      }, 2);
    });
    const sendEnd = performance.now();
    const expected = sent * roomSize;
    const drainDeadline = sendEnd + job.drainMs;
    while (delivered < expected && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 10));
    const elapsed = (performance.now() - start) / 1000;
    if (warmup) {
      hist.destroy?.();
      continue;
    }
    results.push({
      target: deliveriesPerSec,
      sent,
      expected,
      delivered,
      achieved: Math.round(delivered / Math.max(elapsed, stepMs / 1000)),
      p50ms: hist.getValueAtPercentile(50) / 1000,
      p99ms: hist.getValueAtPercentile(99) / 1000,
      maxMs: hist.maxValue / 1000,
    });
    hist.destroy?.();
    if (delivered < expected * 0.9) break; // collapsed: higher steps only take longer
  }
  process.send({ type: 'rooms', results });
  await closeAll();
}

process.on('disconnect', () => {
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});
await (job.mode === 'idle' ? idle() : rooms());
process.disconnect();
