import { clock, delay } from '../clock.js';
import { HttpClient, HttpStatusError } from '../client/http-client.js';
import { fetchStats } from '../client/fetch-stats.js';
import type { SimulatedUser } from '../client/simulated-user.js';
import { ROUTES, hasExtStats, type SocketKind, type StatsConfig, type StatsResponse, type UserOut } from '../protocol/messages.js';
import type { LimitsPhaseConfig } from '../scenario/schema.js';
import type { FindingDraft } from '../leak/types.js';
import { openProbe, type Probe, type ProbeResult } from './probe-socket.js';
import { recordPhaseFinding } from './phase-findings.js';
import type { RunContext } from './run-context.js';

/**
 * The `limits` phase: holds the target to each limit it promises, one socket at a time, with
 * sockets of its own (probes) so nothing else of the run is in the way:
 * - per user: sockets 1..max are accepted and socket max+1 is refused (4008 or 403), in
 *   several orders of kinds (mixed, reversed, one kind only);
 * - in all: when max_total is within `totalBound`, the server takes sockets up to it and
 *   refuses the next (1013 or 403);
 * - a voice room: a member's second tab takes no seat, the room takes max_users distinct
 *   users and refuses the next (4005 or 403), with max_users read from the server;
 * - a refused attempt leaves nothing behind: the server's counts and the members route hold
 *   only the accepted sockets, and nothing once they are closed.
 * A socket accepted past a promise, or refused before it, is a `limit-violated` finding with
 * the counts at that moment. Refusals the promise explains are counted apart, under
 * `expected_refusals.<kind>.<status|code>`, never as errors.
 */
export async function limitsPhase(ctx: RunContext, p: LimitsPhaseConfig): Promise<void> {
  // one process holds the target to its limits: shards side by side would fill the total together
  if (ctx.shard.index !== 0) return;
  const lim = new LimitsRun(ctx, p);
  await lim.run();
}

const PER_USER_CODES = new Set([4008, 403]);
const TOTAL_CODES = new Set([1013, 503, 403]);
const ROOM_CODES = new Set([4005, 403]);
/** what a server answers when its total is reached: an early refusal with one says nothing of the limit checked */
const TOTAL_ONLY = new Set([1013, 503]);

interface Counts {
  userSockets?: number;
  totalConnections?: number;
  roomMembers?: number[];
}

class LimitsRun {
  private readonly http: HttpClient;
  private readonly waitMs: number;
  private config: StatsConfig | null = null;
  private ext = false;

  constructor(
    private readonly ctx: RunContext,
    private readonly p: LimitsPhaseConfig,
  ) {
    this.http = new HttpClient(ctx.env);
    // how long the server has to forget a closed socket before it counts as left behind
    this.waitMs = Math.max(ctx.scenario.settle, 3000);
  }

  private note(text: string): void {
    this.ctx.caps.notes.push(`${this.ctx.phase}: ${text}`);
    this.ctx.log.info('[Limits]', text);
  }

  async run(): Promise<void> {
    const stats = await this.stats();
    this.config = stats?.config ?? this.ctx.leak?.serverConfig() ?? null;
    this.ext = !!stats && hasExtStats(stats);
    const maxPerUser = this.p.maxPerUser ?? this.config?.max_per_user;
    const maxTotal = this.p.maxTotal ?? this.config?.max_total;
    if (!this.ext) this.note('that refused attempts leave nothing behind is checked on the members route only: the target has no [ext] connections list');
    if (this.p.perUser) {
      if (maxPerUser === undefined) this.note('per-user limit skipped: the target declares none ([ext] config) and none was given (--expect-max-per-user)');
      else if (maxPerUser > this.p.perUserBound) this.note(`per-user limit skipped: ${maxPerUser} is above perUserBound ${this.p.perUserBound}`);
      else await this.perUser(maxPerUser);
    }
    if (this.p.total) {
      if (maxTotal === undefined) this.note('total limit skipped: the target declares none ([ext] config) and none was given (--expect-max-total)');
      else if (maxTotal > this.p.totalBound) this.note(`total limit skipped: ${maxTotal} is above totalBound ${this.p.totalBound}, beyond what this phase opens`);
      else await this.total(maxTotal, maxPerUser ?? 1);
    }
    if (this.p.room) await this.room(maxPerUser);
  }

