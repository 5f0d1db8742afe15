import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { RUN_OPTION_TABLE } from '../../src/cli/run-option-table.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every run option of the option table', () => {
    const missing = RUN_OPTION_TABLE.map((o) => o.flags.split(' ')[0]!).filter((flag) => !readme.includes('`' + flag));
    expect(missing).toEqual([]);
  });

  it('lists every shipped scenario', () => {
    const names = readdirSync(new URL('../../scenarios/', import.meta.url)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !readme.includes('`' + n + '`'))).toEqual([]);
  });

  it('gives the two set-up commands and the test command', () => {
    expect(readme).toContain('npm install\nnpx miscord-bench run smoke');
    expect(readme).toContain('npm test');
  });
});
