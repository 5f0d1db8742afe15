import { MbError } from '../errors.js';
import { LatencyHistogram } from '../metrics/latency-histogram.js';
import { SCHEMA_VERSION, type Checkpoint, type Finding, type Report, type ReportHistogram, type VoiceRoom } from './schema.js';
import { mergeTimelines } from './merge-timeline.js';
import { ratesOf } from './build-report.js';

/**
 * Exact merge of reports from shards (`run --shard i/n`, `run --workers N`) or repeated runs.
 *
 * - histograms: decoded and added bucket by bucket, percentiles recomputed from the result;
 * - counters and ledger totals: summed; rates: recomputed from the merged counters over the
 *   union of time (first start to last end);
 * - findings and checkpoints: kept, qualified by their shard (`s1/F3`, `[s1] final`);
 * - timelines: aligned on wall time in 1 s buckets; client counts summed, server counts taken
 *   as the max when every part measured the same target (it is one server seen n times),
 *   summed when each part had its own (bundled) server;
 * - status: incomplete if any part was.
 * Gates are not judged here: the caller (merge/gate commands, workers) calls regate().
 */
export interface MergeOptions {
  /** merge reports of different scenarios anyway */
  force?: boolean;
  /** how errors refer to each input (file names); defaults to report #i */
  names?: string[];
}

export function mergeReports(reports: Report[], opts: MergeOptions = {}): Report {
  if (reports.length === 0) throw new MbError('MB_ERR_USAGE', 'merge needs at least one report');
  const names = reports.map((_, i) => opts.names?.[i] ?? `report #${i + 1}`);
  reports.forEach((r, i) => {
    if (r.schemaVersion !== SCHEMA_VERSION)
      throw new MbError('MB_ERR_SCHEMA_VERSION', `${names[i]} has schemaVersion ${r.schemaVersion}, this miscord-bench reads ${SCHEMA_VERSION}`);
  });
  const first = reports[0]!;
  if (!opts.force) {
    reports.forEach((r, i) => {
      if (r.scenario.name !== first.scenario.name)
        throw new MbError(
          'MB_ERR_USAGE',
          `${names[i]} is a run of scenario "${r.scenario.name}", ${names[0]} of "${first.scenario.name}": refusing to merge (use --force to merge anyway)`,
        );
    });
  }
  const notes: string[] = [];
  const tags = partTags(reports);

  const startMs = Math.min(...reports.map((r) => Date.parse(r.startedAt)));
  const endMs = Math.max(...reports.map((r) => Date.parse(r.endedAt)));
  const unionMs = Math.max(0, endMs - startMs);

  const histograms = mergeHistograms(reports);
  const counters = sumRecords(reports.map((r) => r.counters));
  const rates = mergeRates(reports, counters, unionMs, notes);

  const sameTarget = reports.every((r) => r.target.url === first.target.url);
  const timeline = mergeTimelines(
    reports.map((r) => ({ startMs: Date.parse(r.startedAt), samples: r.timeline })),
    startMs,
    sameTarget ? 'max' : 'sum',
  );
  if (reports.length > 1)
    notes.push(
      sameTarget
        ? 'timeline: client counts are summed over the parts; server counts are the max per second, since every part watched the same server'
        : 'timeline: the parts ran against different servers, so server counts are summed as well',
    );

  const findings: Finding[] = [];
  const checkpoints: Checkpoint[] = [];
  reports.forEach((r, i) => {
    const tag = tags[i]!;
    const single = reports.length === 1;
    const fid = (id: string) => (single ? id : `${tag}/${id}`);
    const cpName = (n: string) => (single ? n : `[${tag}] ${n}`);
    for (const f of r.findings) findings.push({ ...f, id: fid(f.id), checkpoint: cpName(f.checkpoint) });
    for (const c of r.checkpoints) checkpoints.push({ ...c, name: cpName(c.name), findings: c.findings.map(fid) });
  });
  checkpoints.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));

  const shards = reports.flatMap((r) => r.shards).sort((a, b) => a.index - b.index || a.usernamePrefix.localeCompare(b.usernamePrefix));
  const incomplete = reports.filter((r) => r.status === 'incomplete');
  const gens = reports.map((r) => r.generator);
  const unreliable = gens.map((g, i) => (g.reliable ? null : `${tags[i]}: ${g.unreliableReason ?? 'unreliable'}`)).filter((x): x is string => !!x);

  const merged: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: first.tool,
    scenario: first.scenario,
    target: {
      ...first.target,
      url: sameTarget ? first.target.url : [...new Set(reports.map((r) => r.target.url))].join(' '),
      extStats: reports.every((r) => r.target.extStats),
      config: reports.find((r) => r.target.config)?.target.config ?? null,
    },
    shards,
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(endMs).toISOString(),
    durationMs: unionMs,
    status: incomplete.length ? 'incomplete' : 'completed',
    abortReason: incomplete.length ? incomplete.map((r) => `${tags[reports.indexOf(r)]}: ${r.abortReason ?? 'incomplete'}`).join('; ') : null,
    // the first gate that ended a shard ended the run (the parent then stops the others)
    ...firstGateAbort(reports),
    generator: {
      reliable: unreliable.length === 0,
      unreliableReason: unreliable.length ? unreliable.join('; ') : null,
      eventLoopDelayP99Ms: Math.max(...gens.map((g) => g.eventLoopDelayP99Ms)),
      eventLoopDelayMaxMs: Math.max(...gens.map((g) => g.eventLoopDelayMaxMs)),
      cpuUserMs: sum(gens.map((g) => g.cpuUserMs)),
      cpuSystemMs: sum(gens.map((g) => g.cpuSystemMs)),
      // the parts ran side by side: their peaks add up to the generator's footprint
      peakRssBytes: sum(gens.map((g) => g.peakRssBytes)),
      processes: sum(gens.map((g) => g.processes)),
    },
    histograms,
    counters,
    rates,
    timeline,
    ledger: mergeLedgers(reports),
    voice: mergeVoice(reports),
    checkpoints,
    findings,
    // the parts' gates judged only their slice: kept here so regate() judges them again on the whole
    gates: dedupeGates(reports),
    errors: mergeErrors(reports),
    verdict: {
      exitCode: 0,
      passed: findings.length === 0,
      leaks: findings.length,
      failedGates: 0,
    },
  };
  if (reports.length > 1) {
    notes.unshift(`merged from ${reports.length} reports: ${tags.join(', ')}`);
    merged.notes = notes;
  } else if (first.notes) merged.notes = first.notes;
  return merged;
}

