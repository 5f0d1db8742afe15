// The generator benchmark's table, shared by bench/client-bench.js and bench/run-all.js.

export const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : typeof v === 'number' ? v.toFixed(d) : String(v));

export function clientTable(rows) {
  const head = ['side', 'users', 'fan-out', 'sockets', 'asked d/s', 'achieved d/s', 'ratio', 'p50 ms', 'p99 ms', 'CPU µs/deliv', 'CPU %', 'ELD ms', 'RSS MiB'];
  const body = rows.map((r) => [r.side, r.users, r.fanout ?? 'n/a', r.sockets, r.asked, fmt(r.achieved), fmt(r.ratio, 4), fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.usPerDelivery, 2), fmt(r.cpuPct), fmt(r.eldP99, 1), fmt(r.rssMiB)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

