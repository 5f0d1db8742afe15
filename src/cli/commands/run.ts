import { isatty } from 'node:tty';
import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT, MbError, isMbError } from '../../errors.js';
import { installInterrupts, interruptSignal, onInterrupt } from '../interrupts.js';
import { LOG_LEVELS, createLogger, type LogLevel } from '../../log.js';
import { RUN_OPTION_TABLE, parseDurationArg, parseIceServers, parseShard, type RunOptionSpec } from '../../runner/run-options.js';
import { runScenario, type RunOptions } from '../../runner/run-scenario.js';
import { runWithWorkers } from '../../runner/workers.js';
import { defaultReportPath, writeReport } from '../../report/write-report.js';
import { renderSummary } from '../../report/render-table.js';
import { paletteFor, wantColor } from '../colors.js';
import { Progress } from '../progress.js';
import { MetricsServer } from '../metrics-server.js';
import { StreamWriter, type StreamEnd } from '../stream-writer.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import { summaryStatsOption } from '../summary-stats-option.js';
import { DEFAULT_SUMMARY_STATS, parseSummaryStats } from '../../metrics/summary-stats.js';

interface RunFlags {
  target?: string;
  users?: number;
  duration?: number;
  seed?: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  usersFile?: string;
  iceServers?: string;
  shard?: string;
  runId?: string;
  workers?: number;
  settle?: number;
  targetStall?: number;
  expectReapMs?: number;
  requireCheck?: string[];
  threshold?: string[];
  leakCheck: boolean;
  fault?: string[];
  serverHeartbeatMs?: number;
  maxLoopDelay?: number;
  logLevel?: string;
  trace?: string;
  traceBodies?: boolean;
  traceAddresses?: boolean;
  summaryStats?: string;
  abortOnFail?: boolean;
  metricsPort?: number;
  metricsHost?: string;
  stream?: string;
  expectMaxPerUser?: number;
  expectMaxTotal?: number;
  expectRoomSize?: number;
}

function toOption(spec: RunOptionSpec): Option {
  const opt = new Option(spec.flags, spec.description + (spec.defaultText ? ` (default: ${spec.defaultText})` : ''));
  const flag = spec.flags.split(' ')[0]!;
  switch (spec.kind) {
    case 'int':
      return opt.argParser((v: string) => {
        const n = Number(v);
        if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer');
        return n;
      });
    case 'duration':
      return opt.argParser((v: string) => {
        try {
          return parseDurationArg(flag, v);
        } catch {
          throw new InvalidArgumentError('expected a duration such as 30s, 2m or 500ms');
        }
      });
    case 'collect':
      return opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    default:
      return opt;
  }
}

