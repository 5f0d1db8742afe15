import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { reportJsonSchema, reportJsonSchemaText } from '../../src/report/json-schema.js';
import { mergeReports } from '../../src/report/merge.js';
import { regate } from '../../src/report/regate.js';
import { latencies, makeReport } from './fixture.js';

const FILE = fileURLToPath(new URL('../../schema/report.schema.json', import.meta.url));

describe('schema/report.schema.json', () => {
  it('equals a fresh generation from ReportSchema (run `npm run schema` when it does not)', () => {
    expect(readFileSync(FILE, 'utf8')).toBe(reportJsonSchemaText());
  });

  it('validates real reports and merged ones with ajv, and rejects broken ones', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync(FILE, 'utf8')));
    const a = makeReport({ shard: { index: 0, count: 2 }, samples: { 'chat.deliver': latencies(100, 1, 5) }, findings: [{ class: 'zombie-socket' }], voiceRooms: 2 });
    const b = makeReport({ shard: { index: 1, count: 2 } });
    const merged = regate(mergeReports([a, b]), ['chat.deliver.p99<100ms']);
    for (const r of [a, b, merged]) {
      const ok = validate(JSON.parse(JSON.stringify(r)));
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
    expect(validate({ ...a, schemaVersion: 2 })).toBe(false);
    const { ledger: _l, ...noLedger } = a;
    expect(validate(noLedger)).toBe(false);
    expect(reportJsonSchema().title).toBe('miscord-bench report (schemaVersion 1)');
  });
});
