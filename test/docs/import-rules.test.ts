import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import rules of ../shared/style.md, over every file of src/: data flows scenario →
 * runner → users → ledger → checkpoints → findings → report, and imports follow it.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : f.endsWith('.ts') ? [p] : [];
  });
}

/** Every import of ours (static, dynamic, `import type` and re-exports alike), as src-relative paths without .js. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of files(SRC)) {
    const src = readFileSync(f, 'utf8');
    const out: string[] = [];
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      out.push(relative(SRC, resolve(dirname(f), m[1]!)).replace(/\.js$/, ''));
    }
    g.set(relative(SRC, f).replace(/\.ts$/, ''), out);
  }
  return g;
}

const folder = (p: string) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '.');

describe('import rules (shared/style.md)', () => {
  const g = graph();

  it('reads the whole tree', () => {
    expect(g.size).toBeGreaterThan(100);
    expect(g.get('runner/run-scenario')!.length).toBeGreaterThan(10);
  });

  const rules: Array<[string, (from: string, to: string) => boolean]> = [
    ['src/protocol imports nothing else of ours', (from, to) => folder(from) === 'protocol' && folder(to) !== 'protocol'],
    ['src/server never imports the bench side (client, runner, leak, report, cli)', (from, to) => folder(from) === 'server' && ['client', 'runner', 'leak', 'report', 'cli', 'trace', 'metrics', 'scenario'].includes(folder(to))],
    ['nothing under src/ but src/cli imports src/cli', (from, to) => folder(to) === 'cli' && folder(from) !== 'cli'],
    ['src/report never imports client or runner', (from, to) => folder(from) === 'report' && ['client', 'runner'].includes(folder(to))],
    ['src/leak never imports runner or cli (it decides from data)', (from, to) => folder(from) === 'leak' && ['runner', 'cli'].includes(folder(to))],
    ['src/client never imports runner, leak or cli', (from, to) => folder(from) === 'client' && ['runner', 'leak', 'cli'].includes(folder(to))],
  ];
  for (const [name, broken] of rules) {
    it(name, () => {
      const bad: string[] = [];
      for (const [from, tos] of g) for (const to of tos) if (broken(from, to)) bad.push(`${from} → ${to}`);
      expect(bad).toEqual([]);
    });
  }
});

describe('no import circles', () => {
  it('no module reaches itself through its imports', () => {
    const g = graph();
    const cycles = new Set<string>();
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, 1);
      stack.push(n);
      for (const m of g.get(n) ?? []) {
        if (!g.has(m)) continue;
        if (state.get(m) === 1) cycles.add(stack.slice(stack.indexOf(m)).concat(m).join(' → '));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of g.keys()) if (!state.has(n)) visit(n);
    expect([...cycles]).toEqual([]);
  });
});