/** --out is checked before the run starts: a path we cannot write is a usage error, not a lost report at the end. */
function checkOutPath(path: string): void {
  const existed = existsSync(path);
  try {
    closeSync(openSync(path, 'a'));
    if (!existed) unlinkSync(path);
  } catch (err) {
    throw new MbError('MB_ERR_USAGE', `--out ${path} cannot be written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `run <scenario>`: wires the option table to runScenario, writes the report, prints the summary, sets the exit code. */
export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('run a scenario (shipped name or path) and write its JSON report')
    .argument('<scenario>', 'shipped scenario name (see `scenarios`) or path to a scenario file (.json, or .mjs for a scripted one)');
  for (const spec of RUN_OPTION_TABLE) cmd.addOption(toOption(spec));
  cmd.addOption(summaryStatsOption());
  cmd.addHelpText('after', `
While a run goes, SIGUSR2 (or the key s on a terminal) prints the live state on stderr:
each user's sockets and peers, the client's totals beside the server's.
${EXIT_CODES_HELP}`);
  cmd.action(async (ref: string, f: RunFlags) => {
    installInterrupts(); // already, when main saw `run`; here for a program built by a test
    if (f.logLevel !== undefined && !LOG_LEVELS.includes(f.logLevel as LogLevel)) throw new MbError('MB_ERR_USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    if (f.users !== undefined && f.users < 1) throw new MbError('MB_ERR_USAGE', '--users must be a positive integer');
    const stats = parseSummaryStats(f.summaryStats ?? DEFAULT_SUMMARY_STATS.join(','));
    if (f.json && f.quiet === undefined) f.quiet = false;
    if (f.out !== undefined) checkOutPath(f.out);
    if (f.metricsHost !== undefined && f.metricsPort === undefined) throw new MbError('MB_ERR_USAGE', '--metrics-host needs --metrics-port');
    if (f.metricsPort !== undefined && (f.metricsPort < 0 || f.metricsPort > 65535)) throw new MbError('MB_ERR_USAGE', `--metrics-port must be 0-65535, got ${f.metricsPort}`);
    // a terminal redraws one line; a log gets one line every 5 s; --quiet nothing
    const progress = new Progress(process.stderr, !f.quiet, { color: wantColor(process.stderr), lines: !process.stderr.isTTY });
    // a log line or the live state clears the progress line first; the next sample redraws it
    const toStderr = (text: string) => {
      progress.done();
      process.stderr.write(text);
    };
    const log = createLogger((f.logLevel as LogLevel | undefined) ?? (f.quiet ? 'error' : 'warn'), toStderr);
    const removeNotice = onInterrupt(() => {
      progress.done();
      process.stderr.write('miscord-bench: interrupted, stopping the run and writing a partial report (Ctrl-C again to quit now)\n');
    });
    let report;
    const watch = await startWatchers(ref, f);
    try {
      const runner = f.workers !== undefined ? (o: RunOptions) => runWithWorkers(o, f.workers!) : runScenario;
      report = await runner({
        scenario: ref,
        target: f.target,
        users: f.users,
        durationMs: f.duration,
        seed: f.seed,
        usersFile: f.usersFile,
        iceServers: f.iceServers === undefined ? undefined : parseIceServers(f.iceServers),
        shard: f.shard === undefined ? undefined : parseShard(f.shard),
        runId: f.runId,
        settleMs: f.settle,
        targetStallMs: f.targetStall,
        expectReapMs: f.expectReapMs,
        requireChecks: f.requireCheck,
        thresholds: f.threshold,
        leakCheck: f.leakCheck,
        faults: f.fault,
        serverHeartbeatMs: f.serverHeartbeatMs,
        maxLoopDelayMs: f.maxLoopDelay,
        log,
        logLevel: log.level,
        traceFile: f.trace,
        traceBodies: f.traceBodies,
        traceAddresses: f.traceAddresses,
        expectMaxPerUser: f.expectMaxPerUser,
        expectMaxTotal: f.expectMaxTotal,
        expectRoomSize: f.expectRoomSize,
        // SIGUSR2 always; a key press when stdin is a terminal (isatty first: touching process.stdin opens it)
        liveState: { write: toStderr, stdin: isatty(0) ? process.stdin : null },
        signal: interruptSignal,
        abortOnFail: f.abortOnFail,
        onSample: (s, live) => {
          progress.update(s, live);
          watch.update(s, live);
        },
      });
    } catch (err) {
      watch.end({ status: 'error', exitCode: isMbError(err) ? err.exitCode : EXIT.internal, durationMs: 0, report: null, abortReason: (err as Error)?.message ?? String(err) });
      throw err;
    } finally {
      progress.done();
      removeNotice();
      await watch.close();
    }
    const path = writeReport(report, f.out ?? defaultReportPath(report.scenario.name, new Date(report.startedAt)));
    watch.end({ status: report.status, exitCode: report.verdict.exitCode, durationMs: report.durationMs, report: path, abortReason: report.abortReason, abortedBy: report.abortedBy });
    if (f.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    if (!f.quiet) {
      process.stderr.write(renderSummary(report, { palette: paletteFor(process.stderr), stats }));
      process.stderr.write(`report: ${path}\n`);
    } else if (report.status === 'incomplete') {
      process.stderr.write(`miscord-bench: run incomplete: ${report.abortReason ?? 'unknown reason'} (partial report: ${path})\n`);
    }
    // an interrupt after the run ended (while the report was written) still means exit 3
    process.exitCode = interruptSignal.aborted ? EXIT.incomplete : report.verdict.exitCode;
  });
}

/** --metrics-port and --stream: both fed by every sample, both in this process only (with --workers they get the merged view). */
async function startWatchers(ref: string, f: RunFlags) {
  const head = { scenario: ref, target: f.target ?? '(bundled)' };
  const stream = f.stream !== undefined ? new StreamWriter(f.stream, head) : null;
  let metrics: MetricsServer | null = null;
  try {
    if (f.metricsPort !== undefined) metrics = await MetricsServer.start({ port: f.metricsPort, host: f.metricsHost, ...head });
  } catch (err) {
    stream?.end({ status: 'error', exitCode: EXIT.usage, durationMs: 0, report: null, abortReason: (err as Error).message });
    throw err;
  }
  if (metrics && !f.quiet) process.stderr.write(`metrics: ${metrics.url}\n`);
  return {
    update(s: Parameters<MetricsServer['update']>[0], live: Parameters<MetricsServer['update']>[1]) {
      metrics?.update(s, live);
      stream?.sample(s, live);
    },
    end: (e: StreamEnd) => stream?.end(e),
    close: async () => {
      await metrics?.close();
    },
  };
}
