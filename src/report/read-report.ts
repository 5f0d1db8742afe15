import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { MbError } from '../errors.js';
import { formatPath, jsonErrorText } from '../json-error.js';
import { ReportSchema, SCHEMA_VERSION, type Report } from './schema.js';

/**
 * Reads and validates a report file. Version is checked before the shape, so a report from
 * another miscord-bench says so instead of listing a hundred mismatched fields.
 */
export async function readReport(path: string): Promise<Report> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MbError('MB_ERR_REPORT_INVALID', `${path}: cannot read the report (${code ?? (err as Error).message})`, { path }, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new MbError('MB_ERR_REPORT_INVALID', `${path}: not JSON: ${jsonErrorText(text, err as Error)}`, { path }, { cause: err });
  }
  return parseReport(data, path);
}

/** Validates an already-parsed report; `name` is how errors refer to it (a file name). */
export function parseReport(data: unknown, name = 'report'): Report {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new MbError('MB_ERR_REPORT_INVALID', `${name}: not a miscord-bench report (expected a JSON object)`, { path: name });
  }
  const version = (data as Record<string, unknown>).schemaVersion;
  if (version !== SCHEMA_VERSION) {
    const shown = version === undefined ? 'no schemaVersion' : `schemaVersion ${JSON.stringify(version)}`;
    throw new MbError('MB_ERR_SCHEMA_VERSION', `${basename(name)} has ${shown}, this miscord-bench reads ${SCHEMA_VERSION}`, {
      path: name,
      schemaVersion: version,
    });
  }
  const parsed = ReportSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = formatPath(issue.path);
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    throw new MbError('MB_ERR_REPORT_INVALID', `${name}: ${field}: ${issue.message}${more}`, { path: name, issues: parsed.error.issues });
  }
  return parsed.data;
}
