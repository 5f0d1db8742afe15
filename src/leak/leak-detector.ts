import { clock, delay } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { fetchStats as httpFetchStats } from '../client/fetch-stats.js';
import type { SocketCounts, StatsReading } from '../protocol/stats-reading.js';
import type { SocketRecord, UserLedger } from '../client/ledger.js';
import type { StatsConfig } from '../protocol/messages.js';
import { SERVE_OPTIONS } from '../server/options.js';
import type { Checkpoint } from '../report/schema.js';
import type { Tracer } from '../trace/tracer.js';
import type { EncodedHistogram } from '../metrics/latency-histogram.js';
import type { FindingDraft, LeakDetector, LeakUserView, Reconciliation } from './types.js';
import type { VoicePromises } from './voice-promises.js';
import type { ChatPromises } from './chat-promises.js';
import { checkPresence, httpFetchServerMembers, type FetchServerMembers } from './presence-check.js';
import { checkMesh } from './mesh-check.js';
import { goneSince } from './presence-check.js';
import { FindingClassSchema } from '../report/schema.js';
import { settle } from './settle-loop.js';
import { reconcileExt } from './ext-reconciler.js';
import { reconcileV1 } from './v1-reconciler.js';
import { DeregisterWatcher } from './deregister-watcher.js';
import { checkPeers } from './peer-check.js';
import { SocketGrowthCheck } from './socket-growth.js';
import { benchMemory, benchSample, checkBenchLeak, type BenchSample } from './bench-leak.js';
import { checkResourceGrowth, trendsOf, DEFAULT_TOLERANCES, type ResourceSample, type TrendOptions } from './resource-trend.js';
import { httpFetchMembers, reconcileMembers, roomsOf, type FetchMembers } from './voice-members.js';
import { FindingBook } from './finding-book.js';
import { classify, countByKind } from './views.js';

export interface LeakDetectorOptions {
  /** http://host:port of the target */
  httpUrl: string;
  /** how long a checkpoint may poll for stable counts (default 2000) */
  settleMs?: number;
  /** interval of the settle loop (default 100) */
  pollMs?: number;
  tracer?: Pick<Tracer, 'recent' | 'emit'>;
  log?: Logger;
  signal?: AbortSignal;
  /** heartbeat etc. from the CLI, for a server without the [ext] config */
  clientConfig?: Partial<StatsConfig>;
  /** only users whose name starts with it are this run's (a shared deployment has others) */
  usernamePrefix?: string;
  /** a close that takes longer to leave the registry is slow-deregister (default 1000) */
  slowDeregisterMs?: number;
  /** stats polling interval while closes are pending (default 100) */
  deregisterPollMs?: number;
  /** added to heartbeat × (missedPongs + 1) before a frozen socket must be gone (default max(500, heartbeat / 2)) */
  reapSlackMs?: number;
  /** time a peer may outlive its remote's departure (default 1000) */
  peerGraceMs?: number;
  /** v1 totals: sockets of real users coming and going that are tolerated (default 0) */
  v1Tolerance?: number;
  /** generator fds and socket handles tolerated above the baseline at the end (default 16) */
  benchTolerance?: number;
  trend?: TrendOptions;
  /** every simulated user's ledger by index, kept by the runner as it creates users (the v1 close watcher counts every ledger, not only those seen at a checkpoint) */
  ledgers?: ReadonlyMap<number, UserLedger>;
  /** the voice protocol's promises over the users' history (missed and spurious events, participants) */
  voicePromises?: VoicePromises;
  /** the chat protocol's promises (a message to its channel, a typing to the others), as the delivery accounting judged them */
  chatPromises?: ChatPromises;
  /** presence (`is_online`) is checked, over the world each checkpoint names (its servers, a token that may read their members) */
  presence?: { graceMs: number; fetch?: FetchServerMembers };
  /** a voice pair not connected this long after both joined is an incomplete mesh (off when undefined) */
  meshGraceMs?: number;
  /** the reap window the target promises (--expect-reap-ms), used when it publishes no heartbeat of its own */
  expectReapMs?: number;
  /** swappable readers (tests) */
  fetchStats?: (signal?: AbortSignal, gc?: boolean) => Promise<StatsReading>;
  fetchMembers?: FetchMembers;
}

const P = '[LeakDetector]';

