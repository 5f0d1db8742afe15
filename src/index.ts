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
