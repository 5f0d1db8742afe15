import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, type Report } from './schema.js';
import { evaluateGates, verdictOf, withGateAbort, type ThresholdSource } from './gates.js';
import { TOOL_VERSION } from '../version.js';

/**
 * Builds the JSON report from what a run gathered (plain data: this folder never imports
 * the client or the runner), derives rates, judges the generator's reliability, evaluates
 * the gates and gives the verdict. Works the same for a run that could not complete.
 */
export interface ReportInput {
  /** the run's unique id, also written in its trace (a fresh one when absent) */
  runId?: string;
  scenario: Report['scenario'];
  target: Report['target'];
  shards: Report['shards'];
  /** wall-clock ms */
  startedAt: number;
  endedAt: number;
  status: Report['status'];
  abortReason: string | null;
  /** the gate that ended the run early, if one did */
  abortedBy?: Report['abortedBy'];
  generator: Omit<Report['generator'], 'reliable' | 'unreliableReason'> & { maxLoopDelayMs: number };
  histograms: Report['histograms'];
  counters: Record<string, number>;
  timeline: Report['timeline'];
  ledger: Report['ledger'];
  voice: Report['voice'];
  checkpoints: Report['checkpoints'];
  findings: Report['findings'];
  thresholds: ThresholdSource[];
  /** things the run learned about the target, said once (an endpoint refused every time...) */
  notes: string[];
  /** how the run was judged (where each promise came from): the report's `notes`, not errors */
  about?: string[];
  checks?: Report['checks'];
  /** a shard of a split run: its records for the merge (deliveries across shards) */
  traffic?: Report['traffic'];
}

const ERROR_TEXT: Record<string, string> = {
  'errors.http.network': 'HTTP request failed (network)',
  'errors.ws.connect': 'socket could not connect',
  'errors.ws': 'socket error after open',
  'errors.frame': 'frame that is not a JSON object with a type',
  'errors.server_error': 'the server answered {type: "error"}',
  'errors.switch': 'channel switch failed',
  'errors.user_connect': 'user could not log in or connect',
  'errors.reconnect_gave_up': 'gave up reconnecting a dropped socket',
};

function describe(key: string): string {
  if (ERROR_TEXT[key]) return ERROR_TEXT[key]!;
  const http = /^errors\.http\.(\d+)$/.exec(key);
  if (http) return `HTTP ${http[1]} answer`;
  const refusal = /^refusals\.(\d+)$/.exec(key);
  if (refusal) return Number(refusal[1]) < 1000 ? `socket refused with HTTP ${refusal[1]} on the upgrade` : `socket refused with close code ${refusal[1]}`;
  return key;
}

/** deliveryRatio, lossRatio, errorRate, messagesPerSec, deliveriesPerSec, ... (absent when undefined, e.g. nothing was sent) */
export function ratesOf(counters: Record<string, number>, durationMs: number): Record<string, number> {
  const c = (k: string) => counters[k] ?? 0;
  const secs = Math.max(1e-3, durationMs / 1000);
  const rates: Record<string, number> = {};
  const due = c('chat.expected') - c('chat.excused');
  if (due > 0) {
    rates.deliveryRatio = c('chat.delivered') / due;
    rates.lossRatio = c('chat.lost') / due;
  }
  let errors = 0;
  let refusals = 0;
  for (const [k, v] of Object.entries(counters)) {
    if (k.startsWith('errors.')) errors += v;
    // refusals.<code> counts each refusal once; refusals.<kind>.<code> says the same per kind
    if (/^refusals\.\d+$/.test(k)) refusals += v;
  }
  const operations = c('chat.sent') + c('ws.opened') + c('http.calls');
  rates.errorRate = operations > 0 ? errors / operations : 0;
  rates.errors = errors;
  rates.refusals = refusals;
  rates.messagesPerSec = c('chat.sent') / secs;
  rates.deliveriesPerSec = c('chat.delivered') / secs;
  rates.reconnects = c('ws.reconnects');
  return rates;
}

export function buildReport(input: ReportInput): Report {
  const durationMs = Math.max(0, input.endedAt - input.startedAt);
  const g = input.generator;
  const unreliable = g.eventLoopDelayP99Ms > g.maxLoopDelayMs;
  const errors: Report['errors'] = [];
  for (const [k, v] of Object.entries(input.counters)) {
    if (v > 0 && (k.startsWith('errors.') || /^refusals\.\d+$/.test(k))) errors.push({ kind: k, message: describe(k), count: v });
  }
  for (const note of input.notes) errors.push({ kind: 'target', message: note, count: 1 });
  if (input.abortReason) errors.push({ kind: 'run', message: input.abortReason, count: 1 });
  const { maxLoopDelayMs, ...generator } = g;
  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'miscord-bench', version: TOOL_VERSION },
    runId: input.runId ?? randomUUID(),
    scenario: input.scenario,
    target: input.target,
    shards: input.shards,
    startedAt: new Date(input.startedAt).toISOString(),
    endedAt: new Date(input.endedAt).toISOString(),
    durationMs: Math.round(durationMs),
    status: input.status,
    abortReason: input.abortReason,
    ...(input.abortedBy ? { abortedBy: input.abortedBy } : {}),
    generator: {
      ...generator,
      reliable: !unreliable,
      unreliableReason: unreliable ? `generator event-loop delay p99 ${g.eventLoopDelayP99Ms.toFixed(1)} ms > ${maxLoopDelayMs} ms: latencies include the generator's own stalls` : null,
    },
    histograms: input.histograms,
    counters: input.counters,
    rates: ratesOf(input.counters, durationMs),
    timeline: input.timeline,
    ledger: input.ledger,
    voice: input.voice,
    checkpoints: input.checkpoints,
    findings: input.findings,
    ...(input.checks ? { checks: input.checks } : {}),
    ...(input.about?.length ? { notes: input.about } : {}),
    ...(input.traffic ? { traffic: input.traffic } : {}),
    gates: [],
    errors,
    verdict: { exitCode: 0, passed: true, leaks: 0, failedGates: 0 },
  };
  report.gates = withGateAbort(evaluateGates(report, input.thresholds), input.abortedBy);
  report.verdict = verdictOf(report);
  return report;
}
