/** Exit codes, shown in --help and the README. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  passed
  1  internal error
  2  usage or configuration error (bad flag, unknown or invalid scenario, unreadable report)
  3  run could not complete (target unreachable, server died; a partial report is still written)
  4  a threshold failed or could not be judged (nothing measured, no leak check), a comparison failed, or a threshold ended the run early (--abort-on-fail)
  5  a leak was found (wins over 4)
`;

/** The exit codes of `compare`. */
export const COMPARE_EXIT_CODES_HELP = `
Exit codes:
  0  no regression
  1  internal error
  2  usage error (bad flag or rule, unreadable report, incompatible schemaVersion)
  4  a regression
`;

const codes = (...lines: string[]) => `\nExit codes:\n  0  ${['success', ...lines].join('\n  ')}\n`;
const USAGE_LINE = '2  usage error (bad flag or argument)';

/** Exit codes of the commands that do not list their own (run, gate and compare do), added by main. */
export const COMMAND_EXIT_CODES_HELP: Readonly<Record<string, string>> = {
  merge: codes('1  internal error', '2  usage error (bad flag, unreadable report, incompatible schemaVersion, the same run twice, shards beside whole runs)'),
  report: codes('1  internal error', '2  usage error (bad flag or statistic, unreadable report, unwritable --out)'),
  scenarios: codes('1  internal error', USAGE_LINE),
  validate: codes('1  internal error', '2  the scenario is unknown or invalid (the message names the file and field)'),
  serve: codes('1  internal error', '2  usage error (bad flag, unknown fault)', '3  the server could not start (port in use)'),
  trace: codes('1  internal error', '2  usage error (bad flag, missing trace, a line that is not JSON, a report of another run)'),
  provision: codes('1  internal error', '2  usage error (bad flag, an --out file not written by provision or for another target)', '3  the target is unreachable, or some accounts failed (run it again to resume)'),
};
