// Measuring helpers shared by the benches: process CPU from /proc (a process and its
// descendants, every thread), and the reference server's Prometheus counters.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';

let ticks = 100;
try {
  ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* 100 on every Linux we run on */
}

function childrenOf(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

/** CPU µs (user + system) of `pid` alone, every thread; 0 once it is gone. */
export function cpuOfOne(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which may hold spaces: utime is field 14, stime 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks;
  } catch {
    return 0;
  }
}

/** CPU µs (user + system) of `pid` and every live descendant. */
export function treeCpuUs(pid) {
  let sum = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    sum += cpuOfOne(p);
    stack.push(...childrenOf(p));
  }
  return sum;
}

/** Resident set of `pid` and its descendants, bytes. */
export function treeRssBytes(pid) {
  let sum = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) sum += Number(m[1]) * 1024;
    } catch {
      /* gone */
    }
    stack.push(...childrenOf(p));
  }
  return sum;
}

/** The reference server's chat deliveries and open chat sockets, from its /metrics. */
export async function serverCounts(url) {
  const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
  const text = await r.text();
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    chatDelivered: num(/^miscord_deliveries_total\{kind="chat"\} (\S+)/m),
    chatSockets: num(/^miscord_connections\{kind="chat"\} (\S+)/m),
  };
}

export const load1 = () => loadavg()[0].toFixed(2);

/** One process seen from outside: CPU µs so far, RSS bytes, open fds and threads (null once gone). */
export function procSnapshot(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { cpuUs: cpuOfOne(pid), rssBytes: field('VmRSS') * 1024, fds: readdirSync(`/proc/${pid}/fd`).length, threads: field('Threads') };
  } catch {
    return null;
  }
}

/** Least-squares slope of y over x, and R². */
export function slope(points) {
  const n = points.length;
  if (n < 2) return { slope: null, r2: null };
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of points) (sxy += (x - mx) * (y - my)), (sxx += (x - mx) ** 2), (syy += (y - my) ** 2);
  if (sxx === 0) return { slope: null, r2: null };
  return { slope: sxy / sxx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
