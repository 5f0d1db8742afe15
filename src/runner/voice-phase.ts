import { clock, delay } from '../clock.js';
import { MbError } from '../errors.js';
import { HttpClient } from '../client/http-client.js';
import type { SimulatedUser } from '../client/simulated-user.js';
import { VoiceSession } from '../client/voice/voice-session.js';
import { VoiceUserSlot } from '../client/voice/voice-user-slot.js';
import { negotiationLimiter, type NegotiationLimiter } from '../client/voice/negotiation-limiter.js';
import { VoiceTally } from '../client/voice/voice-summary.js';
import type { VoiceActionConfig, VoicePhaseConfig } from '../scenario/schema.js';
import type { RunContext, VoiceSummary } from './run-context.js';
import type { Rng } from './rng.js';

/**
 * The `voice` phase: rooms x usersPerRoom online users join voice rooms (staggered), build
 * a real WebRTC mesh, hold while the scenario's actions play, and leave at the end unless
 * the phase keeps them. A session that ended is summarised (its pairs) and released, so the
 * report's voice section covers all voice phases, left sessions included, and a voice soak
 * keeps no session of an earlier cycle.
 */
interface VoiceBook {
  /** sessions that may still hold peers (joined, or kept by a phase with leave: false) */
  live: VoiceSession[];
  /** the pairs of sessions that ended, folded into sums: the sessions themselves are released */
  ended: VoiceTally;
}
const booksOf = new WeakMap<RunContext, VoiceBook>();

function voiceBook(ctx: RunContext): VoiceBook {
  let book = booksOf.get(ctx);
  if (!book) booksOf.set(ctx, (book = { live: [], ended: new VoiceTally() }));
  return book;
}

/** Folds the sessions that have ended into their pair summaries, then the run's voice section. */
function summariseBook(book: VoiceBook): VoiceSummary | null {
  const live: VoiceSession[] = [];
  for (const s of book.live) {
    if (s.state === 'left' || s.state === 'refused') for (const p of s.pairs()) book.ended.add(p);
    else live.push(s);
  }
  book.live = live;
  return book.ended.summary(live);
}

interface Room {
  roomId: number;
  /** the room's members by their place in it, null where another shard drives that member */
  slots: Array<SimulatedUser | null>;
  /** this shard's members */
  members: SimulatedUser[];
  /** clock.now() when the room's last member finished joining */
  fullAt: number;
}

export async function runVoicePhase(ctx: RunContext, phase: VoicePhaseConfig): Promise<void> {
  const needed = phase.rooms * phase.usersPerRoom;
  const picks = await pickUsers(ctx, needed);
  const users = picks.filter((u): u is SimulatedUser => u !== null);
  const roomIds = await voiceRooms(ctx, phase);
  const limiter = negotiationLimiter(phase.negotiationConcurrency);
  const rng = ctx.rng.fork(`voice:${ctx.phase}`);
  const rooms: Room[] = roomIds.map((roomId, r) => {
    const slots = picks.slice(r * phase.usersPerRoom, (r + 1) * phase.usersPerRoom);
    return { roomId, slots, members: slots.filter((u): u is SimulatedUser => u !== null), fullAt: 0 };
  });
  const driver = new AbortController();
  const signal = AbortSignal.any([ctx.signal, driver.signal]);
  const join = (user: SimulatedUser, roomId: number, main: boolean) => joinRoom(ctx, user, roomId, phase, limiter, main);
  try {
    await Promise.all(
      rooms.map(async (room) => {
        // every shard keeps the one schedule: member i joins i staggers in, whichever shard drives it
        for (let i = 0; i < room.slots.length; i++) {
          if (i > 0 && phase.stagger > 0) await delay(phase.stagger, ctx.signal);
          const u = room.slots[i];
          if (u) await join(u, room.roomId, true);
        }
        room.fullAt = clock.now();
      }),
    );
    await Promise.all(
      rooms.map(async (room) => {
        const spurts = phase.audio === 'talk-spurt' ? talkSpurts(room, rng.fork(room.roomId), signal) : null;
        await runActions(ctx, room, phase.actions, join, ctx.signal);
        const left = room.fullAt + phase.hold - clock.now();
        if (left > 0) await delay(left, ctx.signal);
        driver.abort();
        await spurts;
      }),
    );
    // second tabs are closed at the end of the hold, as a user closes a browser tab
    let tabsClosed = 0;
    for (const u of users) {
      const slot = u.voice as VoiceUserSlot | null;
      if (slot instanceof VoiceUserSlot) for (const s of [...slot.sessions]) if (s !== slot.current) (await slot.leave(s), tabsClosed++);
    }
    // the others dropped their peers to that user and it re-meshes: let that finish first
    if (tabsClosed > 0) await untilMeshed(rooms, 10_000, ctx.signal);
    await ctx.checkpoint(`${ctx.phase}:held`);
  } finally {
    driver.abort();
    // a failed or aborted phase must not leave peers behind, whatever `leave` says
    if (phase.leave || ctx.signal.aborted) await Promise.all(users.map((u) => (u.voice as VoiceUserSlot | null)?.close()));
    ctx.voice = summariseBook(voiceBook(ctx));
  }
}

