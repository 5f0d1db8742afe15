import { createHash } from 'node:crypto';
import { MbError } from '../errors.js';
import { LatencyHistogram } from '../metrics/latency-histogram.js';
import { SCHEMA_VERSION, type Checkpoint, type Finding, type MergeKind, type Report, type ReportHistogram, type TimelineSample, type VoiceRoom } from './schema.js';
import { mergeTimelines } from './merge-timeline.js';
import { ratesOf } from './build-report.js';
import { joinTraffic } from './traffic-join.js';

/**
 * Exact merge of reports from shards of one run (`run --shard i/n`, `run --workers N`) or of
 * repeated runs. Which of the two it is decides time, so it is decided first and refused
 * when it cannot be told:
 *
 * - a run merged twice is refused (two parts holding the same `runId`); reports written
 *   before runIds existed are each their own run;
 * - shards (every part a slice i/n of the same n, each index once): the duration is the
 *   run's wall time, first start to last end (the longest part when times are unreadable);
 *   timelines are aligned on wall time;
 * - repeats (every part a whole run, possibly itself a merge of its shards): the duration
 *   is the sum of the runs' own durations; timelines are laid end to end;
 * - shards beside whole runs, or a shard index twice, is refused: merge each run's shards
 *   first, then the merged runs as repeats.
 *
 * Then: histograms are decoded and added bucket by bucket, percentiles recomputed; counters
 * and ledger totals summed; rates recomputed from the merged counters over that duration;
 * findings and checkpoints kept, qualified by their part (`s1/F3`, `[s1] final`); server
 * counts on a shards timeline are the max when every part watched the same target (one
 * server seen n times), the sum when each had its own; status incomplete if any part was.
 * The result says what it is in `merge` and gets a runId derived from its parts.
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
  refuseRepeatedRuns(reports, names);
  const kind = mergeKind(reports, names);
  const notes: string[] = [];
  const tags = partTags(reports, kind);

  const starts = reports.map((r) => Date.parse(r.startedAt));
  const ends = reports.map((r) => Date.parse(r.endedAt));
  const timesKnown = [...starts, ...ends].every(Number.isFinite);
  const startMs = timesKnown ? Math.min(...starts) : Date.parse(first.startedAt) || 0;
  const endMs = timesKnown ? Math.max(...ends) : startMs;
  const durationMs = mergedDuration(reports, kind, timesKnown ? endMs - startMs : null, notes);

  const histograms = mergeHistograms(reports);
  const counters = sumRecords(reports.map((r) => r.counters));
  if (kind === 'shards') joinAcrossShards(reports, tags, histograms, counters, notes);
  const rates = mergeRates(reports, counters, durationMs, notes);

  const sameTarget = reports.every((r) => r.target.url === first.target.url);
  const timeline = kind === 'repeats' ? endToEnd(reports) : mergeTimelines(reports.map((r) => ({ startMs: Date.parse(r.startedAt), samples: r.timeline })), startMs, sameTarget ? 'max' : 'sum');
  if (reports.length > 1)
    notes.push(
      kind === 'repeats'
        ? 'timeline: the runs are laid end to end, each on its own time (they are repeats, not one run)'
        : sameTarget
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
  // shards ran side by side: their footprints add up; repeats ran one after another
  const together = (xs: number[]) => (kind === 'shards' ? sum(xs) : Math.max(...xs));

  const merged: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: first.tool,
    ...(reports.length === 1 ? (first.runId ? { runId: first.runId } : {}) : { runId: derivedRunId(kind, reports) }),
    ...(reports.length === 1 ? (first.merge ? { merge: first.merge } : {}) : { merge: mergeInfo(kind, reports, tags) }),
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
    durationMs,
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
      peakRssBytes: together(gens.map((g) => g.peakRssBytes)),
      processes: together(gens.map((g) => g.processes)),
    },
    histograms,
    counters,
    rates,
    timeline,
    ledger: mergeLedgers(reports),
    voice: mergeVoice(reports),
    checkpoints,
    findings,
    ...(reports.some((r) => r.checks) ? { checks: mergeChecks(reports) } : {}),
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
    notes.unshift(`merged from ${reports.length} reports (${kind === 'shards' ? 'shards of one run' : 'repeated runs'}): ${tags.join(', ')}`);
    merged.notes = notes;
  } else if (first.notes) merged.notes = first.notes;
  return merged;
}

/**
 * Shards of one world see each other's messages: the deliveries that crossed shards are
 * counted from the shards' traffic records (src/report/traffic-join.ts) and added to the
 * counters and to `chat.deliver`, so the merged ratio, losses and latency are the whole run's.
 */
