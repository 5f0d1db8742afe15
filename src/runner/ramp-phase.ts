import { clock, delay } from '../clock.js';
import { HttpClient, HttpStatusError } from '../client/http-client.js';
import { fetchStats } from '../client/fetch-stats.js';
import type { SimulatedUser } from '../client/simulated-user.js';
import type { SocketKind } from '../protocol/messages.js';
import type { RampPhaseConfig } from '../scenario/schema.js';
import { openProbe, type Probe, type ProbeResult } from './probe-socket.js';
import { recordPhaseFinding } from './phase-findings.js';
import { startRestCanary, type CanaryWindow } from './rest-canary.js';
import type { RunContext } from './run-context.js';

/**
 * The `ramp` phase: finds the knee. Opens sockets of one kind in steps of `step` up to `max`,
 * holds each step, and measures at each: the connect time of the new sockets and how they
 * ended, the ping round trip on the sockets already open, and a REST canary (an
 * authenticated GET every `canaryEvery`). The first step where connects stall or are refused
 * below the declared total, or the canary fails, stalls or its latency jumps (relative to the
 * first steps), is a `capacity-knee` finding: N, the kind, each symptom with its numbers, and
 * whether the server recovered once the sockets closed.
 */
export interface RampStep {
  /** sockets open (accepted) once the step's new sockets had their answer */
  open: number;
  attempted: number;
  accepted: number;
  refused: Record<string, number>;
  timedOut: number;
  errors: number;
  connectP50: number | null;
  connectMax: number | null;
  /** new sockets slower than `stallAfter` */
  stalledConnects: number;
  pingP50: number | null;
  pingMax: number | null;
  pingsLost: number;
  canary: CanaryWindow;
}

const pct = (xs: number[], q: number): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
};
const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);
/** pings sampled per step, at most */
const PING_SAMPLE = 32;
/** a latency jump must also be this many ms above the baseline (loopback jitter is not a knee) */
const JUMP_FLOOR_MS = 100;

