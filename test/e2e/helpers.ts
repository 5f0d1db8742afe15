import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Report } from '../../src/report/schema.js';
import { spawnCli } from '../helpers/cli.js';

/** The end-to-end tests drive the built CLI (`npx tsc -p .` first; `npm test` does) as a user would: without it they fail, never skip. */

export const dir = mkdtempSync(join(tmpdir(), 'mb-e2e-'));
// registered while the importing test file is collected: its scenarios and reports go with it
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A reference server in this process on port 0 (the run under test is a child process), closed after the test. */
export { startServer as target } from '../helpers/server.js';

/** Writes a scenario file; returns its path. */
export function scenarioFile(name: string, body: Record<string, unknown>): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify({ name, description: `e2e: ${name}`, ...body }));
  return p;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  report: Report;
}

/**
 * `miscord-bench run <scenario> --target <url> --out <file> ...args`; resolves with the exit
 * code, the output and the report file. The child is killed after `timeoutMs` (a hang is a failure).
 */
export async function benchRun(scenario: string, url: string, args: string[] = [], timeoutMs = 40_000): Promise<RunResult> {
  const out = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  const p = spawnCli(['run', scenario, '--target', url, '--out', out, ...args], { cwd: dir });
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  const signal = p.child.signalCode;
  const stdout = p.stdout();
  const stderr = p.stderr();
  if (signal) throw new Error(`the run was killed (${signal}): it hung past ${timeoutMs} ms\n${stderr}`);
  if (!existsSync(out)) throw new Error(`no report written (exit ${code})\n${stderr}`);
  return { code, signal, stdout, stderr, report: JSON.parse(readFileSync(out, 'utf8')) as Report };
}

/** A small chat scenario: connect, chat, reconnect switching, a second tab, disconnect. */
export function tinyChat(name: string, extra: Record<string, unknown> = {}): string {
  return scenarioFile(name, {
    seed: 7,
    users: 4,
    setup: { servers: 1, textChannels: 2, voiceChannels: 0 },
    settle: '600ms',
    thresholds: ['rates.deliveryRatio>=1', 'findings.total==0'],
    phases: [
      { type: 'connect' },
      { type: 'chat', duration: '800ms', messagesPerUserPerSec: 3, pingEvery: '300ms' },
      { type: 'switch', strategy: 'reconnect', switches: 2, interval: '100ms' },
      { type: 'multi-tab', users: 2, hold: '200ms' },
      { type: 'disconnect' },
    ],
    ...extra,
  });
}
