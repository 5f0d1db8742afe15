import { clock } from '../clock.js';
import { isMbError } from '../errors.js';
import { buildReport } from '../report/build-report.js';
import type { GateAbort, Report } from '../report/schema.js';
import { ledgerTotals } from './ledger-totals.js';
import { phaseFindings } from './phase-findings.js';
import type { Run, RunParts } from './run.js';

/**
 * The report of a run from what it recorded and what it opened: whole when the run
 * completed, partial (status `incomplete`, its abortReason) when any step did not.
 */
export function assembleReport(run: Run, parts: RunParts): Report {
  const { o, plan, metrics } = run;
  const { scenario, loaded } = plan;
  const { target, leak, state, sampler } = parts;
  const signal = run.stop.signal;
  const cpu = process.cpuUsage(run.cpu0);
  const users = state?.allUsers() ?? [];
  const eld = sampler?.eld;
  const reap = target?.reap;
  return buildReport({
    runId: run.runId,
    scenario: { name: scenario.name, description: scenario.description, path: loaded.path, seed: scenario.seed, config: JSON.parse(JSON.stringify(scenario)) as Record<string, unknown> },
    target: { url: target?.url ?? o.target ?? '(bundled)', bundled: !o.target, extStats: target?.extStats ?? false, config: leak?.serverConfig() ?? target?.config ?? null },
    shards: [run.shard],
    startedAt: run.startedAt,
    endedAt: clock.wall(),
    status: run.abortReason ? 'incomplete' : 'completed',
    abortReason: run.abortReason,
    abortedBy: isMbError(signal.reason) && signal.reason.code === 'MB_ERR_GATE_ABORT' ? (signal.reason.details?.abortedBy as GateAbort) : undefined,
    generator: {
      eventLoopDelayP99Ms: eld && eld.count > 0 ? eld.percentile(99) / 1e6 : 0,
      eventLoopDelayMaxMs: eld && eld.count > 0 ? eld.max / 1e6 : 0,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      peakRssBytes: Math.max(run.peakRss, process.memoryUsage.rss()),
      processes: 1,
      maxLoopDelayMs: o.maxLoopDelayMs ?? 200,
    },
    histograms: { ...metrics.encodeHistograms(), ...(leak?.histograms() ?? {}) },
    counters: metrics.counterObject(),
    timeline: sampler?.samples ?? [],
    ledger: ledgerTotals(users.map((u) => u.ledger)),
    voice: state?.voice ?? null,
    checkpoints: leak?.checkpoints() ?? [],
    findings: [...(leak?.findings() ?? []), ...phaseFindings(state ?? null)],
    checks: leak?.checks(),
    about:
      leak && reap
        ? [
            reap.from
              ? `reap window for silent sockets: ${reap.windowMs} ms, from ${reap.from}`
              : 'reap window for silent sockets unknown (no [ext] config, no --expect-reap-ms): frozen-not-reaped, crash announcements and stale presence of silent users are not judged',
          ]
        : [],
    thresholds: plan.thresholds,
    notes: target?.caps.notes ?? [],
    traffic: run.deliveries.traffic?.record(),
  });
}
