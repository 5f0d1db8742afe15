import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./fixtures/import-probe.mjs', import.meta.url));

interface Probe {
  before: { listeners: Record<string, number>; resources: string[]; globals: string[] };
  after: Probe['before'];
  output: string;
  exports: string[];
}

function probe(module: string): Promise<{ result: Probe | null; stderr: string; error: string | null }> {
  return new Promise((resolve) =>
    // the probe must end by itself: a handle or timer left by the import would keep it alive past the timeout
    execFile(process.execPath, [PROBE, pathToFileURL(module).href], { timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ result: stdout.trim() ? (JSON.parse(stdout) as Probe) : null, stderr, error: err ? String(err.signal ?? err.code ?? err.message) : null }),
    ),
  );
}

describe('the programmatic API (dist/index.js)', () => {
  it('is built (npm test builds it first): these tests fail, never skip, without it', () => {
    expect(existsSync(BUILT), 'dist/index.js is missing: run `npx tsc -p tsconfig.json`').toBe(true);
  });

  it('importing it adds no listener, handle, timer, global or output, and the process ends by itself', async () => {
    const { result, stderr, error } = await probe(BUILT);
    expect({ error, stderr }).toEqual({ error: null, stderr: '' });
    expect(result!.after.listeners).toEqual(result!.before.listeners);
    expect(result!.after.resources).toEqual(result!.before.resources);
    // zod (a dependency) keeps its global registry on globalThis: its own, not ours
    expect(result!.after.globals.filter((g) => !g.startsWith('__zod_'))).toEqual(result!.before.globals);
    expect(result!.output).toBe('');
  });

  it('exports what a user needs: the runner, the reference server, the leak detector, gates, tracers and report tools', async () => {
    const { result, error } = await probe(BUILT);
    expect(error).toBeNull();
    for (const name of [
      'runScenario',
      'runWithWorkers',
      'loadScenario',
      'createReferenceServer',
      'startBundledServer',
      'createLeakDetector',
      'parseThreshold',
      'evaluateGates',
      'regate',
      'createTracer',
      'openTracer',
      'MemoryTracer',
      'evidenceFor',
      'readReport',
      'writeReport',
      'compareReports',
      'mergeReports',
      'renderSummary',
      'renderMarkdown',
      'renderJunit',
      'renderHtml',
      'reportJsonSchema',
      'ReportSchema',
      'SCHEMA_VERSION',
      'MbError',
      'EXIT',
    ])
      expect(result!.exports).toContain(name);
  });

  it('the probe crashes visibly when the import fails: no result, an exit code and the error on stderr', async () => {
    const { result, stderr, error } = await probe(fileURLToPath(new URL('./fixtures/throws-on-import.mjs', import.meta.url)));
    expect(result).toBeNull();
    expect(error).toBe('1');
    expect(stderr).toContain('this module cannot be imported');
  });

  it('the probe does see a side effect when there is one', async () => {
    // the CLI entry installs a beforeExit handler and prints: the probe must notice both
    const { result } = await probe(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)));
    expect(result).not.toBeNull();
    expect(result!.after.listeners.beforeExit ?? 0).toBeGreaterThan(result!.before.listeners.beforeExit ?? 0);
    expect(result!.output).not.toBe('');
  });
});
