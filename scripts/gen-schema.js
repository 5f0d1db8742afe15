#!/usr/bin/env node
// Writes schema/report.schema.json from ReportSchema (zod 4's z.toJSONSchema), from the build.
// `node scripts/gen-schema.js --check` exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reportJsonSchemaText } from '../dist/report/json-schema.js';

const target = fileURLToPath(new URL('../schema/report.schema.json', import.meta.url));
const text = reportJsonSchemaText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== text) {
    process.stderr.write('schema/report.schema.json is out of date: run `npm run schema`\n');
    process.exit(1);
  }
  process.stderr.write('schema/report.schema.json is up to date\n');
} else {
  writeFileSync(target, text);
  process.stderr.write(`wrote ${target}\n`);
}
