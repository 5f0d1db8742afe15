import pLimit, { type LimitFunction } from 'p-limit';
import { MbError } from '../errors.js';
import { HttpClient, HttpStatusError } from '../client/http-client.js';
import { SimulatedUser } from '../client/simulated-user.js';
import type { UserLedger } from '../client/ledger.js';
import type { LeakUserView } from '../leak/types.js';
import { createRng } from './rng.js';
import type { Scenario } from '../scenario/schema.js';
import type { Target } from './target.js';
import type { CheckpointOptions, RunContext, VoiceSummary, World } from './run-context.js';

export interface Credentials {
  username: string;
  password: string;
}

/** What a RunState is made of: the plan, the target, and the run's own parts. */
export interface RunStateInit extends Pick<RunContext, 'log' | 'shard' | 'leak' | 'deliveries' | 'signal'> {
  /** the run plan's (run-plan.ts) */
  plan: { scenario: Scenario; credentials: Credentials[] | null; closedUsers: number };
  target: Target;
  /** every user's ledger by index, filled here as users are created (the leak detector reads the same map) */
  ledgers: Map<number, UserLedger>;
}

/** The fields of RunContext a RunState holds as given (declared once, in RunContext). */
export interface RunState extends Pick<RunContext, 'scenario' | 'seed' | 'rng' | 'target' | 'env' | 'metrics' | 'log' | 'shard' | 'signal' | 'leak' | 'deliveries' | 'caps'> {}

/** The run's mutable state behind RunContext: users, world, indices, checkpoints. */
export class RunState implements RunContext {
  readonly world: World = { owner: null, servers: [] };
  readonly connectLimit: LimitFunction;
  phase = 'setup';
  voice: VoiceSummary | null = null;
  private readonly online = new Map<number, SimulatedUser>();
  /** the latest login of every account the run used: a returning user replaces its departed self */
  private readonly everyone = new Map<number, SimulatedUser>();
  private readonly ledgers: Map<number, UserLedger>;
  private readonly creating = new Map<number, Promise<SimulatedUser>>();
  /** indices whose account exists and has joined the world (a returning user logs in only) */
  private readonly known = new Set<number>();
  private indexHigh: number;
  /** the closed model's users (every index below is a user some shard connects) */
  private readonly closedUsers: number;
  private readonly password: string;
  /** --users-file: accounts by global user index; never register then */
  private readonly credentials: Credentials[] | null;
  /** a voice phase (or one in a soak cycle) may use any server's rooms */
  private readonly hasVoice: boolean;

  constructor({ plan, target, ledgers, ...parts }: RunStateInit) {
    const { scenario } = plan;
    Object.assign(this, parts, { scenario, seed: scenario.seed, rng: createRng(scenario.seed), target, env: target.env, metrics: target.env.metrics, caps: target.caps });
    this.ledgers = ledgers;
    this.credentials = plan.credentials;
    // open-model arrivals get indices above every closed-model user
    this.indexHigh = plan.closedUsers;
    this.closedUsers = plan.closedUsers;
    this.connectLimit = pLimit(scenario.connectConcurrency);
    this.password = `mb-${parts.shard.usernamePrefix}-pw`;
    this.hasVoice = scenario.phases.some((p) => p.type === 'voice' || (p.type === 'soak' && p.cycle.some((c) => c.type === 'voice')));
  }

  onlineUsers(): SimulatedUser[] {
    return [...this.online.values()].sort((a, b) => a.index - b.index);
  }

  onlineCount(): number {
    return this.online.size;
  }

  allUsers(): SimulatedUser[] {
    return [...this.everyone.values()];
  }

  ownsIndex(index: number): boolean {
    return index % this.shard.count === this.shard.index;
  }

  /**
   * The first (or last) `n` of the run's users like `candidates` (this shard's, in index order),
   * by global position: entry k is the run's k-th pick, null where another shard holds it. One
   * process picks `candidates.slice(0, n)`. A shard cannot see the others' users, so it takes
   * them for alike: each closed-model index it does not own counts as a candidate (online,
   * with a chat): exact while the closed model's users are all online, as in a phase after
   * `connect`; the same seed then picks the same users whatever the split.
   */
  pickOfRun(candidates: SimulatedUser[], n: number, end: 'first' | 'last' = 'first'): Array<SimulatedUser | null> {
    if (this.shard.count === 1) return end === 'first' ? candidates.slice(0, n) : candidates.slice(Math.max(0, candidates.length - n));
    const own = new Map(candidates.map((u) => [u.index, u]));
    const high = Math.max(this.closedUsers, ...candidates.map((u) => u.index + 1));
    const order: number[] = [];
    for (let i = 0; i < high; i++) if (own.has(i) || (!this.ownsIndex(i) && i < this.closedUsers)) order.push(i);
    const chosen = end === 'first' ? order.slice(0, n) : order.slice(Math.max(0, order.length - n));
    return chosen.map((i) => own.get(i) ?? null);
  }