/** A short stable tag per part: its shard index when unique, else its position. */
function partTags(reports: Report[]): string[] {
  const idx = reports.map((r) => (r.shards.length === 1 ? r.shards[0]!.index : null));
  const unique = idx.every((x) => x !== null) && new Set(idx).size === idx.length;
  return reports.map((_, i) => (unique ? `s${idx[i]}` : `r${i + 1}`));
}

function mergeHistograms(reports: Report[]): Record<string, ReportHistogram> {
  const byName = new Map<string, ReportHistogram[]>();
  for (const r of reports) for (const [k, h] of Object.entries(r.histograms)) byName.set(k, [...(byName.get(k) ?? []), h]);
  const out: Record<string, ReportHistogram> = {};
  for (const k of [...byName.keys()].sort()) out[k] = LatencyHistogram.merge(byName.get(k)!).encode();
  return out;
}

function mergeRates(reports: Report[], counters: Record<string, number>, unionMs: number, notes: string[]): Record<string, number> {
  // the run's own formulas over the merged counters and the union of time: exact
  const out = ratesOf(counters, unionMs);
  const seconds = unionMs / 1000;
  const approx: string[] = [];
  for (const name of [...new Set(reports.flatMap((r) => Object.keys(r.rates)))].sort()) {
    if (name in out) continue;
    const parts = reports.filter((r) => r.rates[name] !== undefined);
    if (name.endsWith('PerSec') && seconds > 0) {
      // a per-second rate times its part's duration is the count behind it
      out[name] = sum(parts.map((r) => r.rates[name]! * (r.durationMs / 1000))) / seconds;
      continue;
    }
    const w = sum(parts.map((r) => r.durationMs || 1));
    out[name] = sum(parts.map((r) => r.rates[name]! * (r.durationMs || 1))) / w;
    approx.push(name);
  }
  if (approx.length && reports.length > 1) notes.push(`rates ${approx.join(', ')}: duration-weighted mean of the parts (no counter formula known)`);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function mergeLedgers(reports: Report[]): Report['ledger'] {
  const ls = reports.map((r) => r.ledger);
  const s = (k: keyof Omit<Report['ledger'], 'byKind' | 'lastErrors'>) => sum(ls.map((l) => l[k] ?? 0));
  const byKind: Report['ledger']['byKind'] = {};
  for (const l of ls)
    for (const [k, v] of Object.entries(l.byKind)) {
      const cur = (byKind[k] ??= { opened: 0, closed: 0 });
      cur.opened += v.opened;
      cur.closed += v.closed;
    }
  return {
    users: s('users'),
    ...(ls.every((l) => l.logins !== undefined) ? { logins: s('logins') } : {}),
    connectionsCreated: s('connectionsCreated'),
    connectionsDestroyed: s('connectionsDestroyed'),
    reconnectAttempts: s('reconnectAttempts'),
    refusals: s('refusals'),
    peersCreated: s('peersCreated'),
    peersClosed: s('peersClosed'),
    openSocketsAtEnd: s('openSocketsAtEnd'),
    openPeersAtEnd: s('openPeersAtEnd'),
    byKind,
    lastErrors: ls.flatMap((l) => l.lastErrors).slice(0, 100),
  };
}

/** Voice rooms are concatenated; totals are recomputed (quality figures weighted by pairs). */
export function voiceTotals(rooms: VoiceRoom[]): NonNullable<Report['voice']>['totals'] {
  const s = (k: keyof VoiceRoom) => sum(rooms.map((r) => (r[k] as number | null) ?? 0));
  const weighted = (k: 'jitterMs' | 'rttMs' | 'concealedRatio') => {
    const have = rooms.filter((r) => r[k] !== null);
    const w = sum(have.map((r) => r.pairs || 1));
    return have.length ? sum(have.map((r) => r[k]! * (r.pairs || 1))) / w : null;
  };
  return {
    members: s('members'),
    pairs: s('pairs'),
    audioFramesExpected: s('audioFramesExpected'),
    audioFramesReceived: s('audioFramesReceived'),
    tonesDetected: s('tonesDetected'),
    videoFramesReceived: s('videoFramesReceived'),
    packetsLost: s('packetsLost'),
    jitterMs: weighted('jitterMs'),
    rttMs: weighted('rttMs'),
    bytesSent: s('bytesSent'),
    bytesReceived: s('bytesReceived'),
    concealedRatio: weighted('concealedRatio'),
  };
}

function mergeVoice(reports: Report[]): Report['voice'] {
  const withVoice = reports.filter((r) => r.voice);
  if (withVoice.length === 0) return null;
  if (withVoice.length === 1 && reports.length === 1) return withVoice[0]!.voice;
  const rooms = withVoice.flatMap((r) => r.voice!.rooms);
  return { rooms, totals: voiceTotals(rooms) };
}

function dedupeGates(reports: Report[]): Report['gates'] {
  const m = new Map<string, Report['gates'][number]>();
  for (const g of reports.flatMap((r) => r.gates)) if (!m.has(g.name)) m.set(g.name, g);
  return [...m.values()];
}

function mergeErrors(reports: Report[]): Report['errors'] {
  const m = new Map<string, Report['errors'][number]>();
  for (const e of reports.flatMap((r) => r.errors)) {
    const key = `${e.kind}\u0000${e.message}`;
    const cur = m.get(key);
    if (cur) cur.count += e.count;
    else m.set(key, { ...e });
  }
  return [...m.values()].sort((a, b) => b.count - a.count);
}

function sumRecords(records: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function firstGateAbort(reports: Report[]): Pick<Report, 'abortedBy'> {
  const aborts = reports.map((r) => r.abortedBy).filter((a): a is NonNullable<Report['abortedBy']> => !!a);
  return aborts.length ? { abortedBy: aborts.reduce((a, b) => (b.atMs < a.atMs ? b : a)) } : {};
}