export async function rampPhase(ctx: RunContext, p: RampPhaseConfig): Promise<void> {
  // one process ramps: shards side by side would each take the server to its knee at once
  if (ctx.shard.index !== 0) return;
  const http = new HttpClient(ctx.env);
  const stats0 = await fetchStats(ctx.target.httpUrl, { signal: ctx.signal, timeoutMs: 10_000 }).catch(() => null);
  const cfg = stats0?.stats.config ?? ctx.leak?.serverConfig() ?? null;
  const declaredTotal = cfg?.max_total;
  const baseTotal = stats0?.stats.total_connections ?? 0;
  const spu = p.kind === 'voice' ? 1 : (p.socketsPerUser ?? 1);
  const kind: SocketKind = p.kind;
  const nUsers = Math.ceil(p.max / spu);
  const users = await rampUsers(ctx, http, nUsers);
  const rooms = kind === 'voice' ? await rampRooms(ctx, http, nUsers) : [];
  const chatServer = ctx.world.servers[0]?.id;
  const canaryToken = ctx.world.owner?.token ?? users[0]!.identity!.token;
  const canaryUser = users[0]!;
  const canary = startRestCanary({ httpUrl: ctx.target.httpUrl, token: canaryToken, everyMs: p.canaryEvery, metrics: ctx.metrics, stallAfterMs: p.stallAfter, signal: ctx.signal, login: { username: canaryUser.username, password: canaryUser.password } });
  const open: Probe[] = [];
  const steps: RampStep[] = [];
  let knee: { step: RampStep; symptoms: string[] } | null = null;
  let slot = 0;
  try {
    // the canary's first window, before any socket of the ramp: its baseline
    await delay(Math.max(p.canaryEvery * 4, 500), ctx.signal);
    const idle = canary.mark();
    for (let target = Math.min(p.step, p.max); ; target = Math.min(target + p.step, p.max)) {
      const want = target - slot;
      const results: ProbeResult[] = await Promise.all(
        Array.from({ length: want }, () => {
          const k = slot++;
          const user = users[Math.floor(k / spu)]!;
          const channelId = kind === 'chat' ? chatServer : kind === 'voice' ? rooms[Math.floor(k / roomSizeOf(rooms))]?.id : undefined;
          return ctx.connectLimit(async () => {
            const probe = openProbe({ wsUrl: ctx.target.wsUrl, token: user.identity!.token, kind, channelId }, { timeoutMs: p.attemptTimeout });
            const r = await probe.result;
            ctx.metrics.record(`ramp.connect.${kind}`, r.ms);
            if (r.outcome !== 'accepted') ctx.metrics.record(`ramp.connect.${kind}.${r.outcome}`, r.ms);
            ctx.metrics.inc(`ramp.attempts.${kind}.${r.outcome}`);
            if (r.outcome === 'accepted') open.push(probe);
            else await probe.close();
            return r;
          });
        }),
      );
      // past the declared total a refusal is the promise kept: counted apart, never an error
      if (declaredTotal !== undefined && baseTotal + open.length >= declaredTotal) for (const r of results) if (r.outcome === 'refused') ctx.metrics.inc(`expected_refusals.${kind}.${r.status ?? r.code}`);
      // ping the sockets that were already open before this step (a sample of them)
      const older = open.slice(0, Math.max(0, open.length - results.filter((r) => r.outcome === 'accepted').length));
      const hold = delay(p.hold, ctx.signal);
      const sample = older.filter((_, i) => i % Math.max(1, Math.ceil(older.length / PING_SAMPLE)) === 0);
      const rtts = await Promise.all(sample.map((s) => s.ping(p.stallAfter)));
      await hold;
      const step = stepOf(open.length, results, rtts, canary.mark(), p.stallAfter);
      steps.push(step);
      ctx.log.info('[Ramp]', `${kind} ${step.open}: connect p50 ${step.connectP50} ms, refused ${JSON.stringify(step.refused)}, canary p50 ${round(step.canary.p50)} ms failed ${step.canary.failed}`);
      const symptoms = kneeSymptoms(step, steps, idle, p, declaredTotal, baseTotal);
      if (symptoms.length && !knee) {
        knee = { step, symptoms };
        if (p.stopAtKnee) break;
      }
      if (target >= p.max) break;
    }
  } finally {
    await Promise.all(open.map((s) => s.close()));
  }
  // recovery: the canary answers in time again, and a new socket of the kind is accepted
  // the probe goes as another user each try: one whose sockets the server still holds (a leak) says nothing of capacity
  const recovery = await recovered(ctx, p, canary, (k) => openProbe({ wsUrl: ctx.target.wsUrl, token: users[(users.length - 1 - k + users.length * 8) % users.length]!.identity!.token, kind, channelId: kind === 'chat' ? chatServer : rooms[0]?.id }, { timeoutMs: p.stallAfter }));
  await canary.stop();
  const peak = Math.max(0, ...steps.map((s) => s.open));
  ctx.metrics.inc(`ramp.peak_open.${kind}`, peak);
  const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x * 10) / 10}ms`);
  const summary = steps.map((s) => `${s.open}:${ms(s.connectP50)}/${ms(s.canary.p50)}${Object.keys(s.refused).length ? `/refused ${JSON.stringify(s.refused)}` : ''}${s.canary.failed ? `/canary failed ${s.canary.failed}` : ''}`).join(' ');
  ctx.caps.notes.push(`${ctx.phase}: ramp of ${kind} sockets to ${peak} (step:connect p50/canary p50): ${summary}${knee ? ` — knee at ${knee.step.open}` : ' — no knee'}${declaredTotal === undefined ? '; the target declares no total limit' : ''}`);
  if (knee) {
    const f = recordPhaseFinding(ctx, ctx.phase, {
      class: 'capacity-knee',
      message: `capacity knee at ${knee.step.open} ${kind} sockets: ${knee.symptoms.join('; ')}; ${recovery.ok ? `recovered ${Math.round(recovery.ms)} ms after the sockets closed` : `not recovered ${Math.round(recovery.ms)} ms after the sockets closed (${recovery.why})`}`,
      subject: { kind, resource: `sockets.${kind}` },
      expected: { open: declaredTotal ?? p.max, symptoms: [] },
      observed: { n: knee.step.open, symptoms: knee.symptoms, step: knee.step, recovered: recovery.ok, recoveryMs: Math.round(recovery.ms) },
      details: { steps, baseline: steps.slice(0, 2).map((s) => s.canary.p50), declaredTotal, recovery },
    });
    ctx.log.warn('[Ramp]', `${f.id} ${f.message}`);
  }
}

function roomSizeOf(rooms: Array<{ maxUsers: number }>): number {
  return rooms[0]?.maxUsers ?? 1;
}

function stepOf(openNow: number, results: ProbeResult[], rtts: Array<number | null>, canary: CanaryWindow, stallAfter: number): RampStep {
  const refused: Record<string, number> = {};
  for (const r of results) if (r.outcome === 'refused') refused[String(r.status ?? r.code)] = (refused[String(r.status ?? r.code)] ?? 0) + 1;
  const ms = results.map((r) => r.ms);
  const pings = rtts.filter((x): x is number => x !== null);
  return {
    open: openNow,
    attempted: results.length,
    accepted: results.filter((r) => r.outcome === 'accepted').length,
    refused,
    timedOut: results.filter((r) => r.outcome === 'timed-out').length,
    errors: results.filter((r) => r.outcome === 'error').length,
    connectP50: round(pct(ms, 0.5)),
    connectMax: round(pct(ms, 1)),
    stalledConnects: results.filter((r) => r.ms > stallAfter).length,
    pingP50: round(pct(pings, 0.5)),
    pingMax: round(pct(pings, 1)),
    pingsLost: rtts.length - pings.length,
    canary,
  };
}

/** What makes this step the knee, each with its numbers; none when it went well. */
export function kneeSymptoms(step: RampStep, steps: RampStep[], idle: CanaryWindow, p: Pick<RampPhaseConfig, 'latencyJump' | 'stallAfter'>, declaredTotal: number | undefined, baseTotal: number): string[] {
  const out: string[] = [];
  const below = declaredTotal === undefined || baseTotal + step.open + (step.attempted - step.accepted) <= declaredTotal;
  // 4008 is the per-user limit: a ramp keeps within it, so it means sockets of its users the server still holds (a leak the detector names), not capacity
  const refused = Object.entries(step.refused).filter(([c]) => c !== '4008');
  const refusedN = refused.reduce((a, [, n]) => a + n, 0);
  if (refusedN && below) out.push(`${refusedN} of ${step.attempted} new sockets refused (${refused.map(([c, n]) => `${c}×${n}`).join(', ')})${declaredTotal !== undefined ? ` below the declared total of ${declaredTotal}` : ''}`);
  if (step.timedOut) out.push(`${step.timedOut} new sockets timed out`);
  if (step.stalledConnects) out.push(`${step.stalledConnects} new sockets took over ${p.stallAfter} ms to connect (max ${step.connectMax} ms)`);
  if (step.canary.failed) out.push(`REST canary failed ${step.canary.failed} of ${step.canary.calls} calls (${Object.entries(step.canary.failures).map(([c, n]) => `${c}×${n}`).join(', ')})`);
  if (step.canary.stalled) out.push(`REST canary stalled on ${step.canary.stalled} calls (over ${p.stallAfter} ms${step.canary.pending ? `, ${step.canary.pending} still unanswered` : ''}${step.canary.max !== null ? `, slowest answered ${Math.round(step.canary.max)} ms` : ''})`);
  // the canary's baseline: the idle window and the first two steps
  const base = [idle.p50, ...steps.slice(0, 2).map((s) => s.canary.p50)].filter((x): x is number => x !== null);
  const b = base.length ? Math.min(...base) : null;
  const c = step.canary.p50;
  if (b !== null && c !== null && c > b * p.latencyJump && c > b + JUMP_FLOOR_MS) out.push(`REST canary p50 ${Math.round(c)} ms, ${Math.round(c / Math.max(b, 0.1))}× the first steps' ${Math.round(b)} ms`);
  const pingBase = steps.slice(0, 2).map((s) => s.pingP50).filter((x): x is number => x !== null);
  const pb = pingBase.length ? Math.min(...pingBase) : null;
  if (step.pingsLost) out.push(`${step.pingsLost} pings on open sockets got no answer within ${p.stallAfter} ms`);
  else if (pb !== null && step.pingP50 !== null && step.pingP50 > pb * p.latencyJump && step.pingP50 > pb + JUMP_FLOOR_MS) out.push(`ping round trip p50 ${step.pingP50} ms on open sockets, ${Math.round(step.pingP50 / Math.max(pb, 0.1))}× the first steps'`);
  return out;
}

