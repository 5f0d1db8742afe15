/**
 * Typed errors of the engine. Only src/cli turns them into messages and exit codes.
 * Each code is stable: scripts and tests may match on it.
 */
export const EXIT = {
  passed: 0,
  internal: 1,
  usage: 2,
  incomplete: 3,
  thresholds: 4,
  leak: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const ERROR_CODES = {
  MB_ERR_USAGE: EXIT.usage, // a bad flag or argument
  MB_ERR_SCENARIO_NOT_FOUND: EXIT.usage,
  MB_ERR_SCENARIO_INVALID: EXIT.usage, // message names the file and the field path
  MB_ERR_REPORT_INVALID: EXIT.usage, // not a report, or an unreadable one
  MB_ERR_SCHEMA_VERSION: EXIT.usage, // reports of incompatible schemaVersion
  MB_ERR_TRACE_INVALID: EXIT.usage, // a trace file that is missing or has a line that is not JSON
  MB_ERR_TARGET_UNREACHABLE: EXIT.incomplete,
  MB_ERR_SERVER_DIED: EXIT.incomplete,
  MB_ERR_SERVER_START: EXIT.incomplete,
  MB_ERR_ABORTED: EXIT.incomplete, // Ctrl-C or a signal during a run
  MB_ERR_PROTOCOL: EXIT.incomplete, // the target answered something we cannot use
  MB_ERR_SCRIPT: EXIT.incomplete, // a scripted (custom) phase threw or timed out
  MB_ERR_GATE_ABORT: EXIT.thresholds, // a threshold marked abort-on-fail failed during the run (details.abortedBy)
  MB_ERR_INTERNAL: EXIT.internal,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class MbError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MbError';
    this.code = code;
    this.exitCode = ERROR_CODES[code];
    this.details = details;
  }
}

export function isMbError(e: unknown): e is MbError {
  return e instanceof MbError;
}