  private async stats(): Promise<StatsResponse | null> {
    try {
      return (await fetchStats(this.ctx.target.httpUrl, { signal: this.ctx.signal, timeoutMs: 10_000 })).stats;
    } catch {
      return null;
    }
  }

  private async counts(o: { userId?: number; roomId?: number; token?: string }): Promise<Counts> {
    const s = await this.stats();
    const out: Counts = {};
    if (s) out.totalConnections = s.total_connections;
    if (s && hasExtStats(s) && o.userId !== undefined) out.userSockets = s.connections.filter((c) => c.user_id === o.userId).length;
    if (o.roomId !== undefined && o.token) out.roomMembers = await this.roomMembers(o.roomId, o.token);
    return out;
  }

  private async roomMembers(roomId: number, token: string): Promise<number[] | undefined> {
    try {
      const list = await this.http.call<UserOut[]>('GET', ROUTES.voiceMembers(roomId), { token });
      return list.map((u) => u.id).sort((a, b) => a - b);
    } catch {
      return undefined;
    }
  }

  /** Polls until `ok` holds for the counts, or the wait runs out; the last counts either way. */
  private async until(o: Parameters<LimitsRun['counts']>[0], ok: (c: Counts) => boolean): Promise<{ ok: boolean; counts: Counts }> {
    const end = clock.now() + this.waitMs;
    let c = await this.counts(o);
    while (!ok(c) && clock.now() < end) {
      await delay(100, this.ctx.signal);
      c = await this.counts(o);
    }
    return { ok: ok(c), counts: c };
  }

  private violated(d: Omit<FindingDraft, 'class'>): void {
    const f = recordPhaseFinding(this.ctx, this.ctx.phase, { class: 'limit-violated', ...d });
    this.ctx.metrics.inc('limits.violations');
    this.ctx.log.warn('[Limits]', `${f.id} ${f.message}`);
  }

  private async freshUsers(n: number): Promise<SimulatedUser[]> {
    const base = this.ctx.reserveIndices(n * this.ctx.shard.count);
    const users: SimulatedUser[] = [];
    for (let k = 0; k < n; k++) {
      const index = base + k * this.ctx.shard.count + this.ctx.shard.index;
      users.push(await this.ctx.connectLimit(() => this.ctx.getUser(index)));
    }
    // a user is joined to its home server only when the world has several (and no voice): server 0 is used here
    const servers = this.ctx.world.servers;
    const server = servers[0];
    if (server && servers.length > 1) {
      await Promise.all(
        users.filter((u) => u.index % servers.length !== 0).map((u) =>
          this.http.joinServer(u.identity!.token, server.id, u.index).catch((err) => {
            if (!(err instanceof HttpStatusError && err.status === 400)) throw err;
          }),
        ),
      );
    }
    return users;
  }

  private open(u: SimulatedUser, kind: SocketKind, roomId?: number): Probe {
    const channelId = kind === 'chat' ? this.ctx.world.servers[0]?.id : roomId;
    return openProbe({ wsUrl: this.ctx.target.wsUrl, token: u.identity!.token, kind, channelId }, { timeoutMs: this.p.attemptTimeout });
  }

  private count(kind: SocketKind, r: ProbeResult, expected: boolean): void {
    const m = this.ctx.metrics;
    m.inc(`limits.attempts.${r.outcome}`);
    const what = r.status ?? r.code;
    if (r.outcome === 'refused' && expected) m.inc(`expected_refusals.${kind}.${what}`);
    else if (r.outcome !== 'accepted') m.inc(`limits.unexpected.${kind}.${r.outcome}${what !== undefined ? `.${what}` : ''}`);
  }

  private async voiceRoom(): Promise<{ id: number; maxUsers: number } | null> {
    const owner = this.ctx.world.owner;
    const server = this.ctx.world.servers[0];
    if (!server) return null;
    let id = server.voiceChannelIds[0];
    if (owner) {
      // a room of its own, so no other phase's members sit in it
      const vc = await this.http.createVoiceChannel(owner.token, server.id, `limits-${this.ctx.phase}`, server.voiceChannelIds.length + 1, this.ctx.scenario.setup.maxVoiceUsers);
      id = vc.id;
    }
    if (id === undefined) return null;
    const token = owner?.token ?? this.ctx.onlineUsers()[0]?.identity?.token;
    if (!token) return null;
    const detail = await this.http.getServer(token, server.id);
    const ch = (detail.channels ?? []).find((c) => c.id === id && c.type === 'voice') as { max_users?: number } | undefined;
    return ch?.max_users ? { id, maxUsers: ch.max_users } : null;
  }

