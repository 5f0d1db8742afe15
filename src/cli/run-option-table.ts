import { MbError } from '../errors.js';
import { parseDuration } from '../scenario/schema.js';
import type { IceServer } from '../protocol/messages.js';
import type { RunOptions } from '../runner/run-plan.js';

/**
 * The options of `miscord-bench run`, as data: src/cli/commands/run.ts builds commander
 * from this table and the README's option list is printed from it, so the two never drift.
 */
export interface RunOptionSpec {
  flags: string;
  description: string;
  /** `collect` = repeatable */
  kind: 'string' | 'int' | 'duration' | 'boolean' | 'collect' | 'negate';
  defaultText?: string;
  /** the RunOptions field the flag fills (none: the CLI's own, such as --out, --workers, --metrics-port; --log-level is resolved with --quiet) */
  option?: keyof RunOptions;
  /** turns the flag's value into the option's (default: as commander parsed it) */
  parse?(v: string): unknown;
}

export const RUN_OPTION_TABLE: readonly RunOptionSpec[] = [
  { flags: '--target <url>', option: 'target', kind: 'string', description: 'the deployment to test (http://host:port); without it the bundled reference server is started for the run' },
  { flags: '--users <n>', option: 'users', kind: 'int', description: 'closed-model user count (overrides the scenario)' },
  { flags: '--duration <d>', option: 'durationMs', kind: 'duration', description: 'duration of chat, churn and soak phases without their own (e.g. 30s, 2m)' },
  { flags: '--seed <n>', option: 'seed', kind: 'int', description: 'seed of every random choice (same seed, same schedule)' },
  { flags: '--out <file>', kind: 'string', description: 'report path', defaultText: 'reports/<scenario>-<UTC time>.json' },
  { flags: '--json', kind: 'boolean', description: 'print the report on stdout (and nothing else there)' },
  { flags: '--quiet', kind: 'boolean', description: 'no progress and no summary on stderr' },
  { flags: '--users-file <file>', option: 'usersFile', kind: 'string', description: 'JSON array of {username, password}, or the file provision writes (accounts and world): existing accounts (never registers); needs --target' },
  { flags: '--ice-servers <json|none>', option: 'iceServers', parse: (v) => parseIceServers(v), kind: 'string', description: 'replace the ice_servers the server sends (JSON array, or none)' },
  { flags: '--shard <i/n>', option: 'shard', parse: (v) => parseShard(v), kind: 'string', description: 'run shard i of n (0-based): a deterministic slice of the users; with --run-id every shard joins the one world shard 0 sets up' },
  { flags: '--run-id <id>', option: 'runId', kind: 'string', description: "names the run's world and accounts (mb-<id>-server0, mb-<id>-u<index>): shards given the same id share one world, shard 0 creating it (--workers passes its own to its children)", defaultText: 'random' },
  { flags: '--workers <n>', kind: 'int', description: 'split the run over n child processes on this machine (shards 0..n-1, merged into one report)' },
  { flags: '--settle <d>', option: 'settleMs', kind: 'duration', description: 'how long a leak checkpoint polls for stable counts (overrides the scenario)' },
  { flags: '--threshold <expr>', option: 'thresholds', kind: 'collect', description: "gate, repeatable, e.g. 'chat.deliver.p99<250ms' or 'rates.deliveryRatio>=1'" },
  { flags: '--require-check <class>', option: 'requireChecks', kind: 'collect', description: 'fail (exit 4) unless the check of this finding class was judged, e.g. frozen-not-reaped (repeatable)' },
  { flags: '--expect-reap-ms <n>', option: 'expectReapMs', kind: 'int', description: "the target's promise: a socket that went silent (crashed, frozen) is gone within this many ms; used when it publishes no [ext] config" },
  { flags: '--target-stall <d>', option: 'targetStallMs', kind: 'duration', description: 'no answer to GET /health for this long ends the run (exit 3, partial report); so does a target found down twice, or back after a restart', defaultText: '15s' },
  { flags: '--expect-max-per-user <n>', option: 'expectMaxPerUser', kind: 'int', description: 'sockets per user the target allows (all kinds together): a scenario that needs more is refused (exit 2); refusals it explains are expected results' },
  { flags: '--expect-max-total <n>', option: 'expectMaxTotal', kind: 'int', description: 'sockets in all the target allows: a scenario that needs more is refused (exit 2)' },
  { flags: '--expect-room-size <n>', option: 'expectRoomSize', kind: 'int', description: 'distinct users a voice room of the target holds: a voice phase that needs more is refused (exit 2)' },
  { flags: '--no-leak-check', option: 'leakCheck', kind: 'negate', description: 'no leak detector and no checkpoints' },
  { flags: '--fault <name>', option: 'faults', kind: 'collect', description: 'inject a fault into the bundled server (repeatable; not with --target)' },
  { flags: '--server-heartbeat-ms <n>', option: 'serverHeartbeatMs', kind: 'int', description: "the bundled server's heartbeat (not with --target)" },
  { flags: '--max-loop-delay <ms>', option: 'maxLoopDelayMs', kind: 'int', description: 'event-loop delay p99 beyond which the generator is unreliable', defaultText: '200' },
  { flags: '--log-level <level>', kind: 'string', description: 'silent, error, warn, info or debug (stderr)', defaultText: 'warn' },
  { flags: '--trace <file>', option: 'traceFile', kind: 'string', description: 'NDJSON trace of every protocol event' },
  { flags: '--trace-bodies', option: 'traceBodies', kind: 'boolean', description: 'include message bodies in the trace (and ICE/SDP addresses)' },
  { flags: '--trace-addresses', option: 'traceAddresses', kind: 'boolean', description: 'show ICE candidate and SDP addresses in the trace (redacted by default)' },
  { flags: '--abort-on-fail', option: 'abortOnFail', kind: 'boolean', description: 'end the run as soon as a threshold has failed on the live figures (latency over the last 10 s once 50 samples are in; counts, errors and findings past their limit): exit 4, partial report naming the gate' },
  { flags: '--metrics-port <port>', kind: 'int', description: 'serve the live figures as Prometheus text on GET /metrics while the run goes (0: any free port, printed on stderr)' },
  { flags: '--metrics-host <host>', kind: 'string', description: 'the address --metrics-port listens on', defaultText: '127.0.0.1' },
  { flags: '--stream <file>', kind: 'string', description: 'write the run as JSON lines as it goes: a start line, the plan, one line per second, an end line' },
];

export function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new MbError('MB_ERR_USAGE', `--shard must be i/n with 0 <= i < n, got '${v}'`);
  return { index, count };
}

export function parseIceServers(v: string): IceServer[] | null {
  if (v === 'none') return [];
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(v);
  } catch {
    // refused below with the same message
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => s && typeof s === 'object' && ('urls' in s))) throw new MbError('MB_ERR_USAGE', `--ice-servers must be a JSON array of {urls} or 'none'`);
  return parsed as IceServer[];
}

export function parseDurationArg(flag: string, v: string): number {
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(v.trim()) ? `${v}s` : v);
  if (ms === null) throw new MbError('MB_ERR_USAGE', `${flag} must be a duration such as 30s, 2m or 500ms, got '${v}'`);
  return ms;
}