async function recovered(ctx: RunContext, p: RampPhaseConfig, canary: ReturnType<typeof startRestCanary>, probe: (attempt: number) => Probe): Promise<{ ok: boolean; ms: number; why?: string }> {
  const start = clock.now();
  const end = start + p.recoverWithin;
  let why = 'no answer yet';
  for (let attempt = 0; clock.now() < end && !ctx.signal.aborted; attempt++) {
    const c = await canary.probe();
    if (c.ok && c.ms < p.stallAfter) {
      const s = probe(attempt);
      const r = await s.result;
      await s.close();
      if (r.outcome === 'accepted') return { ok: true, ms: clock.now() - start };
      why = `a new ${p.kind} socket was ${r.outcome} (${r.status ?? r.code ?? ''})`;
    } else why = c.ok ? `the canary answered in ${Math.round(c.ms)} ms` : 'the canary failed';
    await delay(250, ctx.signal).catch(() => undefined);
  }
  return { ok: false, ms: clock.now() - start, why };
}

/** the users ramps of this run opened sockets as: a later ramp reuses them (a users file needs no more accounts) */
const rampUsersOf = new WeakMap<RunContext, SimulatedUser[]>();

async function rampUsers(ctx: RunContext, http: HttpClient, n: number): Promise<SimulatedUser[]> {
  const have = rampUsersOf.get(ctx) ?? [];
  if (have.length >= n) return have.slice(0, n);
  const more = await newRampUsers(ctx, http, n - have.length);
  rampUsersOf.set(ctx, [...have, ...more]);
  return [...have, ...more];
}

