#!/usr/bin/env node
// The generator's memory per simulated user: at each size, a fresh reference server in its own
// process and the generator in another (--expose-gc), `users` users online and idle, each with
// its chat and notifications sockets. RSS is read from /proc/<pid>/status, heap after two GCs
// inside the generator; both before the run (imports loaded) and once everyone is online.
// Per user: (held - before) / users, and the marginal cost between the two sizes. The baseline,
// in the same run at each size: a bare `ws` program (bench/lib/bare-ws-mem.js, no miscord-bench
// code) holding the same two idle sockets per user against the same kind of server; the
// ratio bench / bare is printed beside the absolute figures.
//
//   npx tsc -p . && node bench/mem-bench.js [--sizes 1000,5000] [--ramp-seconds 10] [--quick]
//
// Human output on stderr; one JSON line per size and a {"memory": ...} summary on stdout.
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { procSnapshot, load1 } from './lib/meter.js';
import { forkChild, nextMessage } from './lib/children.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    'ramp-seconds': { type: 'string' },
  },
});
const sizes = (args.sizes ?? (args.quick ? '200,1000' : '1000,5000')).split(',').map(Number);
const ramp = Number(args['ramp-seconds'] ?? (args.quick ? 3 : 10));
const log = (s) => process.stderr.write(`mem-bench: ${s}\n`);
const kb = (b) => +(b / 1024).toFixed(1);

async function measure(users, side) {
  const server = forkChild('server-proc.js', { maxPerUser: 10, maxTotal: users * 3 + 100, heartbeatMs: 30_000, logLevel: 'silent', scryptCost: 2 });
  const { url } = await nextMessage(server, 'listening');
  try {
    const gen = side === 'bare'
      ? forkChild('bare-ws-mem.js', { target: url, users }, ['--expose-gc'])
      : forkChild('generator-mem.js', { target: url, users, rampSeconds: ramp, holdSeconds: 8, timeoutMs: 200_000 }, ['--expose-gc']);
    const ready = await nextMessage(gen, 'ready');
    const before = procSnapshot(gen.pid);
    const held = await nextMessage(gen, 'held');
    // RSS right after the GCs still holds pages the allocator has not handed back yet: the
    // least of three readings a second apart, while everyone stays online and idle
    let at = procSnapshot(gen.pid);
    for (let k = 0; k < 2; k++) {
      await new Promise((r) => setTimeout(r, 1000));
      const p = procSnapshot(gen.pid);
      if (p && p.rssBytes < at.rssBytes) at = p;
    }
    await nextMessage(gen, 'done');
    await once(gen, 'exit');
    const row = {
      side,
      users,
      online: held.users,
      sockets: held.sockets,
      rssBeforeMiB: +(before.rssBytes / 1048576).toFixed(1),
      rssHeldMiB: +(at.rssBytes / 1048576).toFixed(1),
      heapBeforeMiB: +(ready.heapUsed / 1048576).toFixed(1),
      heapHeldMiB: +(held.heapUsed / 1048576).toFixed(1),
      rssKBPerUser: kb((at.rssBytes - before.rssBytes) / users),
      heapKBPerUser: kb((held.heapUsed - ready.heapUsed) / users),
      externalKBPerUser: kb((held.external - ready.external) / users),
      fdsPerUser: +((at.fds - before.fds) / users).toFixed(2),
      rssBytes: at.rssBytes,
      heapBytes: held.heapUsed,
    };
    console.log(JSON.stringify({ memoryStep: row }));
    return row;
  } finally {
    server.send({ cmd: 'close' });
    await Promise.race([once(server, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

log(`sizes ${sizes.join(', ')} users (chat + notifications socket each), ramp ${ramp} s; load average ${load1()}`);
const rows = [];
for (const n of sizes) {
  for (const side of ['bench', 'bare']) {
    log(`${n} users, ${side === 'bench' ? 'miscord-bench' : 'bare ws baseline'}...`);
    rows.push(await measure(n, side));
  }
}
const ratio = (a, b) => (b > 0 ? +(a / b).toFixed(2) : null);
const marginalOf = (side) => {
  const own = rows.filter((r) => r.side === side);
  if (own.length < 2) return null;
  const [a, b] = [own[0], own.at(-1)];
  return { side, from: a.users, to: b.users, rssKBPerUser: kb((b.rssBytes - a.rssBytes) / (b.users - a.users)), heapKBPerUser: kb((b.heapBytes - a.heapBytes) / (b.users - a.users)) };
};
const marginal = marginalOf('bench');
const bareMarginal = marginalOf('bare');
process.stderr.write('\nside   users  online  sockets  RSS before  RSS held  heap before  heap held  RSS KB/user  heap KB/user  external KB/user  fds/user\n');
for (const r of rows) {
  process.stderr.write(`${r.side.padEnd(5)} ${String(r.users).padStart(6)} ${String(r.online).padStart(7)} ${String(r.sockets).padStart(8)} ${String(r.rssBeforeMiB).padStart(11)} ${String(r.rssHeldMiB).padStart(9)} ${String(r.heapBeforeMiB).padStart(12)} ${String(r.heapHeldMiB).padStart(10)} ${String(r.rssKBPerUser).padStart(12)} ${String(r.heapKBPerUser).padStart(13)} ${String(r.externalKBPerUser).padStart(17)} ${String(r.fdsPerUser).padStart(9)}\n`);
}
const ratios = sizes.map((n) => {
  const b = rows.find((r) => r.side === 'bench' && r.users === n);
  const w = rows.find((r) => r.side === 'bare' && r.users === n);
  const x = { users: n, rss: ratio(b.rssKBPerUser, w.rssKBPerUser), heap: ratio(b.heapKBPerUser, w.heapKBPerUser) };
  process.stderr.write(`${n} users: bench / bare ws per user: RSS ${x.rss}x (${b.rssKBPerUser} / ${w.rssKBPerUser} KB), heap ${x.heap}x (${b.heapKBPerUser} / ${w.heapKBPerUser} KB)\n`);
  return x;
});
if (marginal) process.stderr.write(`marginal ${marginal.from} -> ${marginal.to} users: RSS ${marginal.rssKBPerUser} KB/user, heap ${marginal.heapKBPerUser} KB/user; bare ws: RSS ${bareMarginal.rssKBPerUser}, heap ${bareMarginal.heapKBPerUser} KB/user (goal < 40 KB; MiB columns are MiB)\n`);
console.log(JSON.stringify({ memory: { rows: rows.map(({ rssBytes, heapBytes, ...r }) => r), ratios, marginal, bareMarginal } }));
