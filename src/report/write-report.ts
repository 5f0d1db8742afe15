import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Report } from './schema.js';

/** 2026-11-25T16:04:00.123Z → 20261125T160400Z */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** reports/<scenario>-<UTC time>.json, relative to cwd */
export function defaultReportPath(scenario: string, at: Date, cwd = process.cwd()): string {
  return resolve(cwd, 'reports', `${scenario.replace(/[^A-Za-z0-9._-]+/g, '_')}-${utcStamp(at)}.json`);
}

/** Writes the report (creating the folder); a temp file and a rename, so a reader never sees half a report. */
export function writeReport(report: Report, path: string): string {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(report, null, 2) + '\n');
  renameSync(tmp, abs);
  return abs;
}
