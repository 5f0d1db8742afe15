import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { RUN_OPTION_TABLE } from '../../src/cli/run-option-table.js';
import { runOptionsOf, toOption } from '../../src/cli/commands/run.js';

/** The run options the table's flags give, as `run` parses them (commander, the table's parsers). */
function parse(argv: string[]) {
  const cmd = new Command().exitOverride().argument('<scenario>');
  for (const spec of RUN_OPTION_TABLE) cmd.addOption(toOption(spec));
  cmd.parse(['smoke', ...argv], { from: 'user' });
  return runOptionsOf(cmd.opts());
}

describe('the run option table drives RunOptions', () => {
  it('every flag that names an option fills it, parsed as its row says', () => {
    const o = parse([
      '--target', 'http://127.0.0.1:9',
      '--users', '4',
      '--duration', '2s',
      '--seed', '3',
      '--users-file', 'u.json',
      '--ice-servers', 'none',
      '--shard', '1/2',
      '--settle', '500ms',
      '--threshold', 'errors==0', '--threshold', 'rates.deliveryRatio>=1',
      '--require-check', 'zombie-socket',
      '--expect-reap-ms', '5000',
      '--target-stall', '3s',
      '--expect-max-per-user', '3',
      '--expect-max-total', '30',
      '--expect-room-size', '5',
      '--no-leak-check',
      '--fault', 'zombie-socket',
      '--server-heartbeat-ms', '100',
      '--max-loop-delay', '300',
      '--trace', 't.ndjson',
      '--trace-bodies',
      '--trace-addresses',
      '--abort-on-fail',
      '--run-id', 'nightly-1',
      // the CLI's own: no run option
      '--out', 'r.json', '--json', '--quiet', '--workers', '2', '--log-level', 'info', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--stream', 's.jsonl',
    ]);
    expect(o).toEqual({
      target: 'http://127.0.0.1:9',
      users: 4,
      durationMs: 2000,
      seed: 3,
      usersFile: 'u.json',
      iceServers: [],
      shard: { index: 1, count: 2 },
      settleMs: 500,
      thresholds: ['errors==0', 'rates.deliveryRatio>=1'],
      requireChecks: ['zombie-socket'],
      expectReapMs: 5000,
      targetStallMs: 3000,
      expectMaxPerUser: 3,
      expectMaxTotal: 30,
      expectRoomSize: 5,
      leakCheck: false,
      faults: ['zombie-socket'],
      serverHeartbeatMs: 100,
      maxLoopDelayMs: 300,
      traceFile: 't.ndjson',
      traceBodies: true,
      traceAddresses: true,
      abortOnFail: true,
      runId: 'nightly-1',
    });
    // a row added with an option shows up here, and must be added to this test
    expect(Object.keys(o).sort()).toEqual(RUN_OPTION_TABLE.flatMap((s) => (s.option ? [s.option] : [])).sort());
  });

  it('flags not given leave their options out (the leak check stays on)', () => {
    expect(parse([])).toEqual({ leakCheck: true });
  });

  it('a value its parser refuses is a usage error', () => {
    expect(() => parse(['--shard', '2/2'])).toThrow(/--shard must be i\/n/);
    expect(() => parse(['--ice-servers', '{bad'])).toThrow(/--ice-servers must be a JSON array/);
  });
});
