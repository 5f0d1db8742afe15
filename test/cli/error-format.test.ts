import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('one error format for every failure', () => {
  it.each([
    [['run', 'smoke', '--bogus'], /^miscord-bench: unknown option '--bogus'; see --help \(MB_ERR_USAGE\)\n$/],
    [['nope'], /^miscord-bench: unknown command 'nope'; see --help \(MB_ERR_USAGE\)\n$/],
    [['run', 'smoke', '--users', 'abc'], /^miscord-bench: option '--users <n>' argument 'abc' is invalid\. expected an integer; see --help \(MB_ERR_USAGE\)\n$/],
    [['run', 'smoke', '--summary-stats', 'min,avg'], /^miscord-bench: --summary-stats: unknown statistic 'avg'.* \(MB_ERR_USAGE\)\n$/],
    [['report', 'x.json', '--summary-stats', 'p42'], /^miscord-bench: --summary-stats: unknown statistic 'p42'.* \(MB_ERR_USAGE\)\n$/],
    [['run', 'smoke', '--out', '/proc/nope/report.json'], /^miscord-bench: --out \/proc\/nope\/report.json cannot be written: ENOENT \(MB_ERR_USAGE\)\n$/],
  ])('%j: one line, exit 2', async (args, line) => {
    const r = await runCli(args);
    expect(r.stderr).toMatch(line);
    expect(r.code).toBe(2);
  });

  it.each(['run', 'serve', 'scenarios', 'validate', 'compare', 'merge', 'gate', 'report', 'trace'])('%s --help lists its exit codes', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:\n\s+0 /);
  });
});