function joinAcrossShards(reports: Report[], tags: string[], histograms: Record<string, ReportHistogram>, counters: Record<string, number>, notes: string[]): void {
  const withTraffic = reports.filter((r) => r.traffic);
  if (withTraffic.length < 2) {
    if (withTraffic.length === 1 && reports.length > 1) notes.push('deliveries across shards: only one part carries traffic records, so only deliveries inside each shard are counted');
    return;
  }
  const prefixes = new Set(withTraffic.map((r) => r.traffic!.keyPrefix));
  if (prefixes.size > 1) {
    notes.push('deliveries across shards: the shards ran in different worlds (different run ids), so only deliveries inside each shard are counted');
    return;
  }
  if (withTraffic.length < reports.length) notes.push(`deliveries across shards: ${reports.length - withTraffic.length} part(s) carry no traffic records (already merged, or from an older version): their deliveries with the others are not counted`);
  const j = joinTraffic(withTraffic.map((r) => r.traffic!));
  const add = (k: string, v: number) => {
    if (v || counters[k] !== undefined) counters[k] = (counters[k] ?? 0) + v;
  };
  add('chat.expected', j.expected);
  add('chat.delivered', j.delivered);
  add('chat.excused', j.excused);
  add('chat.lost', j.lost);
  add('chat.unexpected', j.unexpected);
  if (j.latency.count) {
    const own = histograms['chat.deliver'];
    histograms['chat.deliver'] = (own ? LatencyHistogram.decode(own).add(j.latency) : j.latency).encode();
  }
  const tagOf = (shard: number) => tags[reports.findIndex((r) => r.traffic?.shard.index === shard)] ?? `s${shard}`;
  const clocks = j.clocks.map((c) => (c.lowMs === null ? `${tagOf(c.shard)} unknown (no round trip)` : `${tagOf(c.shard)} [${c.lowMs.toFixed(1)}, ${c.highMs!.toFixed(1)}] ms (${c.samples} round trips)`));
  notes.push(
    `deliveries across shards: ${j.delivered} of ${j.expected} expected (${j.excused} excused, ${j.lost} lost, ${j.unexpected} unexpected) joined from the shards' traffic records and added to the counters and chat.deliver`,
    `clock offsets (target − shard, bounded by each shard's own messages' round trips): ${clocks.join('; ')}; largest correction applied between two shards: ${j.maxCorrectionMs.toFixed(1)} ms (none where the bounds overlap)`,
  );
  if (j.dropped) notes.push(`deliveries across shards: ${j.dropped} receipts were past the shards' record bound and are not counted`);
}

/** The runs a report holds: its own id and, for a merged one, every run merged into it. */
function runIdsOf(r: Report): string[] {
  return [...new Set([r.runId, ...(r.merge?.runIds ?? [])].filter((x): x is string => typeof x === 'string'))];
}

function refuseRepeatedRuns(reports: Report[], names: string[]): void {
  const holder = new Map<string, number>();
  reports.forEach((r, i) => {
    for (const id of runIdsOf(r)) {
      const j = holder.get(id);
      if (j !== undefined)
        throw new MbError(
          'MB_ERR_USAGE',
          j === i ? `${names[i]} holds run ${id} twice` : `${names[j]} and ${names[i]} both hold run ${id}: merging a run twice would count it twice`,
          { runId: id },
        );
      holder.set(id, i);
    }
  });
}

/** A part is a slice of a run (shard i/n, or a merge of some of its shards) or a whole run. */
function sliceOf(r: Report): { count: number; indices: number[] } | null {
  const sliced = r.shards.filter((s) => s.count > 1);
  if (!sliced.length) return null;
  const count = sliced[0]!.count;
  const indices = [...new Set(sliced.map((s) => s.index))].sort((a, b) => a - b);
  if (sliced.some((s) => s.count !== count)) return { count: -1, indices };
  // every shard of the run: a whole run (e.g. a merged --workers run)
  return indices.length === count ? null : { count, indices };
}

function mergeKind(reports: Report[], names: string[]): MergeKind {
  if (reports.length === 1) return reports[0]!.merge?.kind ?? 'shards';
  const slices = reports.map(sliceOf);
  const describe = (i: number) => {
    const s = slices[i];
    return s ? `shard${s.indices.length > 1 ? 's' : ''} ${s.indices.join(',')}/${s.count} of a run` : 'a whole run';
  };
  const bad = slices.findIndex((s) => s !== null && s.count < 0);
  if (bad >= 0) throw new MbError('MB_ERR_USAGE', `${names[bad]} holds shards of runs split in different counts: it is not a slice of one run`);
  const whole = slices.findIndex((s) => s === null);
  const slice = slices.findIndex((s) => s !== null);
  if (whole >= 0 && slice >= 0)
    throw new MbError(
      'MB_ERR_USAGE',
      `${names[slice]} is ${describe(slice)}, ${names[whole]} is ${describe(whole)}: shards of one run and repeated runs do not merge together (their time adds up differently). Merge each run's shards first, then merge the runs`,
    );
  if (slice < 0) return 'repeats';
  const count = slices[slice]!.count;
  const owner = new Map<number, number>();
  slices.forEach((s, i) => {
    if (s!.count !== count) throw new MbError('MB_ERR_USAGE', `${names[slice]} is ${describe(slice)}, ${names[i]} is ${describe(i)}: not shards of the same run`);
    for (const idx of s!.indices) {
      const j = owner.get(idx);
      if (j !== undefined)
        throw new MbError(
          'MB_ERR_USAGE',
          `${names[j]} and ${names[i]} are both shard ${idx}/${count}: each shard of a run appears once. To merge repeated sharded runs, merge each run's shards first, then merge the runs`,
        );
      owner.set(idx, i);
    }
  });
  return 'shards';
}

