import { clock, delay, wallNow } from '../clock.js';
import { isMbError } from '../errors.js';
import type { SimulatedUser } from '../client/simulated-user.js';
import type { ChatPhase, ChurnPhase, ConnectPhase, CrashPhase, DisconnectPhase, FreezePhase, IdlePhase, MultiTabPhase, SwitchPhase } from '../scenario/schema.js';
import { VoiceUserSlot } from '../client/voice/voice-user-slot.js';
import { ensureVoiceSession } from './voice-phase.js';
import type { z } from 'zod';
import type { RunContext, WorldServer } from './run-context.js';
import { chatSchedule, churnSchedule, connectSchedule, runTimed, switchPlan } from './schedule.js';

type Cfg<T extends z.ZodType> = z.infer<T>;

/** How long a phase waits for the messages it sent to arrive before counting them lost. */
export const DRAIN_MS = 5000;

/** The server and text channel a user starts in (spread evenly, deterministic). */
export function homeOf(ctx: RunContext, index: number): { server: WorldServer; channel: number } {
  const servers = ctx.world.servers;
  const server = servers[index % servers.length]!;
  return { server, channel: Math.floor(index / servers.length) % server.textChannelIds.length };
}

/** wall-clock ms for a clock.now() value (the intended time in message content) */
const wallOf = (mono: number): number => wallNow() - (clock.now() - mono);

/** An error that ends the run (target gone, aborted) rather than one user's attempt. */
function fatal(ctx: RunContext, err: unknown): boolean {
  return ctx.signal.aborted || (isMbError(err) && (err.code === 'MB_ERR_TARGET_UNREACHABLE' || err.code === 'MB_ERR_SERVER_DIED' || err.code === 'MB_ERR_ABORTED'));
}

/** Logs a user in and opens its sockets; one user's failure is counted, not fatal. */
export async function connectUser(ctx: RunContext, index: number, intendedAt: number, o: { notifications: boolean; chat: boolean }): Promise<SimulatedUser | null> {
  try {
    const user = await ctx.connectLimit(async () => {
      // latency counts from the intended arrival, or from when our own concurrency bound let it go
      const start = Math.max(intendedAt, clock.now());
      const u = await ctx.getUser(index, start);
      const home = homeOf(ctx, index);
      await Promise.all([
        o.notifications ? u.openNotifications() : null,
        o.chat ? u.openChat(home.server.id, home.server.textChannelIds[home.channel]!) : null,
      ]);
      return u;
    });
    return user;
  } catch (err) {
    if (fatal(ctx, err)) throw err;
    ctx.metrics.inc('errors.user_connect');
    ctx.log.warn('[ChatService]', `user ${index} could not connect: ${(err as Error).message}`);
    return null;
  }
}