/** The run's first `needed` online users not already in a voice room (null: another shard's), created when too few are online. */
async function pickUsers(ctx: RunContext, needed: number): Promise<Array<SimulatedUser | null>> {
  const free = ctx.onlineUsers().filter((u) => u.identity && !(u.voice && u.voice.roomId !== null));
  const picks = ctx.pickOfRun(free, needed);
  if (picks.length >= needed) return picks;
  const out = [...free];
  const taken = new Set(ctx.allUsers().map((u) => u.index));
  for (let i = 0; out.length < needed && i < needed * 4 + taken.size; i++) {
    if (taken.has(i) || !ctx.ownsIndex(i)) continue;
    out.push(await ctx.getUser(i));
  }
  if (out.length < needed) throw new MbError('MB_ERR_USAGE', `voice phase ${ctx.phase} needs ${needed} users, only ${out.length} are available`);
  return out;
}

/** The voice channels to use; the owner creates the missing ones when it can. */
async function voiceRooms(ctx: RunContext, phase: VoicePhaseConfig): Promise<number[]> {
  const existing = ctx.world.servers.flatMap((s) => s.voiceChannelIds);
  // max_users counts distinct users (a second tab takes no seat); every room is of setup.maxVoiceUsers,
  // and the plan refused a phase whose rooms cannot hold its users
  const seats = phase.usersPerRoom;
  const usable = existing.slice(0, phase.rooms);
  if (usable.length >= phase.rooms) return usable;
  const owner = ctx.world.owner;
  const server = ctx.world.servers[0];
  if (!owner || !server) {
    throw new MbError('MB_ERR_USAGE', `voice phase ${ctx.phase} needs ${phase.rooms} voice channels of ${seats} seats; the world has ${usable.length} and no owner to create more`);
  }
  const http = new HttpClient(ctx.env);
  while (usable.length < phase.rooms) {
    const pos = server.voiceChannelIds.length + 1;
    const vc = await http.createVoiceChannel(owner.token, server.id, `voice-${ctx.phase}-${usable.length + 1}`, pos, ctx.scenario.setup.maxVoiceUsers);
    server.voiceChannelIds.push(vc.id);
    usable.push(vc.id);
  }
  return usable;
}

/**
 * The user's joined voice session, joining one (signaling only, no media) in the first voice
 * channel of its home server when it has none: what a freeze or crash of kind `voice` acts on.
 */
export async function ensureVoiceSession(ctx: RunContext, user: SimulatedUser, serverIndex: number): Promise<VoiceSession | null> {
  const slot = user.voice as VoiceUserSlot | null;
  if (slot instanceof VoiceUserSlot && slot.current?.state === 'joined') return slot.current;
  const servers = ctx.world.servers;
  const roomId = servers[serverIndex % servers.length]?.voiceChannelIds[0];
  if (roomId === undefined) return null;
  return joinRoom(ctx, user, roomId, { audio: 'muted', ptime: 20 }, negotiationLimiter(1), true, false);
}