  // ---- per user

  private async perUser(max: number): Promise<void> {
    const room = await this.voiceRoom().catch(() => null);
    const kinds: SocketKind[] = room ? ['notifications', 'chat', 'voice'] : ['notifications', 'chat'];
    if (!room) this.note('per-user limit checked with notifications and chat sockets only: no voice room to open voice sockets in');
    const orders: SocketKind[][] = [kinds, [...kinds].reverse(), ['notifications']];
    // a user per round: a server that forgets a closed socket late must not refuse the next round early
    const users = await this.freshUsers(orders.length);
    for (const [i, order] of orders.entries()) {
      const ok = await this.perUserRound(users[i]!, max, order, room?.id);
      if (!ok) break;
    }
    this.ctx.metrics.inc('limits.checked.per_user');
  }

  /** One round: max+1 sockets in this order of kinds; false when it found a violation. */
  private async perUserRound(user: SimulatedUser, max: number, order: SocketKind[], roomId?: number): Promise<boolean> {
    const userId = user.identity!.userId;
    const open: Probe[] = [];
    const kindsSoFar: SocketKind[] = [];
    let clean = true;
    try {
      for (let i = 1; i <= max + 1; i++) {
        const kind = order[(i - 1) % order.length]!;
        const probe = this.open(user, kind, roomId);
        const r = await probe.result;
        kindsSoFar.push(kind);
        const explained = i === max + 1 && r.outcome === 'refused' && PER_USER_CODES.has((r.status ?? r.code)!);
        this.count(kind, r, explained);
        if (r.outcome === 'accepted') open.push(probe);
        else await probe.close();
        const subject = { userId, username: user.username, kind, resource: 'per-user' };
        if (i <= max && r.outcome === 'refused' && TOTAL_ONLY.has((r.status ?? r.code)!)) {
          this.note(`per-user limit: socket ${i} of ${user.username} was refused with ${r.status ?? r.code} (the server's total limit, not its per-user one): round stopped`);
          return false;
        }
        if (i <= max && r.outcome !== 'accepted') {
          const counts = await this.counts({ userId });
          this.violated({
            message: `socket ${i} of user ${user.username} (${kindsSoFar.join(', ')}) was ${r.outcome}${r.status ? ` with HTTP ${r.status}` : r.code ? ` with close ${r.code}` : ''} before the per-user limit of ${max}`,
            subject,
            expected: { accepted: max, refusedAt: max + 1 },
            observed: { refusedAt: i, outcome: r.outcome, status: r.status, code: r.code, reason: r.reason, counts },
            details: { order, counts },
          });
          return false;
        }
        if (i === max + 1) {
          if (r.outcome === 'accepted') {
            const counts = await this.counts({ userId });
            this.violated({
              message: `socket ${i} of user ${user.username} (${kindsSoFar.join(', ')}) was accepted past the per-user limit of ${max}${counts.userSockets !== undefined ? ` (the server holds ${counts.userSockets} of its sockets)` : ''}`,
              subject,
              expected: { accepted: max, refusedAt: max + 1 },
              observed: { acceptedAt: i, counts },
              details: { order, counts },
            });
            clean = false;
          } else if (!explained) {
            this.note(`per-user limit: socket ${i} of ${user.username} was ${r.outcome}${r.status ? ` with HTTP ${r.status}` : r.code ? ` with close ${r.code}` : ''} (${r.reason ?? ''}), not refused with 4008 or 403`);
          }
        }
      }
      // the refused attempt must leave nothing: the server holds exactly the accepted sockets
      if (clean && this.ext) {
        const held = await this.until({ userId }, (c) => c.userSockets === open.length);
        if (!held.ok) {
          this.violated({
            message: `after its refused socket, user ${user.username} holds ${held.counts.userSockets} sockets on the server, not the ${open.length} accepted: the refused attempt left something behind`,
            subject: { userId, username: user.username, resource: 'per-user-refused' },
            expected: { userSockets: open.length },
            observed: held.counts,
          });
          clean = false;
        }
      }
    } finally {
      await Promise.all(open.map((s) => s.close()));
    }
    if (this.ext) {
      // a socket closed and still held is a leak (the detector's zombie-socket), not a broken limit: said, not judged here
      const gone = await this.until({ userId }, (c) => c.userSockets === 0);
      if (!gone.ok) this.note(`user ${user.username} closed every socket but the server still holds ${gone.counts.userSockets} (a leak, not a limit)`);
    }
    return clean;
  }

