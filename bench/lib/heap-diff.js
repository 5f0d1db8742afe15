#!/usr/bin/env node
// What grew between two V8 heap snapshots (bench/soak-bench.js --snapshot-at writes them):
// objects counted and self sizes summed by kind and constructor name, the largest growths first.
//   node bench/lib/heap-diff.js earlier.heapsnapshot later.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--'));
const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 25;
if (!a || !b) {
  process.stderr.write('usage: node bench/lib/heap-diff.js earlier.heapsnapshot later.heapsnapshot [--top 25]\n');
  process.exit(2);
}

function tally(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + iType]];
    // strings and numbers by kind only: their names are their contents
    const name = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${snap.strings[nodes[i + iName]]}` : type;
    const e = out.get(name) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += nodes[i + iSize];
    out.set(name, e);
  }
  return out;
}

const before = tally(a);
const after = tally(b);
const rows = [];
for (const [name, e] of after) {
  const p = before.get(name) ?? { count: 0, bytes: 0 };
  rows.push({ name, count: e.count - p.count, bytes: e.bytes - p.bytes, now: e.count });
}
for (const [name, p] of before) if (!after.has(name)) rows.push({ name, count: -p.count, bytes: -p.bytes, now: 0 });
rows.sort((x, y) => y.bytes - x.bytes);
const sum = (m) => [...m.values()].reduce((n, e) => n + e.bytes, 0);
console.log(`self size ${(sum(before) / 1048576).toFixed(2)} -> ${(sum(after) / 1048576).toFixed(2)} MiB`);
for (const r of rows.slice(0, top)) console.log(`${String(r.bytes).padStart(10)} B ${String(r.count).padStart(8)} objects (now ${r.now})  ${r.name}`);
