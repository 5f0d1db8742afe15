// A soak run in this process for bench/soak-bench.js, run with --expose-gc: the programmatic
// API (dist/index.js's runScenario) on the given scenario, as `miscord-bench run` would, while
// every `sampleMs` two full GCs run and the heap after them goes to the parent (which reads this
// process's RSS from /proc at the same moment). The CLI has no heap hook, hence this driver.
// argv[2]: JSON {target, scenario (shipped name or path), users?, durationMs, sampleMs,
// snapshotAtMs?: [ms...], snapshotDir?}: with snapshotAtMs, a heap snapshot (after the sample's
// GCs) is written to snapshotDir at the first sample at or after each of those times, to diff
// what the heap holds across cycles.
// IPC out: {type:'sample', t, heapUsed, cycle} (t: ms since the run began; cycle: the soak cycle
// running, -1 outside the soak), {type:'done', status, cycles, findings}.
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { runScenario } from '../../dist/index.js';

const job = JSON.parse(process.argv[2]);
const send = (m) => process.connected && process.send(m);
const leave = (code) => process.exit(code); // explicit: a process that used wrtc must not exit naturally
process.on('disconnect', () => leave(0));

let cycle = -1;
const snapshots = [...(job.snapshotAtMs ?? [])].sort((a, b) => a - b);
let maxCycle = -1;
const t0 = performance.now();
const timer = setInterval(() => {
  globalThis.gc();
  globalThis.gc();
  const t = Math.round(performance.now() - t0);
  send({ type: 'sample', t, heapUsed: process.memoryUsage().heapUsed, cycle });
  while (snapshots.length && t >= snapshots[0]) {
    snapshots.shift();
    writeHeapSnapshot(join(job.snapshotDir ?? '.', `soak-${process.pid}-${t}ms-cycle${cycle}.heapsnapshot`));
  }
}, job.sampleMs);

const report = await runScenario({
  scenario: job.scenario,
  target: job.target,
  users: job.users,
  durationMs: job.durationMs,
  logLevel: 'error',
  onSample(_s, live) {
    const m = /^[^/]+\/(\d+)\//.exec(live.phase);
    cycle = m ? Number(m[1]) : -1;
    maxCycle = Math.max(maxCycle, cycle);
  },
});
clearInterval(timer);
send({ type: 'done', status: report.status, cycles: maxCycle + 1, findings: report.findings.map((f) => f.class) });
setTimeout(() => leave(0), 100);