  /** This shard's part of `pickOfRun`. */
  sliceOfRun(candidates: SimulatedUser[], n: number, end: 'first' | 'last' = 'first'): SimulatedUser[] {
    return this.pickOfRun(candidates, n, end).filter((u): u is SimulatedUser => u !== null);
  }

  reserveIndices(count: number): number {
    const base = Math.ceil(this.indexHigh / this.shard.count) * this.shard.count;
    this.indexHigh = base + count;
    return base;
  }

  private credentialsOf(index: number): Credentials {
    if (!this.credentials) return { username: `${this.shard.usernamePrefix}u${index}`, password: this.password };
    const c = this.credentials[index];
    if (!c) throw new MbError('MB_ERR_USAGE', `the users file has ${this.credentials.length} accounts; the run needs user #${index + 1}`);
    return c;
  }

  getUser(index: number, intendedAt?: number): Promise<SimulatedUser> {
    const u = this.online.get(index);
    if (u) return Promise.resolve(u);
    let p = this.creating.get(index);
    if (!p) {
      p = this.createUser(index, intendedAt).finally(() => this.creating.delete(index));
      this.creating.set(index, p);
    }
    return p;
  }

  private async createUser(index: number, intendedAt?: number): Promise<SimulatedUser> {
    const { username, password } = this.credentialsOf(index);
    const user = new SimulatedUser({
      index,
      username,
      password,
      register: !this.credentials && !this.known.has(index),
      env: this.env,
      caps: this.caps,
      tracker: this.deliveries,
      random: this.rng.fork(`user${index}`).next,
      ledger: this.everyone.get(index)?.ledger,
    });
    // the departed login is released here: its figures live on in the shared ledger and the run's metrics
    this.everyone.set(index, user);
    this.ledgers.set(index, user.ledger);
    const id = await user.login(intendedAt);
    const http = new HttpClient(this.env);
    for (const s of this.known.has(index) || this.world.joined ? [] : this.serversToJoin(index)) {
      try {
        await http.joinServer(id.token, s.id, index);
      } catch (err) {
        // 400: already a member (the owner, or a rerun with given accounts)
        if (!(err instanceof HttpStatusError && err.status === 400)) throw err;
      }
    }
    this.known.add(index);
    this.online.set(index, user);
    return user;
  }

  /**
   * Chat phases only use a user's home server (`homeOf`); voice rooms may be on any server,
   * so only a scenario with voice joins everyone to every server (users × servers requests).
   */
  private serversToJoin(index: number): World['servers'] {
    const servers = this.world.servers;
    if (servers.length <= 1 || this.hasVoice) return servers;
    return [servers[index % servers.length]!];
  }

  async userLeaves(user: SimulatedUser): Promise<void> {
    if (this.online.get(user.index) === user) this.online.delete(user.index);
    await user.leave();
  }

  /** Every user leaves (end of run, abort); never throws. */
  async everyoneLeaves(): Promise<void> {
    await Promise.allSettled([...this.creating.values()]);
    await Promise.allSettled(this.allUsers().map((u) => this.userLeaves(u)));
  }

  leakViews(): LeakUserView[] {
    return this.allUsers().map((u) => {
      const silent = u.chats.flatMap((c) => c.silentSockets());
      return {
        ledger: u.ledger,
        voice: u.voice ? { roomId: u.voice.roomId, remoteUserIds: u.voice.remoteUserIds } : null,
        token: u.identity?.token,
        expectedOpen: u.left ? { chat: 0, notifications: 0 } : { chat: u.chats.filter((c) => !c.frozen).length, notifications: u.notifications.filter((n) => !n.frozen).length },
        ...(silent.length ? { silentSockets: silent } : {}),
        mesh: () => [...(u.voice?.sessions ?? [])].map((s) => s.meshView()).filter((m) => m !== null),
      };
    });
  }

  async checkpoint(name: string, opts?: CheckpointOptions): Promise<void> {
    if (!this.leak || this.signal.aborted) return;
    this.deliveries.flush();
    await this.leak.checkpoint(name, this.leakViews(), { ...opts, world: { serverIds: this.world.servers.map((s) => s.id), token: this.world.owner?.token ?? null } });
  }
}
