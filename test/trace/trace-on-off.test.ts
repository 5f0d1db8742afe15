import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import type { Report } from '../../src/report/schema.js';

// Tracing must not change what the bench finds: the same seeded run against the same
// faulty bundled server, once with a full trace (bodies too) and once without.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mb-trace-onoff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = () =>
  parseScenario({
    name: 'trace-on-off',
    description: 'channel hops on a server that keeps closed sockets',
    seed: 11,
    users: 3,
    setup: { servers: 1, textChannels: 2, voiceChannels: 0 },
    settle: '500ms',
    bundledServer: { faults: ['zombie-socket'], maxPerUser: 10 },
    phases: [{ type: 'connect' }, { type: 'switch', strategy: 'reconnect', switches: 2, interval: '100ms' }, { type: 'disconnect' }],
  });

const key = (r: Report) =>
  r.findings
    .map((f) => `${f.class} ${f.checkpoint} u${f.subject.user ?? '-'} ${f.subject.kind ?? '-'} ${f.subject.socket ?? f.subject.peer ?? '-'}`)
    .sort();

describe('tracing on and off', () => {
  it('gives the same findings', async () => {
    const traceFile = join(dir, 'on.ndjson');
    // independent runs, each with its own bundled server: side by side to keep the file short
    const [on, off] = await Promise.all([runScenario({ scenario: scenario(), traceFile, traceBodies: true, cwd: ROOT }), runScenario({ scenario: scenario(), cwd: ROOT })]);
    expect(on.status).toBe('completed');
    expect(off.status).toBe('completed');
    expect(statSync(traceFile).size).toBeGreaterThan(0);
    expect(key(on).length).toBeGreaterThan(0);
    expect(key(on)).toEqual(key(off));
    // evidence exists either way: the rings do not depend on the file
    expect(off.findings.every((f) => (f.evidence.trace ?? []).length > 0)).toBe(true);
  }, 60_000);
});