  // ---- in all

  private async total(max: number, maxPerUser: number): Promise<void> {
    // the base once it holds still: the sockets of the checks before are forgotten, perhaps late
    let before = await this.counts({});
    const end = clock.now() + this.waitMs;
    for (;;) {
      await delay(250, this.ctx.signal);
      const again = await this.counts({});
      if (again.totalConnections === before.totalConnections || clock.now() > end) break;
      before = again;
    }
    const base = before.totalConnections;
    if (base === undefined) return this.note('total limit skipped: the stats route gives no total_connections');
    const need = max - base;
    if (need < 0) return this.note(`total limit skipped: the server already holds ${base} sockets of its ${max}`);
    const kinds: SocketKind[] = ['notifications', 'chat'];
    const perUser = Math.max(1, Math.min(maxPerUser, kinds.length));
    const users = await this.freshUsers(Math.ceil(need / perUser) + 1);
    const last = users.pop()!;
    const open: Probe[] = [];
    try {
      const results = await Promise.all(
        Array.from({ length: need }, (_, k) =>
          this.ctx.connectLimit(async () => {
            const kind = kinds[k % perUser]!;
            const probe = this.open(users[Math.floor(k / perUser)]!, kind);
            const r = await probe.result;
            this.count(kind, r, false);
            if (r.outcome === 'accepted') open.push(probe);
            else await probe.close();
            return r;
          }),
        ),
      );
      const early = results.filter((r) => r.outcome !== 'accepted');
      if (early.length) {
        const counts = await this.counts({});
        this.violated({
          message: `${early.length} of the ${need} sockets up to the total limit of ${max} were not accepted (${early.map((r) => r.status ?? r.code ?? r.outcome).join(', ')}) while the server held ${counts.totalConnections}`,
          subject: { resource: 'total' },
          expected: { accepted: max, refusedAt: max + 1 },
          observed: { refused: early.length, counts, first: early[0] },
          details: { base },
        });
        return;
      }
      const probe = this.open(last, 'notifications');
      const r = await probe.result;
      const explained = r.outcome === 'refused' && TOTAL_CODES.has((r.status ?? r.code)!);
      this.count('notifications', r, explained);
      if (r.outcome === 'accepted') {
        open.push(probe);
        const counts = await this.counts({});
        this.violated({
          message: `socket ${max + 1} in all was accepted past the total limit of ${max} (the server holds ${counts.totalConnections})`,
          subject: { resource: 'total', kind: 'notifications' },
          expected: { accepted: max, refusedAt: max + 1 },
          observed: { acceptedAt: max + 1, counts },
          details: { base },
        });
      } else {
        await probe.close();
        if (!explained) this.note(`total limit: socket ${max + 1} was ${r.outcome} (${r.status ?? r.code ?? ''} ${r.reason ?? ''}), not refused with 1013, 503 or 403`);
        const held = await this.until({}, (c) => c.totalConnections === max);
        if (!held.ok) {
          this.violated({
            message: `after the refused socket ${max + 1}, the server counts ${held.counts.totalConnections} sockets, not ${max}: the refused attempt left something behind`,
            subject: { resource: 'total-refused' },
            expected: { totalConnections: max },
            observed: held.counts,
          });
        }
      }
    } finally {
      await Promise.all(open.map((s) => s.close()));
    }
    const back = await this.until({}, (c) => c.totalConnections !== undefined && c.totalConnections <= base);
    if (!back.ok) this.note(`total limit: the server counts ${back.counts.totalConnections} sockets after every probe closed, ${base} before`);
    this.ctx.metrics.inc('limits.checked.total');
  }

  // ---- a voice room

