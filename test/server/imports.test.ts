import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../src/server/', import.meta.url));

describe('src/server stands alone', () => {
  it('imports only protocol, clock, log and errors of ours', () => {
    const allowed = new Set(['../protocol/messages.js', '../clock.js', '../log.js', '../errors.js']);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const src = readFileSync(dir + f, 'utf8');
      for (const [, spec] of src.matchAll(/from '(\.\.\/[^']+)'/g)) expect(allowed.has(spec!), `${f} imports ${spec}`).toBe(true);
    }
  });
});