export async function connectPhase(ctx: RunContext, p: Cfg<typeof ConnectPhase>): Promise<void> {
  const n = p.users ?? ctx.scenario.users;
  const online = new Set(ctx.onlineUsers().map((u) => u.index));
  const mine: number[] = [];
  for (let i = 0; i < n; i++) if (ctx.ownsIndex(i) && !online.has(i)) mine.push(i);
  const start = clock.now();
  const results = await runTimed(connectSchedule(mine, p.rampUp), start, (a, intended) => connectUser(ctx, a.user, intended, p), ctx.signal);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Sends, types and pings on a schedule; `users` defaults to everyone online. */
async function chatLoad(ctx: RunContext, users: SimulatedUser[], o: { durationMs: number; messagesPerUserPerSec: number; typingRatio: number; pingEveryMs: number }, label: string): Promise<void> {
  const byIndex = new Map(users.map((u) => [u.index, u]));
  const events = chatSchedule(ctx.rng.fork(label), [...byIndex.keys()], o);
  await runTimed(
    events,
    clock.now(),
    (e, intended) => {
      const u = byIndex.get(e.user);
      if (!u || u.left) return;
      const chat = u.chat;
      if (e.kind === 'message') chat?.sendMessage(wallOf(intended));
      else if (e.kind === 'typing') chat?.typing();
      else {
        chat?.ping(intended);
        u.notifications[0]?.ping(intended);
      }
    },
    ctx.signal,
  );
}

export async function chatPhase(ctx: RunContext, p: Cfg<typeof ChatPhase>): Promise<void> {
  await chatLoad(ctx, ctx.onlineUsers(), { durationMs: p.duration ?? ctx.scenario.duration, messagesPerUserPerSec: p.messagesPerUserPerSec, typingRatio: p.typingRatio, pingEveryMs: p.pingEvery }, `chat:${ctx.phase}`);
  await ctx.deliveries.drain(DRAIN_MS, ctx.signal);
}

export async function switchPhase(ctx: RunContext, p: Cfg<typeof SwitchPhase>): Promise<void> {
  const users = ctx.sliceOfRun(ctx.onlineUsers().filter((u) => u.chat), p.users ?? Number.MAX_SAFE_INTEGER);
  const rng = ctx.rng.fork(`switch:${ctx.phase}`);
  const start = clock.now();
  await Promise.all(
    users.map(async (u) => {
      const chat = u.chat!;
      const server = ctx.world.servers.find((s) => s.id === chat.serverId)!;
      const channels = server.textChannelIds;
      const plan = switchPlan(rng, u.index, Math.max(0, channels.indexOf(chat.textChannelId)), channels.length, p.switches, p.interval);
      for (const step of plan) {
        const intended = start + step.at;
        const wait = intended - clock.now();
        if (wait > 0) await delay(wait, ctx.signal);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (u.left) return;
        const target = channels[step.channel]!;
        // in-band needs no new socket, so only the other strategies take a connection slot
        const ok = p.strategy === 'in-band' ? await chat.switchTo(target, p.strategy, intended) : await ctx.connectLimit(() => chat.switchTo(target, p.strategy, intended));
        if (!ok) continue;
        for (let m = 0; m < p.messagesPerSwitch; m++) chat.sendMessage(wallNow());
      }
    }),
  );
  await ctx.deliveries.drain(DRAIN_MS, ctx.signal);
}

export async function churnPhase(ctx: RunContext, p: Cfg<typeof ChurnPhase>): Promise<void> {
  const arrivals = churnSchedule(ctx.rng.fork(`churn:${ctx.phase}`), { arrivalsPerSec: p.arrivalsPerSec, durationMs: p.duration ?? ctx.scenario.duration, stay: p.stay, maxUsers: p.maxUsers });
  const base = ctx.reserveIndices(arrivals.length);
  const mine = arrivals.filter((a) => ctx.ownsIndex(base + a.n));
  const visit = async (index: number, intended: number, stayMs: number): Promise<void> => {
    const u = await connectUser(ctx, index, intended, { notifications: true, chat: true });
    if (!u) return;
    const arrivedAt = clock.now();
    try {
      const rate = p.messagesPerUserPerSec;
      const half = arrivedAt + stayMs / 2;
      let switched = false;
      let next = arrivedAt + (rate > 0 ? ctx.rng.fork(`churn-u${index}`).exp(rate) * 1000 : stayMs);
      const r = ctx.rng.fork(`churn-gap-u${index}`);
      while (clock.now() < arrivedAt + stayMs) {
        const until = Math.min(next, arrivedAt + stayMs, switched ? Infinity : half);
        const wait = until - clock.now();
        if (wait > 0) await delay(wait, ctx.signal);
        if (!switched && clock.now() >= half) {
          switched = true;
          const chat = u.chat;
          const server = chat && ctx.world.servers.find((s) => s.id === chat.serverId);
          if (chat && server && server.textChannelIds.length > 1) {
            const to = server.textChannelIds[(server.textChannelIds.indexOf(chat.textChannelId) + 1) % server.textChannelIds.length]!;
            await chat.switchTo(to, p.strategy, half);
          }
        }
        if (rate > 0 && clock.now() >= next && clock.now() < arrivedAt + stayMs) {
          u.chat?.sendMessage(wallOf(next));
          next += r.exp(rate) * 1000;
        }
      }
    } finally {
      await ctx.userLeaves(u);
    }
  };
  const results = await runTimed(mine, clock.now(), (a, intended) => visit(base + a.n, intended, a.stayMs), ctx.signal);
  for (const r of results) if (r.status === 'rejected' && fatal(ctx, r.reason)) throw r.reason;
  await ctx.deliveries.drain(DRAIN_MS, ctx.signal);
}

export async function multiTabPhase(ctx: RunContext, p: Cfg<typeof MultiTabPhase>): Promise<void> {
  const users = ctx.sliceOfRun(ctx.onlineUsers().filter((u) => u.chat), p.users ?? Number.MAX_SAFE_INTEGER);
  // open the second tab of everyone first, so every message below is expected on both tabs
  await Promise.all(
    users.map((u) =>
      ctx.connectLimit(async () => {
        const first = u.chat!;
        await Promise.all([u.openNotifications(), u.openChat(first.serverId, first.textChannelId)]);
      }),
    ),
  );
  for (const u of users) for (let m = 0; m < p.messagesWhileHolding; m++) u.chat?.sendMessage(wallNow());
  await delay(p.hold, ctx.signal);
  await ctx.deliveries.drain(DRAIN_MS, ctx.signal);
  await Promise.all(
    users.map(async (u) => {
      const pick = <T>(list: T[]): T | undefined => (p.close === 'first' ? list[0] : list[list.length - 1]);
      const tabs = [pick(u.chats), pick(u.notifications)].filter((s) => s !== undefined);
      if (u.chats.length > 1 || u.notifications.length > 1) for (const s of tabs) await u.closeSession(s);
    }),
  );
}

/** The last `n` online users, and each one's voice session when the phase acts on voice (joined first if it has none). */
async function victims(ctx: RunContext, n: number, kinds: readonly string[]): Promise<SimulatedUser[]> {
  const users = ctx.sliceOfRun(ctx.onlineUsers(), n, 'last');
  if (kinds.includes('voice')) await Promise.all(users.map((u) => ensureVoiceSession(ctx, u, ctx.world.servers.indexOf(homeOf(ctx, u.index).server))));
  return users;
}

/** How long the server takes to drop a socket that went silent: its heartbeat window (known, or assumed 30 s × 3), plus the settle. */
function reapWait(ctx: RunContext, wait: number | undefined): number {
  if (wait !== undefined) return wait;
  return (ctx.leak?.reapWindowMs() ?? 30_000 * 3) + ctx.scenario.settle;
}

export async function freezePhase(ctx: RunContext, p: Cfg<typeof FreezePhase>): Promise<void> {
  const frozen: Array<{ closed: Promise<void> }> = [];
  for (const u of await victims(ctx, p.users, p.kinds)) {
    for (const s of [...(p.kinds.includes('chat') ? u.chats : []), ...(p.kinds.includes('notifications') ? u.notifications : [])]) {
      const c = s.sock.conn;
      if (c && s.freeze()) frozen.push(c);
    }
    const v = p.kinds.includes('voice') ? (u.voice as VoiceUserSlot | null)?.freeze() : null;
    if (v) frozen.push(v);
  }
  ctx.metrics.inc('freeze.sockets', frozen.length);
  // done when the server dropped every frozen socket, or when its window (and a margin) ran out
  const stop = new AbortController();
  const timeout = delay(reapWait(ctx, p.wait), AbortSignal.any([ctx.signal, stop.signal])).catch(() => undefined);
  try {
    await Promise.race([Promise.all(frozen.map((c) => c.closed)), timeout]);
  } finally {
    stop.abort();
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
}

/**
 * Killed browsers: each victim's sockets of the phase's kinds are destroyed with no close
 * frame. The checkpoint after it polls the server for as long as its reap window allows,
 * ending as soon as the server has forgotten them (sockets, voice membership, presence).
 */
export async function crashPhase(ctx: RunContext, p: Cfg<typeof CrashPhase>): Promise<void> {
  let n = 0;
  for (const u of await victims(ctx, p.users, p.kinds)) {
    n += u.crash(p.kinds).length;
    if (p.kinds.includes('voice') && u.voice instanceof VoiceUserSlot) n += await u.voice.crash();
    // a user whose every socket died is gone, as its closed browser is (its ledger stays)
    if (p.kinds.length === 3) await ctx.userLeaves(u);
  }
  ctx.metrics.inc('crash.sockets', n);
  await ctx.checkpoint(`${ctx.phase}:reaped`, { settleMs: reapWait(ctx, p.wait) });
}

export async function idlePhase(ctx: RunContext, p: Cfg<typeof IdlePhase>): Promise<void> {
  await delay(p.duration, ctx.signal);
}

export async function disconnectPhase(ctx: RunContext, p: Cfg<typeof DisconnectPhase>): Promise<void> {
  const users = ctx.onlineUsers();
  await ctx.deliveries.drain(DRAIN_MS, ctx.signal);
  const results = await runTimed(connectSchedule(users.map((u) => u.index), p.rampDown), clock.now(), (a) => ctx.userLeaves(users.find((u) => u.index === a.user)!), ctx.signal);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