  private async room(maxPerUser: number | undefined): Promise<void> {
    const room = await this.voiceRoom().catch(() => null);
    if (!room) return this.note('room capacity skipped: no voice room whose max_users the server shows');
    const m = room.maxUsers;
    if (m > this.p.roomBound) return this.note(`room capacity skipped: max_users ${m} is above roomBound ${this.p.roomBound}`);
    const users = await this.freshUsers(m + 1);
    const token = users[0]!.identity!.token;
    const open: Probe[] = [];
    const inRoom: number[] = [];
    let clean = true;
    const subject = (u: SimulatedUser) => ({ roomId: room.id, kind: 'voice' as const, resource: 'room', userId: u.identity!.userId, username: u.username });
    try {
      // the first member's second tab must take no seat: open it before the room fills
      const seats: Array<{ user: SimulatedUser; tab: number }> = users.map((user) => ({ user, tab: 1 }));
      if ((maxPerUser ?? 2) >= 2) seats.splice(1, 0, { user: users[0]!, tab: 2 });
      else this.note('room capacity: the per-user limit allows no second tab: checked without one');
      let distinct = 0;
      for (const { user, tab } of seats) {
        const probe = this.open(user, 'voice', room.id);
        const r = await probe.result;
        const isNew = tab === 1;
        if (isNew) distinct++;
        const overflow = isNew && distinct === m + 1;
        const explained = overflow && r.outcome === 'refused' && ROOM_CODES.has((r.status ?? r.code)!);
        this.count('voice', r, explained);
        if (r.outcome === 'accepted') {
          open.push(probe);
          if (isNew) inRoom.push(user.identity!.userId);
        } else await probe.close();
        if (!overflow && r.outcome === 'refused' && TOTAL_ONLY.has((r.status ?? r.code)!)) {
          this.note(`room capacity: a socket was refused with ${r.status ?? r.code} (the server's total limit, not the room's) at distinct user ${distinct}: check stopped`);
          clean = false;
          break;
        }
        if (!overflow && r.outcome !== 'accepted') {
          const counts = await this.counts({ roomId: room.id, token });
          this.violated({
            message: `voice room ${room.id} (max_users ${m}) refused ${tab === 2 ? `the second tab of a member while it held ${distinct} distinct users: a second tab took a seat` : `its distinct user ${distinct} of ${m}`}${r.status ? ` with HTTP ${r.status}` : r.code ? ` with close ${r.code}` : ''}`,
            subject: subject(user),
            expected: { distinctUsers: m, refusedAt: m + 1, secondTabTakesSeat: false },
            observed: { refusedAtDistinct: distinct, secondTab: tab === 2, outcome: r.outcome, status: r.status, code: r.code, reason: r.reason, counts },
          });
          clean = false;
          break;
        }
        if (overflow) {
          if (r.outcome === 'accepted') {
            const counts = await this.counts({ roomId: room.id, token });
            this.violated({
              message: `voice room ${room.id} accepted distinct user ${m + 1} past its max_users of ${m}${counts.roomMembers ? ` (the members route lists ${counts.roomMembers.length})` : ''}`,
              subject: subject(user),
              expected: { distinctUsers: m, refusedAt: m + 1 },
              observed: { acceptedAtDistinct: m + 1, counts },
            });
            clean = false;
          } else if (!explained) {
            this.note(`room capacity: distinct user ${m + 1} was ${r.outcome} (${r.status ?? r.code ?? ''} ${r.reason ?? ''}), not refused with 4005 or 403`);
          }
        }
      }
      // the refused user must not be listed, and every accepted one must be
      if (clean) {
        const want = [...inRoom].sort((a, b) => a - b);
        const held = await this.until({ roomId: room.id, token }, (c) => c.roomMembers === undefined || sameList(c.roomMembers, want));
        if (!held.ok) {
          this.violated({
            message: `voice room ${room.id} lists ${held.counts.roomMembers?.length} members after its refusal, not the ${want.length} accepted distinct users: the refused attempt left something behind`,
            subject: { roomId: room.id, kind: 'voice', resource: 'room-refused' },
            expected: { roomMembers: want },
            observed: held.counts,
          });
        }
      }
    } finally {
      await Promise.all(open.map((s) => s.close()));
    }
    const empty = await this.until({ roomId: room.id, token }, (c) => c.roomMembers === undefined || c.roomMembers.length === 0);
    if (!empty.ok) this.note(`voice room ${room.id} still lists ${empty.counts.roomMembers?.length} members after every socket closed (a leak, not a limit)`);
    this.ctx.metrics.inc('limits.checked.room');
  }
}

const sameList = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
