// The miscord-bench generator in its own process for bench/mem-bench.js, run with --expose-gc:
// `users` users connect (each with its chat and notifications sockets) and stay idle online.
// argv[2]: JSON {target, users, rampSeconds, holdSeconds}. IPC out: {type:'ready', heapUsed, external}
// (after two GCs, before the run), {type:'held', heapUsed, external, users, sockets} once everyone is
// online and two idle samples have passed (after two GCs; the parent reads RSS from /proc then),
// {type:'done', status}.
import { runScenario, parseScenario } from '../../dist/index.js';

const job = JSON.parse(process.argv[2]);
const send = (m) => process.connected && process.send(m);
process.on('disconnect', () => process.exit(0));
const gc = () => (globalThis.gc(), globalThis.gc(), process.memoryUsage().heapUsed);
// Buffers and ArrayBuffers live outside the JS heap: RSS minus heap is partly them
const external = () => process.memoryUsage().external;

const scenario = parseScenario({
  name: 'mem-bench',
  description: 'generator memory per simulated user',
  users: job.users,
  setup: { servers: 1, textChannels: 1, voiceChannels: 0 },
  connectConcurrency: 200,
  heartbeat: 0,
  phases: [
    { type: 'connect', rampUp: `${job.rampSeconds}s` },
    { type: 'idle', name: 'hold', duration: `${job.holdSeconds}s` },
    { type: 'disconnect' },
  ],
});

send({ type: 'ready', heapUsed: gc(), external: external() });
let idleSamples = 0;
const report = await runScenario({
  scenario,
  target: job.target,
  leakCheck: false,
  logLevel: 'error',
  signal: AbortSignal.timeout(job.timeoutMs ?? 240_000),
  onSample(s, live) {
    if (live.phase !== 'hold') return;
    if (++idleSamples === 2) send({ type: 'held', heapUsed: gc(), external: external(), users: s.users, sockets: s.client.total });
  },
});
send({ type: 'done', status: report.status });
process.disconnect();
