import { describe, it, expect } from 'vitest';
import { runCli as cli, spawnCli } from '../helpers/cli.js';

describe('help (through bin/)', () => {
  it.each([
    [['run', '--help'], /5 {2}a leak was found/],
    [['gate', '--help'], /3 {2}run could not complete/],
    [['compare', '--help'], /4 {2}a regression/],
  ])('%j documents the exit codes', async (args, re) => {
    const r = await cli(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toMatch(re);
  });

  it('loads the commands a name needs, and every one for the top level', async () => {
    const [top, trace, help] = await Promise.all([cli(['--help']), cli(['trace', '--help']), cli(['help', 'merge'])]);
    for (const name of ['serve', 'run', 'scenarios', 'validate', 'compare', 'merge', 'gate', 'report', 'trace', 'provision']) expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(trace.stdout).toMatch(/^Usage: miscord-bench trace /);
    expect(help.stdout).toMatch(/^Usage: miscord-bench merge /);
    const bad = await cli(['bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'bogus'/);
  });

  it('stops quietly when its reader goes away (`--help | head -1`)', async () => {
    const p = spawnCli(['--help']);
    p.child.stdout!.destroy();
    const code = await p.closed;
    const stderr = p.stderr();
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
