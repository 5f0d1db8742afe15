import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { resolve, relative, join, isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { MbError } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';
import { formatPath, jsonErrorText } from '../json-error.js';
import { ScenarioSchema, type Scenario } from './schema.js';

/** The folder of shipped scenarios inside the package. */
export const SHIPPED_DIR = fileURLToPath(new URL('scenarios/', PACKAGE_ROOT));

export interface LoadedScenario {
  scenario: Scenario;
  /** absolute path of the file, or null for an object given programmatically */
  path: string | null;
  /** how messages name the file: relative to cwd, or `scenarios/<name>.json` when shipped */
  display: string;
}

/** One line per the first issue: `file: field.path: message`. */
function invalid(display: string, err: z.ZodError): MbError {
  // a discriminated union reports the unknown discriminator first; the deepest issue is the most specific
  const issue = err.issues[0]!;
  const extra = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  return new MbError('MB_ERR_SCENARIO_INVALID', `${display}: ${formatPath(issue.path)}: ${issue.message}${extra}`, {
    issues: err.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
  });
}

/** Validates an object as a scenario; `display` names it in the error. */
export function parseScenario(input: unknown, display = '<scenario>'): Scenario {
  const r = ScenarioSchema.safeParse(input);
  if (!r.success) throw invalid(display, r.error);
  return r.data;
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || ref.endsWith('.json') || isModulePath(ref);
}

/** A scripted scenario: an ES module whose default export is the scenario object. */
export function isModulePath(ref: string): boolean {
  return /\.(m?js|m?ts)$/i.test(ref);
}

/** Resolves a shipped scenario name or a file path to the file to read. */
export function resolveScenario(ref: string, cwd = process.cwd()): { path: string; display: string } {
  if (looksLikePath(ref) || existsSync(resolve(cwd, ref))) {
    const path = isAbsolute(ref) ? ref : resolve(cwd, ref);
    if (!existsSync(path) || !statSync(path).isFile()) throw new MbError('MB_ERR_SCENARIO_NOT_FOUND', `scenario file not found: ${ref}`);
    const rel = relative(cwd, path);
    return { path, display: rel && !rel.startsWith('..') ? rel : path };
  }
  const path = join(SHIPPED_DIR, `${ref}.json`);
  if (!existsSync(path)) {
    const names = listScenarios().map((s) => s.name);
    throw new MbError('MB_ERR_SCENARIO_NOT_FOUND', `unknown scenario "${ref}" (shipped: ${names.join(', ') || 'none'}; or give a path to a .json file)`);
  }
  return { path, display: `scenarios/${ref}.json` };
}

/** Loads and validates a JSON scenario by shipped name or by path (scripted `.mjs` ones need loadScenarioAsync). */
export function loadScenario(ref: string, cwd = process.cwd()): LoadedScenario {
  const { path, display } = resolveScenario(ref, cwd);
  if (isModulePath(path)) throw new MbError('MB_ERR_USAGE', `${display}: a scripted scenario (an ES module) loads asynchronously: use loadScenarioAsync`);
  let raw: unknown;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MbError('MB_ERR_SCENARIO_NOT_FOUND', `${display}: cannot read: ${(err as Error).message}`);
  }
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new MbError('MB_ERR_SCENARIO_INVALID', `${display}: not valid JSON: ${jsonErrorText(text, err as Error)}`);
  }
  return { scenario: parseScenario(raw, display), path, display };
}

export interface ScenarioListing {
  name: string;
  description: string;
  path: string;
  /** set when the shipped file does not validate (a defect worth showing, not hiding) */
  error?: string;
}

/** The shipped scenarios with their one-line descriptions, by name. */
export function listScenarios(): ScenarioListing[] {
  if (!existsSync(SHIPPED_DIR)) return [];
  const out: ScenarioListing[] = [];
  for (const f of readdirSync(SHIPPED_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const name = f.slice(0, -'.json'.length);
    const path = join(SHIPPED_DIR, f);
    try {
      const { scenario } = loadScenario(path);
      out.push({ name, description: scenario.description, path });
    } catch (err) {
      out.push({ name, description: '', path, error: (err as Error).message });
    }
  }
  return out;
}

/**
 * Loads a scenario of any kind: JSON as loadScenario does, or a scripted one, an ES module
 * (`.mjs`, `.js` in an ESM package, `.ts` when a TypeScript loader is in the process) whose
 * default export is the scenario object, or a
 * function (maybe async) returning it. The object is validated by the same schema, where
 * `custom` phases carry a `run` function. Importing runs the module's top level once per
 * process (Node caches modules).
 */
export async function loadScenarioAsync(ref: string, cwd = process.cwd()): Promise<LoadedScenario> {
  const { path, display } = resolveScenario(ref, cwd);
  if (!isModulePath(path)) return loadScenario(path, cwd);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // a .ts scenario needs a TypeScript loader in the process (node --import tsx ...)
    const hint = e?.code === 'ERR_UNKNOWN_FILE_EXTENSION' ? ' (a .ts scenario needs a TypeScript loader: node --import tsx node_modules/.bin/miscord-bench ..., or write it as .mjs)' : '';
    throw new MbError('MB_ERR_SCENARIO_INVALID', `${display}: cannot import: ${e?.name === 'SyntaxError' ? `${e.name}: ${e.message}` : (e?.message ?? String(err))}${hint}`, undefined, { cause: err });
  }
  let raw = mod.default;
  if (raw === undefined) throw new MbError('MB_ERR_SCENARIO_INVALID', `${display}: no default export: write \`export default { name, description, phases: [...] }\``);
  if (typeof raw === 'function') raw = await (raw as () => unknown)();
  return { scenario: parseScenario(raw, display), path, display };
}
