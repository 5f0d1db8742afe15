import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReport, parseReport } from '../../src/report/read-report.js';
import { makeReport } from './fixture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mb-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, data: unknown): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
}

describe('readReport', () => {
  it('reads a valid report', async () => {
    const r = makeReport();
    const back = await readReport(await put('ok.json', r));
    expect(back).toEqual(r);
  });

  it('refuses another schemaVersion with the file name and both versions', async () => {
    const p = await put('x.json', { ...makeReport(), schemaVersion: 2 });
    await expect(readReport(p)).rejects.toMatchObject({ code: 'MB_ERR_SCHEMA_VERSION', exitCode: 2, message: 'x.json has schemaVersion 2, this miscord-bench reads 1' });
  });

  it('refuses a report without schemaVersion', async () => {
    const { schemaVersion: _v, ...rest } = makeReport();
    const p = await put('old.json', rest);
    await expect(readReport(p)).rejects.toMatchObject({ code: 'MB_ERR_SCHEMA_VERSION', message: 'old.json has no schemaVersion, this miscord-bench reads 1' });
  });

  it('names the file and the field of an invalid report', async () => {
    const r = makeReport() as unknown as { histograms: Record<string, { p99: unknown }> };
    r.histograms['chat.deliver']!.p99 = 'fast';
    const p = await put('bad.json', r);
    const err = (await readReport(p).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'MB_ERR_REPORT_INVALID', exitCode: 2 });
    expect(err.message).toContain('bad.json: histograms.chat.deliver.p99:');
  });

  it('refuses non-JSON and missing files as unreadable reports', async () => {
    await expect(readReport(await put('garbage.json', '{nope'))).rejects.toMatchObject({ code: 'MB_ERR_REPORT_INVALID', message: expect.stringMatching(/garbage\.json: not JSON: line 1, column 2: /) });
    await expect(readReport(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'MB_ERR_REPORT_INVALID', message: expect.stringContaining('ENOENT') });
    expect(() => parseReport([1, 2], 'arr.json')).toThrow(/arr.json: not a miscord-bench report/);
  });
});
