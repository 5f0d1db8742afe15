import { evaluateGates, verdictOf, withGateAbort, type ThresholdSource } from './gates.js';
import type { Report } from './schema.js';

/** The scenario's thresholds as stored in the report (`scenario.config.thresholds`). */
export function scenarioThresholds(report: Report): ThresholdSource[] {
  const t = (report.scenario.config as { thresholds?: unknown }).thresholds;
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string').map((expr) => ({ expr, source: 'scenario' as const })) : [];
}

/**
 * Judges a report again: the scenario's thresholds plus the given CLI ones, then the verdict.
 * Used on merged reports (whose parts were judged on their own slice only) and by `gate`.
 */
export function regate(report: Report, cli: string[] = []): Report {
  // the gates already in the report (the run's CLI and default ones) are judged again too
  const all = [...scenarioThresholds(report), ...report.gates.map((g) => ({ expr: g.name, source: g.source })), ...cli.map((expr) => ({ expr, source: 'cli' as const }))];
  const seen = new Set<string>();
  const thresholds = all.filter((t) => !seen.has(t.expr) && seen.add(t.expr));
  const gated: Report = { ...report, gates: withGateAbort(evaluateGates(report, thresholds), report.abortedBy) };
  gated.verdict = verdictOf(gated);
  return gated;
}