async function joinRoom(ctx: RunContext, user: SimulatedUser, roomId: number, phase: Pick<VoicePhaseConfig, 'audio' | 'ptime'>, limiter: NegotiationLimiter, main: boolean, media = main): Promise<VoiceSession | null> {
  const identity = user.identity;
  if (!identity) return null;
  let slot = user.voice as VoiceUserSlot | null;
  if (!(slot instanceof VoiceUserSlot)) user.voice = slot = new VoiceUserSlot();
  // a second tab sits in the room without media: the mesh keeps one peer per user
  const s = new VoiceSession({ env: ctx.env, identity, ledger: user.ledger, roomId, audio: phase.audio, ptimeMs: phase.ptime, limiter, media });
  voiceBook(ctx).live.push(s);
  slot.add(s, main);
  const r = await ctx.connectLimit(() => s.join());
  if (!r.ok) {
    ctx.log.warn('[VoiceService]', `user ${identity.username} refused in voice ${roomId}: ${r.refusal.status ?? r.refusal.code} ${r.refusal.reason}`);
    await slot.leave(s);
    return null;
  }
  return s;
}

async function runActions(
  ctx: RunContext,
  room: Room,
  actions: readonly VoiceActionConfig[],
  join: (u: SimulatedUser, roomId: number, main: boolean) => Promise<VoiceSession | null>,
  signal: AbortSignal,
): Promise<void> {
  for (const a of [...actions].sort((x, y) => x.at - y.at)) {
    const wait = room.fullAt + a.at - clock.now();
    if (wait > 0) await delay(wait, signal);
    // the member of the one schedule; another shard acts on it when it drives it
    const user = room.slots[a.member % room.slots.length];
    const slot = user?.voice as VoiceUserSlot | null;
    const s = slot?.current;
    if (!user || !slot || !s) continue;
    ctx.env.tracer.emit({ ev: 'voice.action', user: user.index, room: room.roomId, action: a.action });
    switch (a.action) {
      case 'mute':
      case 'unmute':
        s.mute(a.action === 'mute');
        break;
      case 'deafen':
      case 'undeafen':
        s.deafen(a.action === 'deafen');
        break;
      case 'speaking-on':
      case 'speaking-off':
        s.setSpeaking(a.action === 'speaking-on');
        break;
      case 'screen-share-start':
        s.startScreenShare();
        break;
      case 'screen-share-stop':
        s.stopScreenShare();
        break;
      case 'leave-rejoin':
        await slot.leave(s);
        await join(user, room.roomId, true);
        break;
      case 'second-tab':
        await join(user, room.roomId, false);
        break;
      case 'leave':
        await slot.leave(s);
        break;
      case 'crash':
        // a killed tab: the room must learn of it within the server's reap window
        await slot.crash();
        break;
    }
  }
}

/** Waits (bounded) until every joined main session holds a peer to each other joined member of its room. */
async function untilMeshed(rooms: Room[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  const meshed = () =>
    rooms.every((room) => {
      const live = room.members.map((u) => (u.voice as VoiceUserSlot | null)?.current).filter((s): s is VoiceSession => s?.state === 'joined');
      return live.every((s) => s.peers.size === live.length - 1);
    });
  const end = clock.now() + timeoutMs;
  while (!meshed() && clock.now() < end) await delay(50, signal);
}

/** Talk-spurt mode: one speaker at a time per room, each for 1 to 3 s (seeded), in turn. */
async function talkSpurts(room: Room, rng: Rng, signal: AbortSignal): Promise<void> {
  let k = rng.int(0, room.slots.length - 1);
  let speaking: VoiceSession | null = null;
  try {
    while (!signal.aborted) {
      const slot = room.slots[k++ % room.slots.length];
      const s = (slot?.voice as VoiceUserSlot | null | undefined)?.current ?? null;
      // another shard's member takes the turn: this shard's speaker stops as well
      if (slot === null && speaking?.state === 'joined') {
        speaking.setSpeaking(false);
        speaking = null;
      }
      if (s && s.state === 'joined') {
        speaking?.setSpeaking(false);
        s.setSpeaking(true);
        speaking = s;
      }
      await delay(rng.range(1000, 3000), signal);
    }
  } catch {
    // aborted: the hold is over
  } finally {
    if (speaking?.state === 'joined') speaking.setSpeaking(false);
  }
}