function mergedDuration(reports: Report[], kind: MergeKind, wallMs: number | null, notes: string[]): number {
  if (reports.length === 1) return reports[0]!.durationMs;
  if (kind === 'repeats') {
    notes.push(`duration: the sum of the ${reports.length} runs' own durations (rates per second are over it)`);
    return sum(reports.map((r) => r.durationMs));
  }
  const longest = Math.max(...reports.map((r) => r.durationMs));
  if (wallMs === null) {
    notes.push("duration: the longest shard's (start or end times unreadable)");
    return longest;
  }
  const wall = Math.max(0, wallMs);
  if (wall > sum(reports.map((r) => r.durationMs))) notes.push(`duration: the shards did not overlap in time: the run's wall time (${(wall / 1000).toFixed(1)} s) includes gaps when no shard ran`);
  return wall;
}

function mergeInfo(kind: MergeKind, reports: Report[], tags: string[]): NonNullable<Report['merge']> {
  return {
    kind,
    runIds: [...new Set(reports.flatMap(runIdsOf))],
    parts: reports.map((r, i) => ({ tag: tags[i]!, runId: r.runId ?? null, runIds: runIdsOf(r), startedAt: r.startedAt, durationMs: r.durationMs })),
  };
}

/** The same parts give the same id, so a merge written twice is still one run. */
function derivedRunId(kind: MergeKind, reports: Report[]): string {
  const keys = reports.map((r) => r.runId ?? `${r.startedAt}|${r.endedAt}|${r.shards.map((s) => s.usernamePrefix).join(',')}`).sort();
  const h = createHash('sha256').update(`${kind}\n${keys.join('\n')}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Repeated runs' timelines, in the order they started, each after the previous one's end. */
function endToEnd(reports: Report[]): TimelineSample[] {
  const out: TimelineSample[] = [];
  let offset = 0;
  for (const r of [...reports].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))) {
    for (const s of r.timeline) out.push({ ...s, t: s.t + offset, ...(s.serverT !== undefined ? { serverT: s.serverT + offset } : {}) });
    offset += Math.max(r.durationMs, (r.timeline.at(-1)?.t ?? 0) + 1);
  }
  return out;
}

/** A short stable tag per part: for shards, its shard index when unique, else its position. */
function partTags(reports: Report[], kind: MergeKind): string[] {
  const idx = reports.map((r) => (r.shards.length === 1 ? r.shards[0]!.index : null));
  const unique = kind === 'shards' && idx.every((x) => x !== null) && new Set(idx).size === idx.length;
  return reports.map((_, i) => (unique ? `s${idx[i]}` : `r${i + 1}`));
}

function mergeHistograms(reports: Report[]): Record<string, ReportHistogram> {
  const byName = new Map<string, ReportHistogram[]>();
  for (const r of reports) for (const [k, h] of Object.entries(r.histograms)) byName.set(k, [...(byName.get(k) ?? []), h]);
  const out: Record<string, ReportHistogram> = {};
  for (const k of [...byName.keys()].sort()) out[k] = LatencyHistogram.merge(byName.get(k)!).encode();
  return out;
}

function mergeRates(reports: Report[], counters: Record<string, number>, durationMs: number, notes: string[]): Record<string, number> {
  // the run's own formulas over the merged counters and the merged duration: exact
  const out = ratesOf(counters, durationMs);
  const seconds = durationMs / 1000;
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

/** A check judged in any part was judged (counts add up); skipped if a part wanted it and none judged it. */
function mergeChecks(reports: Report[]): NonNullable<Report['checks']> {
  const out: NonNullable<Report['checks']> = {};
  for (const r of reports) {
    for (const [cls, c] of Object.entries(r.checks ?? {})) {
      const cur = out[cls];
      if (!cur) out[cls] = { ...c };
      else if (c.status === 'inconclusive' || cur.status === 'inconclusive') out[cls] = { status: 'inconclusive', judged: cur.judged + c.judged, reason: cur.reason ?? c.reason };
      else if (c.status === 'judged' || cur.status === 'judged') out[cls] = { status: 'judged', judged: cur.judged + c.judged };
      else if (c.status === 'skipped') out[cls] = { ...c };
    }
  }
  return out;
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
