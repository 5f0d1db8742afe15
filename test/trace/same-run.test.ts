import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTracer } from '../../src/trace/run-tracer.js';
import { checkSameRun, traceHeader } from '../../src/trace/same-run.js';

const dir = mkdtempSync(join(tmpdir(), 'mb-same-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = (run?: string, wall = '2026-01-01T00:00:00.100Z') => ({ t: 0, ev: 'trace.start', wall, ...(run ? { run } : {}) });

describe('checkSameRun', () => {
  it('a run writes its id in the trace header', async () => {
    const file = join(dir, 'a.ndjson');
    const tracer = createTracer({ file, runId: 'run-a' });
    tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-chat-1' });
    await tracer.close();
    expect(await traceHeader(file)).toMatchObject({ ev: 'trace.start', run: 'run-a' });
    const headless = join(dir, 'headless.ndjson');
    writeFileSync(headless, '{"t":1,"ev":"socket.open"}\n');
    expect(await traceHeader(headless)).toBeNull();
  });

  it('refuses the trace of another run, accepts its own', () => {
    expect(() => checkSameRun('t.ndjson', header('run-a'), 'r.json', { runId: 'run-b' }, 'F1')).toThrow(
      /^t.ndjson is the trace of run run-a, r.json is the report of run run-b: the story of F1 is only in its own run's trace$/,
    );
    expect(checkSameRun('t.ndjson', header('run-a'), 'r.json', { runId: 'run-a' }, 'F1')).toBeNull();
  });

  it("a merged report's finding needs its own part's trace", () => {
    const merged = {
      runId: 'm',
      merge: {
        runIds: ['run-a', 'run-b'],
        parts: [
          { tag: 's0', runId: 'run-a', runIds: ['run-a'] },
          { tag: 's1', runId: 'run-b', runIds: ['run-b'] },
        ],
      },
    };
    expect(checkSameRun('t0', header('run-a'), 'm.json', merged, 's0/F1')).toBeNull();
    expect(() => checkSameRun('t0', header('run-a'), 'm.json', merged, 's1/F1')).toThrow(/s1\/F1 comes from part s1 \(run run-b\), t0 is the trace of another part \(run run-a\): use part s1's trace/);
    expect(() => checkSameRun('tx', header('run-x'), 'm.json', merged, 's1/F1')).toThrow(/report of runs m, run-a, run-b/);
    // nested: r1 is itself a merge of a and b
    const nested = { runId: 'n', merge: { runIds: ['m', 'run-a', 'run-b', 'run-c'], parts: [{ tag: 'r1', runId: 'm', runIds: ['m', 'run-a', 'run-b'] }, { tag: 'r2', runId: 'run-c', runIds: ['run-c'] }] } };
    expect(checkSameRun('t1', header('run-b'), 'n.json', nested, 'r1/s1/F1')).toBeNull();
    expect(() => checkSameRun('tc', header('run-c'), 'n.json', nested, 'r1/s1/F1')).toThrow(/comes from part r1/);
  });

  it('without ids, the trace must start within the report run; with nothing to compare it says so', () => {
    const old = { startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:01:00.000Z' };
    expect(checkSameRun('t', header(undefined, '2026-01-01T00:00:00.050Z'), 'r', old, 'F1')).toBeNull();
    // a trace with an id against a report without one falls back on time too
    expect(() => checkSameRun('t', header('run-a', '2026-01-02T00:00:00.000Z'), 'r', old, 'F1')).toThrow(/t started at 2026-01-02T00:00:00.000Z, outside the run of r \(2026-01-01T00:00:00.000Z → 2026-01-01T00:01:00.000Z\)/);
    expect(checkSameRun('t', null, 'r', {}, 'F1')).toMatch(/^cannot tell whether t is the trace of r's run/);
  });
});
