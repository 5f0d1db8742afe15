import { MbError } from '../errors.js';
import { fetchStats } from '../client/fetch-stats.js';
import type { PhaseConfig, Scenario, SimplePhaseConfig } from '../scenario/schema.js';
import { SERVE_OPTIONS } from '../server/options.js';

/**
 * Whether a scenario fits a target's limits, worked out before the run: a per-index model of
 * the sockets each simulated user holds, phase by phase (what connect opens, what multi-tab,
 * voice and leaky switches add while they hold, what disconnect closes). It errs on the side
 * of more sockets (a frozen socket counts until the end), so a scenario it passes fits.
 */
export interface DeclaredLimits {
  /** sockets per user, all kinds together */
  maxPerUser?: number;
  /** sockets in all */
  maxTotal?: number;
  /** distinct users per voice room */
  roomSize?: number;
  /** where the limits come from, for the message ("--expect-max-per-user", "the target's [ext] config") */
  source: string;
}

export interface SocketNeed {
  /** most sockets one user holds at once, and the first phase where */
  perUser: number;
  perUserPhase: string;
  /** most sockets open at once, and the first phase where */
  total: number;
  totalPhase: string;
  /** most distinct users a voice phase puts in one room, and the phase */
  room: number;
  roomPhase: string;
}

interface Held {
  notifications: number;
  chat: number;
  voice: number;
}

const sum = (h: Held): number => h.notifications + h.chat + h.voice;

/** Phases that only test limits (they open their own sockets and expect refusals) are not modelled. */
const SELF_LIMITED = new Set(['limits', 'ramp']);