/**
 * How long a server may take to drop a socket that went silent (a crash, a freeze): heartbeat
 * × (missed pongs + 1), with slack, from its config; else the promise the user gave
 * (--expect-reap-ms); null when nothing says.
 */
export function reapWindowOf(config: Partial<StatsConfig> | null | undefined, expectReapMs?: number, slackMs?: number): number | null {
  const hb = config?.heartbeat_ms;
  const missed = config?.missed_pongs ?? SERVE_OPTIONS.missedPongs.default;
  if (!hb) return expectReapMs ?? null;
  return hb * (missed + 1) + (slackMs ?? Math.max(500, hb / 2));
}

export function createLeakDetector(opts: LeakDetectorOptions): LeakDetector {
  const settleMs = opts.settleMs ?? 2000;
  const pollMs = opts.pollMs ?? 100;
  const log = opts.log ?? silentLogger;
  const vp = opts.voicePromises;
  const ledgerClasses = ['zombie-socket', 'phantom-socket', 'socket-growth'] as const;
  const checkBook = new Map<string, { judged: number; skipped?: string; inconclusive?: string }>();
  const judged = (cls: string, n = 1) => {
    const e = checkBook.get(cls) ?? { judged: 0 };
    e.judged += n;
    checkBook.set(cls, e);
  };
  const note = (cls: string, key: 'skipped' | 'inconclusive', why: string) => {
    const e = checkBook.get(cls) ?? { judged: 0 };
    e[key] ??= why;
    checkBook.set(cls, e);
  };
  const skipped = (cls: string, why: string) => note(cls, 'skipped', why);
  const read = opts.fetchStats ?? ((signal?: AbortSignal, gc?: boolean) => httpFetchStats(opts.httpUrl, { signal, timeoutMs: 5000, gc }));
  const readMembers = opts.fetchMembers ?? httpFetchMembers(opts.httpUrl);
  const closing = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, closing.signal]) : closing.signal;

  let baseline: SocketCounts | null = null;
  let mode: 'ext' | 'v1' | 'none' = 'none';
  let config: StatsConfig | null = null;
  let benchBase: BenchSample | null = null;
  const ledgers = new Map<number, UserLedger>();
  const frozenSince = new Map<string, number>();
  const book = new FindingBook(opts.tracer);
  const growth = new SocketGrowthCheck();
  const samples: ResourceSample[] = [];
  const cps: Checkpoint[] = [];
  const slow = opts.slowDeregisterMs ?? 1000;
  const trendOpts: TrendOptions = { ...opts.trend, tolerances: { ...DEFAULT_TOLERANCES, ...opts.trend?.tolerances } };

  const knownLedgers = function* (): Iterable<UserLedger> {
    yield* (opts.ledgers ?? ledgers).values();
  };
  const watcher = new DeregisterWatcher({ thresholdMs: slow, giveUpMs: Math.max(5000, settleMs + 3 * slow), ledgers: knownLedgers, baseline: () => movedBaseline(), tolerance: opts.v1Tolerance });

  /**
   * v1 totals on a shared deployment: other clients move them too. Between two readings in
   * which none of the bench's sockets of a kind was opening, closing or closed, a change of
   * (server total − the bench's open sockets) is someone else's: it moves the baseline, so
   * only changes around the bench's own opens and closes are judged against it.
   */
  const drift = { chat: 0, voice: 0, notifications: 0 };
  let v1Prev: { d: Record<'chat' | 'notifications', number>; at: number } | null = null;
  function trackDrift(r: StatsReading, at: number): void {
    if (r.ext || !baseline) return;
    const open = { chat: 0, notifications: 0 };
    const busy = { chat: false, notifications: false };
    for (const l of knownLedgers()) {
      for (const s of l.sockets.values()) {
        if (s.kind === 'voice') continue;
        if (s.state === 'open') open[s.kind]++;
        if (s.state === 'connecting' || s.state === 'closing') busy[s.kind] = true;
        if (v1Prev && s.closedAt !== undefined && s.closedAt > v1Prev.at - settleMs) busy[s.kind] = true;
        if (v1Prev && s.openedAt !== undefined && s.openedAt > v1Prev.at - settleMs) busy[s.kind] = true;
      }
    }
    const d = { chat: r.counts.chat - open.chat, notifications: r.counts.notifications - open.notifications };
    if (v1Prev) for (const k of ['chat', 'notifications'] as const) if (!busy[k] && watcher.pendingCount === 0) drift[k] += d[k] - v1Prev.d[k];
    v1Prev = { d, at };
  }
  const movedBaseline = (): SocketCounts | null => (baseline ? { ...baseline, chat: baseline.chat + drift.chat, notifications: baseline.notifications + drift.notifications } : null);

  /** Every reading goes through here so the close watcher sees them all. */
  async function poll(): Promise<StatsReading> {
    const at = clock.now();
    const r = await read(signal);
    trackDrift(r, at);
    watcher.observe(r, at);
    return r;
  }

  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | null = null;
  function watch(): void {
    if (timer || closing.signal.aborted) return;
    timer = clock.setInterval(() => {
      if (inFlight) return;
      if (!watcher.pendingCount) {
        clock.clearInterval(timer);
        timer = undefined;
        return;
      }
      inFlight = poll()
        .then(() => undefined, (e: unknown) => log.debug(P, `close watcher: ${(e as Error).message}`))
        .finally(() => (inFlight = null));
    }, opts.deregisterPollMs ?? 100);
  }

  const heartbeatWindow = (): number | null => reapWindowOf(config, opts.expectReapMs, opts.reapSlackMs);

  function ours(users: LeakUserView[]): LeakUserView[] {
    const pre = opts.usernamePrefix;
    return pre ? users.filter((v) => v.ledger.username.startsWith(pre)) : users;
  }

  function reconcile(r: StatsReading, users: LeakUserView[], final: boolean): Reconciliation {
    const frozenWindowMs = heartbeatWindow();
    if (r.ext) return reconcileExt({ stats: r.stats, users, frozenWindowMs, frozenSince, final });
    return reconcileV1({ baseline: movedBaseline() ?? r.counts, counts: r.counts, users, frozenWindowMs, frozenSince, final, tolerance: opts.v1Tolerance });
  }

  /** Reads the members route of every room the users touched; records who it lists in `listed`. */
  async function membersDrafts(users: LeakUserView[], r: StatsReading, notes: string[], listed: Map<number, Set<number>>): Promise<FindingDraft[]> {
    const rooms = roomsOf(users);
    if (!rooms.length) return [];
    const anyToken = users.find((v) => v.token)?.token;
    if (!anyToken) {
      notes.push('voice members route not checked: no user token in the views');
      return [];
    }
    const registered = new Set((r.stats.connections ?? []).filter((c) => c.kind === 'voice').map((c) => `${c.user_id}|${c.channel_id}`));
    const out: FindingDraft[] = [];
    for (const room of rooms) {
      // someone who had a voice socket in the room is surely a member of its server
      const token = users.find((v) => v.token && [...v.ledger.sockets.values()].some((s) => s.kind === 'voice' && s.channelId === room))?.token ?? anyToken;
      let drafts: FindingDraft[] = [];
      // the store may lag the sockets a little: re-read while it lists someone gone
      for (let i = 0; i < 3; i++) {
        try {
          const ids = await readMembers(room, token, signal);
          listed.set(room, new Set([...(listed.get(room) ?? []), ...ids]));
          drafts = reconcileMembers(room, ids, users).filter((d) => d.class !== 'stale-voice-member' || !registered.has(`${d.subject.userId}|${room}`));
        } catch (e) {
          notes.push(`voice members route of room ${room}: ${(e as Error).message}`);
          break;
        }
        if (!drafts.length) break;
        await delay(pollMs, signal);
      }
      out.push(...drafts);
    }
    return out;
  }

  return {
    async start() {
      benchBase = benchSample();
      try {
        const r = await read(signal);
        baseline = r.counts;
        mode = r.ext ? 'ext' : 'v1';
        config = r.stats.config ?? null;
      } catch (e) {
        log.warn(P, `no baseline: ${(e as Error).message}`);
      }
      if (!config && opts.clientConfig?.heartbeat_ms) {
        config = { heartbeat_ms: opts.clientConfig.heartbeat_ms, missed_pongs: opts.clientConfig.missed_pongs ?? SERVE_OPTIONS.missedPongs.default, max_per_user: opts.clientConfig.max_per_user ?? 0, max_total: opts.clientConfig.max_total ?? 0 };
      }
      log.debug(P, `baseline ${JSON.stringify(baseline)} mode ${mode}`);
    },

    onSocketClosed(userIndex, userId, rec: SocketRecord, ledger?: UserLedger) {
      if (ledger) ledgers.set(userIndex, ledger);
      watcher.add(userIndex, userId, rec, ledger ?? ledgers.get(userIndex) ?? opts.ledgers?.get(userIndex));
      watch();
    },

    async checkpoint(name, allUsers, cpOpts = {}) {
      const final = cpOpts.final === true;
      // after a close, a leave or a crash: the announcements the protocol promises first (or their deadlines)
      if (vp) await vp.settled(vp.pendingFor() + 250, signal);
      const users = ours(allUsers);
      for (const v of users) ledgers.set(v.ledger.index, v.ledger);
      const now0 = clock.now();
      for (const v of users) for (const s of classify(v).frozen) if (s.frozenAt === undefined && !frozenSince.has(s.id)) frozenSince.set(s.id, now0);
      const notes: string[] = [];
      let reading: StatsReading | null = null;
      let settled = { settledMs: 0, stable: false };
      let rec: Reconciliation = { drafts: [], pending: false, notes: [] };
      try {
        const s = await settle({
          poll,
          consistent: (r) => {
            rec = reconcile(r, users, final);
            return rec.drafts.length === 0 && !rec.pending;
          },
          fingerprint: (r) => JSON.stringify([r.counts, r.stats.voice_rooms ?? null, (r.stats.connections ?? []).map((c) => c.id).sort()]),
          settleMs: cpOpts.settleMs ?? settleMs,
          pollMs,
          signal,
        });
        reading = s.reading;
        settled = s;
        if (mode === 'none') mode = reading.ext ? 'ext' : 'v1';
        if (reading.stats.config) config = reading.stats.config;
        baseline ??= reading.counts;
      } catch (e) {
        if (signal.aborted) throw e;
        notes.push(`server stats unreadable, socket checks skipped: ${(e as Error).message}`);
        for (const cls of ledgerClasses) skipped(cls, `server stats unreadable at ${name}: ${(e as Error).message}`);
      }
      if (reading) for (const cls of ledgerClasses) judged(cls);
      // every frozen socket, reaped already or still open: the server's reap is what is judged
      const frozenNow = users.reduce((n, v) => n + [...v.ledger.sockets.values()].filter((x) => x.frozen).length, 0);
      if (frozenNow) {
        if (heartbeatWindow() === null) skipped('frozen-not-reaped', 'the server publishes no heartbeat and none was given (--expect-reap-ms)');
        else if (reading) judged('frozen-not-reaped', frozenNow);
      }
      const drafts: FindingDraft[] = [];
      const serverRooms = new Map<number, Set<number>>();
      let bench: BenchSample | undefined;
      if (reading) {
        rec = reconcile(reading, users, final); // frozen windows and ages as of now
        drafts.push(...rec.drafts);
        for (const x of rec.inconclusive ?? []) note(x.class, 'inconclusive', x.why);
        notes.push(...rec.notes);
        for (const [room, ids] of Object.entries(reading.stats.voice_rooms ?? {})) serverRooms.set(Number(room), new Set(ids));
        const before = notes.length;
        drafts.push(...(await membersDrafts(users, reading, notes, serverRooms)));
        const rooms = roomsOf(users).length;
        if (rooms) {
          const failed = notes.slice(before).find((n) => n.startsWith('voice members route'));
          for (const cls of ['stale-voice-member', 'phantom-voice-member', 'duplicate-member']) failed ? skipped(cls, failed) : judged(cls, rooms);
        }
        if (cpOpts.cycle !== undefined) {
          // the trend's own reading: the heap after a full collection where the server can make one
          const gcRead = reading.stats.process ? await read(signal, true).catch(() => null) : null;
          const p = gcRead?.stats.process ?? reading.stats.process;
          const heap: Record<string, number> = p ? { [p.heap_after_gc ? 'server.heap_after_gc_bytes' : 'server.heap_used_bytes']: p.heap_used_bytes } : {};
          bench = benchSample();
          // the generator judges itself too: its heap (after a collection when --expose-gc allows one), its fds; RSS shown
          const own = benchMemory();
          samples.push({
            cycle: cpOpts.cycle,
            values: {
              ...(p ? { 'server.rss_bytes': p.rss_bytes, ...heap, 'server.open_fds': p.open_fds, 'server.open_handles': p.open_handles } : {}),
              ...(bench.fds !== null ? { 'bench.fds': bench.fds } : {}),
              [own.afterGc ? 'bench.heap_after_gc_bytes' : 'bench.heap_used_bytes']: own.heapUsed,
              'bench.rss_bytes': own.rss,
            },
          });
          if (!p) {
            notes.push('server resource trend skipped: the server reports no process figures (no [ext] stats); the bench judges its own');
            skipped('resource-growth', 'the server reports no process figures (no [ext] stats)');
          }
        }
      }
      // the trend is the whole run's verdict: judged once, at the end, never on a prefix
      if (final && samples.length >= 3) judged('resource-growth', samples.length);
      else if (final && samples.length) skipped('resource-growth', `only ${samples.length} soak cycle(s) measured: a trend needs 3`);
      if (final) {
        // what the server holds once every user has left: a count given back then was held by the load
        const endProc = reading?.stats.process;
        for (const d of checkResourceGrowth(samples, { ...trendOpts, end: { 'server.open_fds': endProc?.open_fds, 'server.open_handles': endProc?.open_handles }, notes })) {
          const r = d.subject.resource ?? '';
          if (r.startsWith('bench.')) d.class = 'bench-leak';
          drafts.push(d);
        }
      }
      drafts.push(...watcher.findings());
      if (watcher.histogram.count) judged('slow-deregister', watcher.histogram.count);
      else if (watcher.unmeasured) skipped('slow-deregister', `${watcher.unmeasured} close(s) could not be timed (v1 stats do not count voice sockets)`);
      if (vp) {
        drafts.push(...vp.take());
        if (vp.counts.expectations) for (const cls of ['missed-event', 'spurious-event']) judged(cls, vp.counts.expectations);
      }
      const chat = opts.chatPromises;
      if (chat) {
        // a socket the server forgot misses everything: named once, as the phantom it is
        const phantoms = new Set(drafts.filter((d) => d.class === 'phantom-socket' && d.subject.socket).map((d) => d.subject.socket!));
        drafts.push(...chat.take(phantoms));
        if (chat.counts.expectations) judged('missed-event', chat.counts.expectations);
      }
      if (opts.meshGraceMs !== undefined) {
        // a room still meshing: wait for its pairs (a clean mesh costs no wait), then judge
        let m = checkMesh(users, opts.meshGraceMs);
        const t0 = clock.now();
        while (m.pendingMs > 0 && m.drafts.length === 0 && clock.now() - t0 < opts.meshGraceMs) {
          await delay(Math.min(250, m.pendingMs + 10), signal);
          m = checkMesh(users, opts.meshGraceMs);
        }
        if (m.pendingMs > 0) notes.push(`incomplete-mesh: some pairs joined less than ${opts.meshGraceMs} ms ago were not judged`);
        if (m.pairs || m.drafts.length) judged('incomplete-mesh', m.pairs + m.drafts.length);
        drafts.push(...m.drafts);
      }
      if (opts.presence && reading) {
        const p = await checkPresence({ serverIds: cpOpts.world?.serverIds ?? [], token: cpOpts.world?.token ?? null, users, fetch: opts.presence.fetch ?? httpFetchServerMembers(opts.httpUrl), graceMs: opts.presence.graceMs, reapWindowMs: heartbeatWindow(), signal, waitMs: final ? Math.max(opts.presence.graceMs, heartbeatWindow() ?? 0) + 500 : 0 });
        drafts.push(...p.drafts);
        notes.push(...p.notes);
        if (p.checked) judged('stale-presence', p.checked);
        else if (p.notes.length && users.some((v) => goneSince(v) !== null)) skipped('stale-presence', p.notes[0]!);
      }
      drafts.push(...checkPeers(users, { graceMs: opts.peerGraceMs, serverRooms }));
      drafts.push(...growth.check(users, { final }));
      // one reading of /proc/self/fd per checkpoint: the trend's, if it took one
      bench ??= benchSample();
      if (final) {
        // idle keep-alive HTTP sockets linger a few seconds after the last request: give them the time
        const tol = opts.benchTolerance ?? 16;
        const t0 = clock.now();
        const over = (b: BenchSample) => benchBase?.fds != null && b.fds !== null && b.fds - benchBase.fds > tol;
        while (over(bench) && clock.now() - t0 < Math.max(settleMs, 5000)) {
          await delay(200, signal);
          bench = benchSample();
        }
        drafts.push(...checkBenchLeak(users, benchBase, bench, tol));
        judged('bench-leak');
        const peers = users.reduce((n, v) => n + v.ledger.peersCreated, 0);
        if (peers) judged('unclosed-peer', peers);
      }
      const known = new Set(book.all().map((f) => f.id));
      const ids = book.record(name, drafts);
      for (const f of book.all()) if (!known.has(f.id)) opts.tracer?.emit({ ev: 'finding', user: f.subject.user, socket: f.subject.socket, id: f.id, class: f.class, message: f.message });

      const open = users.flatMap((v) => {
        const c = classify(v);
        return c.required.concat(c.frozen);
      });
      const cp: Checkpoint = {
        name,
        at: new Date(clock.wall()).toISOString(),
        settledMs: settled.settledMs,
        stable: settled.stable,
        mode: reading ? (reading.ext ? 'ext' : 'v1') : 'none',
        server: reading
          ? {
              counts: reading.counts,
              baseline,
              simUserSockets: reading.ext ? countOwned(reading.stats.connections ?? [], users) : null,
              voiceRooms: reading.stats.voice_rooms ?? null,
              counters: reading.stats.counters ?? null,
              process: reading.stats.process ?? null,
              config: reading.stats.config ?? config,
              trend: samples.length >= 3 ? trendsOf(samples, trendOpts) : null,
            }
          : null,
        client: {
          users: users.length,
          open: countByKind(open),
          frozen: open.filter((s) => s.frozen).length,
          abandoned: open.filter((s) => s.abandoned).length,
          peersOpen: users.reduce((n, v) => n + v.ledger.openPeers().length, 0),
          // what the bench holds in memory for its users: bounded by the users, not the cycles
          records: { sockets: users.reduce((n, v) => n + v.ledger.sockets.size, 0), peers: users.reduce((n, v) => n + v.ledger.peers.length, 0), logins: users.reduce((n, v) => n + v.ledger.logins, 0) },
          bench,
          benchBaseline: benchBase,
          voicePromises: vp ? { ...vp.counts } : null,
          closeToDeregister: { measured: watcher.histogram.count, pending: watcher.pendingCount, unmeasured: watcher.unmeasured, neverDeregistered: watcher.givenUp },
        },
        findings: ids,
        notes,
      };
      cps.push(cp);
      opts.tracer?.emit({ ev: 'checkpoint', name, mode: cp.mode, settledMs: cp.settledMs, findings: ids });
      log.debug(P, `checkpoint ${name}: ${cp.mode}, settled in ${cp.settledMs} ms, ${ids.length} finding(s)`);
      return cp;
    },

    checks() {
      const out: NonNullable<ReturnType<LeakDetector['checks']>> = {};
      for (const cls of FindingClassSchema.options) {
        const e = checkBook.get(cls);
        out[cls] = e?.inconclusive ? { status: 'inconclusive', judged: e.judged, reason: e.inconclusive } : e?.judged ? { status: 'judged', judged: e.judged } : e?.skipped ? { status: 'skipped', judged: 0, reason: e.skipped } : { status: 'not-applicable', judged: 0 };
      }
      return out;
    },
    serverConfig: () => config,
    reapWindowMs: heartbeatWindow,
    findings: () => book.all(),
    checkpoints: () => cps,
    histograms(): Record<string, EncodedHistogram> {
      return { close_to_deregister: watcher.histogram.encode() };
    },

    async close() {
      if (closing.signal.aborted) return;
      closing.abort(new Error('leak detector closed'));
      clock.clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
}

/** The server's connections that belong to our simulated users: one set lookup per connection. */
function countOwned(connections: ReadonlyArray<{ user_id: number }>, users: ReadonlyArray<{ ledger: { userId: number | null } }>): number {
  const ours = new Set(users.map((v) => v.ledger.userId));
  let n = 0;
  for (const c of connections) if (ours.has(c.user_id)) n++;
  return n;
}
