/** Exit codes, shown in --help and the README. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  passed
  1  internal error
  2  usage or configuration error (bad flag, unknown or invalid scenario, unreadable report)
  3  run could not complete (target unreachable, server died; a partial report is still written)
  4  a threshold or a comparison failed
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
