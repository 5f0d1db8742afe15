import { z } from 'zod';
import { ReportSchema, SCHEMA_VERSION } from './schema.js';

/**
 * The report's JSON Schema (draft 2020-12), generated from ReportSchema so the two never
 * drift: scripts/gen-schema.js writes it to schema/report.schema.json, a test checks the
 * committed file equals a fresh generation.
 */
export function reportJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ReportSchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: generated.$schema,
    title: `miscord-bench report (schemaVersion ${SCHEMA_VERSION})`,
    description: 'The JSON report written by `miscord-bench run` and read by compare, merge, gate and report.',
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema')),
  };
}

/** The file's exact text (stable key order, trailing newline). */
export function reportJsonSchemaText(): string {
  return JSON.stringify(reportJsonSchema(), null, 2) + '\n';
}