async function newRampUsers(ctx: RunContext, http: HttpClient, n: number): Promise<SimulatedUser[]> {
  const base = ctx.reserveIndices(n * ctx.shard.count);
  const servers = ctx.world.servers;
  const server = servers.length > 1 ? servers[0] : undefined;
  return Promise.all(
    Array.from({ length: n }, (_, k) =>
      ctx.connectLimit(async () => {
        const u = await ctx.getUser(base + k * ctx.shard.count + ctx.shard.index);
        if (server && u.index % servers.length !== 0)
          await http.joinServer(u.identity!.token, server.id, u.index).catch((err) => {
            if (!(err instanceof HttpStatusError && err.status === 400)) throw err;
          });
        return u;
      }),
    ),
  );
}

/** Voice rooms enough for `n` users (distinct users per room: max_users), created by the owner. */
async function rampRooms(ctx: RunContext, http: HttpClient, n: number): Promise<Array<{ id: number; maxUsers: number }>> {
  const owner = ctx.world.owner;
  const server = ctx.world.servers[0];
  if (!owner || !server) return server ? server.voiceChannelIds.map((id) => ({ id, maxUsers: ctx.scenario.setup.maxVoiceUsers })) : [];
  const size = ctx.scenario.setup.maxVoiceUsers;
  const rooms: Array<{ id: number; maxUsers: number }> = [];
  for (let r = 0; r < Math.ceil(n / size); r++) {
    const vc = await http.createVoiceChannel(owner.token, server.id, `ramp-${ctx.phase}-${r}`, server.voiceChannelIds.length + r + 1, size);
    rooms.push({ id: vc.id, maxUsers: vc.max_users ?? size });
  }
  return rooms;
}
