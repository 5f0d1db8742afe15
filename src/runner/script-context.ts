import { clock, delay } from '../clock.js';
import { MbError, isMbError } from '../errors.js';
import { HttpClient, type HttpCallOptions } from '../client/http-client.js';
import type { SimulatedUser } from '../client/simulated-user.js';
import type { CustomPhaseConfig, Scenario, SwitchStrategy as SwitchStrategySchema } from '../scenario/schema.js';
import type { z } from 'zod';

type SwitchStrategy = z.infer<typeof SwitchStrategySchema>;
import type { RunContext, World } from './run-context.js';

/**
 * What a scripted (`custom`) phase's `run(ctx)` receives. Everything it does goes through
 * the bench's own clients, so it is measured, traced and counted like the built-in phases:
 * HTTP calls land in the trace and in `errors.http.*`, messages in the delivery accounting
 * (and `chat.deliver`), switches in `chat.switch`, and `metrics.record` in a histogram of
 * its own that a threshold can gate (`custom.<name>.p99<100ms`).
 */
export interface ScriptContext {
  /** the phase's name (`custom#<index>` without one) */
  readonly phase: string;
  readonly scenario: Scenario;
  /** the servers and channels this run set up */
  readonly world: World;
  /** the target's base URL, e.g. http://127.0.0.1:8080 */
  readonly httpUrl: string;
  /** aborted when the run stops (Ctrl-C, a gate, the target lost): pass it on to long waits */
  readonly signal: AbortSignal;
  /** users online now, in index order */
  users(): ScriptUser[];
  /** user `index` (0-based), brought online (registered, logged in, sockets open) if not yet */
  user(index: number): Promise<ScriptUser>;
  /**
   * An HTTP call to the target (`route` starts with /), as `user` when given (its bearer
   * token). JSON answers are parsed; a non-2xx answer throws an error with `status`.
   * `histogram` records the latency under that name (prefix it `custom.` to gate on it).
   */
  http<T = unknown>(method: string, route: string, opts?: ScriptHttpOptions): Promise<T>;
  /** waits `ms`, or rejects when the run stops */
  sleep(ms: number): Promise<void>;
  /** info-level log line, under the `[Script]` prefix (shown with --log-level info) */
  log(message: string): void;
  metrics: {
    /** a latency in ms into the histogram `name` (use the `custom.` prefix) */
    record(name: string, ms: number): void;
    /** adds to the counter `name` (`counters.<name>` in thresholds) */
    inc(name: string, by?: number): void;
    /** times `fn` into the histogram `name` and returns its result */
    time<T>(name: string, fn: () => Promise<T>): Promise<T>;
  };
}

export interface ScriptHttpOptions {
  user?: ScriptUser;
  json?: unknown;
  form?: Record<string, string>;
  histogram?: string;
}

/** One simulated user as a script sees it. */
export interface ScriptUser {
  readonly index: number;
  readonly userId: number | null;
  readonly username: string;
  /** its bearer token (null before login) */
  readonly token: string | null;
  /** the text channel its chat socket is on (null without one) */
  readonly textChannelId: number | null;
  /** sends one chat message on its channel, counted for delivery to every socket on it; false without an open chat socket */
  send(): boolean;
  /** moves it to another text channel (`reconnect`, `in-band` or `leaky`; default `in-band`, with reconnect as fallback); true once subscribed */
  switchTo(textChannelId: number, strategy?: SwitchStrategy): Promise<boolean>;
  /** closes its sockets; it is no longer online */
  leave(): Promise<void>;
  /** the engine's own user, for what the helpers do not cover (its ledger, its sessions) */
  readonly raw: SimulatedUser;
}

function scriptUser(ctx: RunContext, u: SimulatedUser): ScriptUser {
  return {
    index: u.index,
    get userId() {
      return u.identity?.userId ?? null;
    },
    username: u.username,
    get token() {
      return u.identity?.token ?? null;
    },
    get textChannelId() {
      return u.chat?.textChannelId ?? null;
    },
    send: () => u.chat?.sendMessage(clock.wall()) ?? false,
    switchTo: async (id, strategy = 'in-band') => {
      const chat = u.chat;
      if (!chat) return false;
      return chat.switchTo(id, strategy);
    },
    leave: () => ctx.userLeaves(u),
    raw: u,
  };
}

export function scriptContext(ctx: RunContext, phase: CustomPhaseConfig): ScriptContext {
  const http = new HttpClient(ctx.env);
  const wrap = (u: SimulatedUser) => scriptUser(ctx, u);
  const self: ScriptContext = {
    phase: ctx.phase,
    scenario: ctx.scenario,
    world: ctx.world,
    httpUrl: ctx.target.httpUrl,
    signal: ctx.signal,
    users: () => ctx.onlineUsers().map(wrap),
    user: async (index) => {
      if (!Number.isInteger(index) || index < 0) throw new MbError('MB_ERR_USAGE', `${phase.name ?? 'custom'}: ctx.user(${index}): expected a user index (0-based integer)`);
      return wrap(await ctx.getUser(index));
    },
    http: (method, route, o = {}) => {
      const token = o.user?.token ?? undefined;
      const call: HttpCallOptions = { token, json: o.json, form: o.form, histogram: o.histogram, user: o.user?.index };
      return http.call(method.toUpperCase(), route, call);
    },
    sleep: (ms) => delay(ms, ctx.signal),
    log: (message) => ctx.log.info('[Script]', `${ctx.phase}: ${message}`),
    metrics: {
      record: (name, ms) => ctx.metrics.record(name, ms),
      inc: (name, by = 1) => ctx.metrics.inc(name, by),
      time: async (name, fn) => {
        const t0 = clock.now();
        try {
          return await fn();
        } finally {
          ctx.metrics.record(name, clock.now() - t0);
        }
      },
    },
  };
  return self;
}

/**
 * The `custom` phase: runs the scenario's function with the context. A throw (or a
 * timeout) ends the run like any phase failure: an incomplete report saying which phase
 * and why (exit 3); an MbError thrown by the script keeps its code.
 */
export async function customPhase(ctx: RunContext, phase: CustomPhaseConfig): Promise<void> {
  const run = phase.run as unknown as (c: ScriptContext) => unknown;
  const sc = scriptContext(ctx, phase);
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = Promise.resolve().then(() => run(sc));
    const ms = phase.timeout;
    const limit =
      ms === undefined
        ? null
        : new Promise<never>((_, reject) => {
            timer = clock.setTimeout(() => reject(new MbError('MB_ERR_SCRIPT', `custom phase ${ctx.phase} did not finish within ${ms} ms`)), ms);
          });
    await (limit ? Promise.race([work, limit]) : work);
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (isMbError(err)) throw err;
    throw new MbError('MB_ERR_SCRIPT', `custom phase ${ctx.phase} failed: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
  } finally {
    clock.clearTimeout(timer);
  }
}
