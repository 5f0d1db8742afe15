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
