/**
 * The programmatic API of miscord-bench. Importing it has no side effects.
 */
export { MbError, EXIT, isMbError } from './errors.js';
export type { ErrorCode, ExitCode } from './errors.js';
export * from './protocol/messages.js';
export { LatencyHistogram } from './metrics/latency-histogram.js';
export { Metrics } from './metrics/metrics.js';
export { UserLedger } from './client/ledger.js';
export { SCHEMA_VERSION, ReportSchema } from './report/schema.js';
export type { Report, Finding, FindingClass } from './report/schema.js';
export { runScenario } from './runner/run-scenario.js';
export type { RunOptions, LiveState } from './runner/run-scenario.js';
export { loadScenario, listScenarios, parseScenario } from './scenario/load-scenario.js';
export { RUN_OPTION_TABLE } from './runner/run-options.js';
export type { RunContext, PhaseHandler, PhaseRegistry, World, WorldServer, VoiceUserState } from './runner/run-context.js';
export { readReport, parseReport } from './report/read-report.js';
export { compareReports } from './report/compare.js';
export type { CompareResult, CompareRow, CompareOptions } from './report/compare.js';
export { DEFAULT_RULES, parseRegressionRule } from './report/regression-rule.js';
export { mergeReports } from './report/merge.js';
export { regate } from './report/regate.js';
export { renderMarkdown } from './report/render-md.js';
export { renderJunit } from './report/render-junit.js';
export { renderHtml } from './report/render-html.js';
export { reportJsonSchema } from './report/json-schema.js';
export { runWithWorkers } from './runner/workers.js';
