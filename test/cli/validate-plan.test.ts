import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { planRun } from '../../src/runner/run-plan.js';
import { SHIPPED_DIR } from '../../src/scenario/load-scenario.js';

/** `validate` is the run's own check: what run refuses before it starts, validate refuses with the same line. */
const dir = mkdtempSync(join(tmpdir(), 'mb-plan-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const base = { name: 'x', description: 'x', users: 4, setup: { voiceChannels: 1 }, phases: [{ type: 'connect' }, { type: 'chat', duration: '1s' }, { type: 'disconnect' }] };
function file(name: string, patch: Record<string, unknown>): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ ...base, ...patch }));
  return path;
}

const refused: Array<{ name: string; patch: Record<string, unknown>; line: RegExp }> = [
  { name: 'bad-op', patch: { thresholds: ['chat.deliver.p99<<250ms'] }, line: /chat\.deliver\.p99<<250ms/ },
  { name: 'unknown-histogram', patch: { thresholds: ['chat.delivr.p99<250ms'] }, line: /no run produces the histogram chat\.delivr/ },
  { name: 'unknown-rate', patch: { thresholds: ['rates.deliveryRate>=1'] }, line: /no run produces rates\.deliveryRate/ },
  { name: 'voice-gate-no-voice', patch: { thresholds: ['webrtc.connected.p99<2s'] }, line: /no phase of this scenario records webrtc\.connected/ },
  { name: 'ratio-no-messages', patch: { thresholds: ['rates.deliveryRatio>=1'], phases: [{ type: 'connect' }, { type: 'disconnect' }] }, line: /rates\.deliveryRatio needs chat messages/ },
  { name: 'rooms-too-big', patch: { users: 20, phases: [{ type: 'voice', rooms: 1, usersPerRoom: 50 }] }, line: /phases\[0\]: needs 50 users .* has 20/ },
  { name: 'soak-rooms-too-big', patch: { users: 2, phases: [{ type: 'soak', cycle: [{ type: 'voice', rooms: 2, usersPerRoom: 2 }] }] }, line: /phases\[0\]\.cycle\[0\]: needs 4 users/ },
];

describe('validate refuses what run refuses, with the same line and exit 2', () => {
  for (const c of refused) {
    it(c.name, async () => {
      const path = file(c.name, c.patch);
      const v = await runCli(['validate', path]);
      const r = await runCli(['run', path, '--quiet', '--out', join(dir, `${c.name}-report.json`)]);
      expect(v.code, v.stderr).toBe(2);
      expect(r.code, r.stderr).toBe(2);
      expect(v.stderr).toMatch(c.line);
      expect(v.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toBe(v.stderr.trim());
      // nothing ran: no report was written
      expect(readdirSync(dir).filter((f) => f.startsWith(`${c.name}-report`))).toEqual([]);
    });
  }

  it('a --threshold the scenario cannot produce is a usage error naming the flag', () => {
    expect(() => planRun({ scenario: file('flag', {}), thresholds: ['screen.first_frame.p99<1s'] })).toThrow(/--threshold 'screen\.first_frame\.p99<1s': no phase of this scenario records screen\.first_frame/);
    expect(() => planRun({ scenario: file('noleak', {}), leakCheck: false, thresholds: ['close_to_deregister.p99<1s'] })).toThrow(/the leak check is off/);
  });

  it('accepts every shipped scenario and the failure variants of a produced histogram', async () => {
    for (const f of readdirSync(SHIPPED_DIR).filter((n) => n.endsWith('.json'))) expect(() => planRun({ scenario: join(SHIPPED_DIR, f) }), f).not.toThrow();
    expect(planRun({ scenario: file('ok', { thresholds: ['ws.connect.chat.refused.count==0', 'http.login.p99<1s', 'chat.deliver.p99<1s', 'rates.errorRate<0.01'] }) }).thresholds).toHaveLength(4);
    const v = await runCli(['validate', 'smoke']);
    expect(v.code).toBe(0);
    expect(v.stderr).toMatch(/scenarios\/smoke\.json: valid \(8 phases, 20 users, 5 gates/);
  });
});