export function socketNeed(s: Scenario): SocketNeed {
  const held = new Map<number, Held>();
  const need: SocketNeed = { perUser: 0, perUserPhase: '', total: 0, totalPhase: '', room: 0, roomPhase: '' };
  const note = (phase: string, extra: Map<number, number> = new Map(), extraTotal = 0) => {
    let total = extraTotal;
    for (const [i, h] of held) {
      const n = sum(h) + (extra.get(i) ?? 0);
      total += n;
      if (n > need.perUser) (need.perUser = n), (need.perUserPhase = phase);
    }
    for (const [i, n] of extra) if (!held.has(i) && n > need.perUser) (need.perUser = n), (need.perUserPhase = phase);
    for (const [i, n] of extra) if (!held.has(i)) total += n;
    if (total > need.total) (need.total = total), (need.totalPhase = phase);
  };
  const online = () => [...held.keys()].sort((a, b) => a - b);
  let nextFree = closedUsersOf(s);
  const step = (p: SimplePhaseConfig | PhaseConfig, name: string): void => {
    // a ramp spreads its sockets over users of its own: each must stay within the per-user limit, or its refusals are not a knee
    if (p.type === 'ramp') {
      const n = p.kind === 'voice' ? 1 : (p.socketsPerUser ?? 1);
      if (n > need.perUser) (need.perUser = n), (need.perUserPhase = name);
      return;
    }
    if (SELF_LIMITED.has(p.type)) return;
    switch (p.type) {
      case 'connect': {
        const n = p.users ?? s.users;
        for (let i = 0; i < n; i++) if (!held.has(i)) held.set(i, { notifications: p.notifications ? 1 : 0, chat: p.chat ? 1 : 0, voice: 0 });
        note(name);
        break;
      }
      case 'multi-tab': {
        const users = online().filter((i) => held.get(i)!.chat > 0).slice(0, p.users ?? Number.MAX_SAFE_INTEGER);
        note(name, new Map(users.map((i) => [i, 2])));
        break;
      }
      case 'voice': {
        const want = p.rooms * p.usersPerRoom;
        const free = online().filter((i) => held.get(i)!.voice === 0);
        const picked = free.slice(0, want);
        for (let i = 0; picked.length < want; i++) if (!held.has(i) && !picked.includes(i)) picked.push(i);
        for (const i of picked) if (!held.has(i)) held.set(i, { notifications: 0, chat: 0, voice: 0 });
        const extra = new Map<number, number>();
        for (let r = 0; r < p.rooms; r++) {
          const members = picked.slice(r * p.usersPerRoom, (r + 1) * p.usersPerRoom);
          for (const i of members) extra.set(i, 1);
          // a second tab adds one socket to that member while it holds
          for (const a of p.actions) {
            const m = members[a.member % members.length];
            if (a.action === 'second-tab' && m !== undefined) extra.set(m, (extra.get(m) ?? 0) + 1);
          }
        }
        note(name, extra);
        if (!p.leave) for (const i of picked) held.get(i)!.voice = 1;
        if (p.usersPerRoom > need.room) (need.room = p.usersPerRoom), (need.roomPhase = name);
        break;
      }
      case 'switch':
        if (p.strategy === 'leaky') {
          const users = online().filter((i) => held.get(i)!.chat > 0).slice(0, p.users ?? Number.MAX_SAFE_INTEGER);
          for (const i of users) held.get(i)!.chat += p.switches;
        }
        note(name);
        break;
      case 'churn': {
        // arrivals that may be there at once: rate × longest stay, capped by the phase's users
        const atOnce = Math.min(p.maxUsers ?? Infinity, Math.ceil(p.arrivalsPerSec * (p.stay.max / 1000)) + 1);
        const extra = new Map<number, number>();
        for (let k = 0; k < atOnce; k++) extra.set(nextFree + k, 2 + (p.strategy === 'leaky' ? 1 : 0));
        nextFree += atOnce;
        note(name, extra);
        break;
      }
      case 'disconnect':
        held.clear();
        break;
      case 'soak':
        // twice: what one cycle leaves behind meets the next
        for (let c = 0; c < 2; c++) p.cycle.forEach((sub, j) => step(sub, `${name}/${sub.name ?? `${sub.type}#${j}`}`));
        break;
      default:
        note(name);
    }
  };
  s.phases.forEach((p, i) => step(p, p.name ?? `${p.type}#${i}`));
  return need;
}

function closedUsersOf(s: Scenario): number {
  let n = s.users;
  for (const p of s.phases) if (p.type === 'connect' && p.users) n = Math.max(n, p.users);
  return n;
}

/** Throws MB_ERR_SCENARIO_INVALID (exit 2) naming the phase when the scenario cannot fit `limits`. */
export function checkFitsLimits(display: string, s: Scenario, limits: DeclaredLimits): SocketNeed {
  const need = socketNeed(s);
  const refuse = (what: string) => {
    throw new MbError('MB_ERR_SCENARIO_INVALID', `${display}: ${what} (${limits.source}): lower the phase's load or give the target's real limits`);
  };
  if (limits.maxPerUser !== undefined && need.perUser > limits.maxPerUser) refuse(`phase ${need.perUserPhase} needs ${need.perUser} sockets per user, the target allows ${limits.maxPerUser}`);
  if (limits.maxTotal !== undefined && need.total > limits.maxTotal) refuse(`phase ${need.totalPhase} needs ${need.total} sockets at once, the target allows ${limits.maxTotal} in all`);
  if (limits.roomSize !== undefined && need.room > limits.roomSize) refuse(`phase ${need.roomPhase} puts ${need.room} distinct users in a voice room, the target's rooms hold ${limits.roomSize}`);
  return need;
}

/** The limits known at plan time: the ones the user declares, and the bundled server's own (it is started with them). */
export function declaredLimits(o: { target?: string; expectMaxPerUser?: number; expectMaxTotal?: number; expectRoomSize?: number }, s: Scenario): DeclaredLimits[] {
  const out: DeclaredLimits[] = [];
  for (const [flag, v] of [['--expect-max-per-user', o.expectMaxPerUser], ['--expect-max-total', o.expectMaxTotal], ['--expect-room-size', o.expectRoomSize]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new MbError('MB_ERR_USAGE', `${flag} must be a positive integer, got ${v}`);
  }
  if (o.expectMaxPerUser !== undefined || o.expectMaxTotal !== undefined || o.expectRoomSize !== undefined) {
    out.push({ maxPerUser: o.expectMaxPerUser, maxTotal: o.expectMaxTotal, roomSize: o.expectRoomSize, source: 'declared with --expect-*' });
  }
  out.push({ roomSize: s.setup.maxVoiceUsers, source: "setup.maxVoiceUsers, the size of every room the run uses" });
  if (!o.target) out.push({ maxPerUser: s.bundledServer.maxPerUser ?? SERVE_OPTIONS.maxPerUser.default, maxTotal: s.bundledServer.maxTotal ?? SERVE_OPTIONS.maxTotal.default, source: 'the bundled server is started with these; raise bundledServer.maxPerUser/maxTotal' });
  return out;
}

/** The target's own [ext] limits, read before the run starts; a scenario that cannot fit them is refused (exit 2). */
export async function checkTargetLimits(display: string, s: Scenario, target: string | undefined, signal?: AbortSignal): Promise<void> {
  if (!target) return;
  let cfg: { max_per_user?: number; max_total?: number } | undefined;
  try {
    const url = new URL(target);
    const r = await fetchStats(`${url.protocol}//${url.host}`, { signal, timeoutMs: 5000 });
    cfg = r.stats.config ?? undefined;
  } catch {
    return; // unreachable or no stats route: the run itself says so
  }
  if (!cfg) return;
  checkFitsLimits(display, s, { maxPerUser: cfg.max_per_user, maxTotal: cfg.max_total, source: "the target's [ext] config" });
}
