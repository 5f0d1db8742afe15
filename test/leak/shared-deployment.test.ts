import { describe, expect, it } from 'vitest';
import { connect, signUp, startServer, statsUntil, type TestSocket } from '../server/helpers.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';

/**
 * A shared deployment with v1 stats only: another client opens and closes its own sockets
 * while the bench runs. Its sockets must never become the bench's findings; the bench's own
 * leak on the same kind of server is still found.
 */
const scenario = parseScenario({
  name: 'shared',
  description: 'chat beside an outside client',
  users: 3,
  settle: '500ms',
  setup: { voiceChannels: 0 },
  phases: [{ type: 'connect', notifications: false }, { type: 'chat', duration: '2500ms', messagesPerUserPerSec: 2 }, { type: 'switch', strategy: 'reconnect', switches: 2, interval: '100ms' }, { type: 'disconnect' }],
});

describe('the bench on a shared v1 deployment', () => {
  it('an outside client opening 8 notifications sockets mid-run (and closing 2) gives no finding', async () => {
    const s = await startServer({ compat: 'v1' });
    const outsiders = await Promise.all([1, 2, 3, 4].map((i) => signUp(s, `outsider${i}`)));
    const held: TestSocket[] = [];
    // once the bench's users are on, the outsider comes in: 2 notifications sockets each, then one leaves
    const outside = (async () => {
      await statsUntil(s, (st) => st.total_connections >= 3, 20_000);
      for (const o of outsiders) for (let i = 0; i < 2; i++) held.push(await connect(s, '/ws/notifications', o.token));
      await statsUntil(s, (st) => st.total_connections >= 3 + 8, 5000);
      for (const sock of held.splice(0, 2)) sock.ws.close();
    })();
    const report = await runScenario({ scenario, target: s.url });
    await outside;
    for (const sock of held) sock.ws.close();
    await s.close();
    expect(report.status, report.abortReason ?? '').toBe('completed');
    expect(report.target.extStats).toBe(false);
    expect(report.findings.map((f) => `${f.class}: ${f.message}`)).toEqual([]);
    expect(report.checks?.['zombie-socket']?.status).toBe('judged');
    expect(report.verdict.exitCode).toBe(0);
  });

  it("the bench's own zombie sockets are still found beside the outside client", async () => {
    const s = await startServer({ compat: 'v1', faults: ['zombie-socket'] });
    const o = await signUp(s, 'outsider');
    const outside = (async () => {
      await statsUntil(s, (st) => st.total_connections >= 3, 20_000);
      return [await connect(s, '/ws/notifications', o.token), await connect(s, '/ws/notifications', o.token)];
    })();
    const report = await runScenario({ scenario, target: s.url });
    for (const sock of await outside) sock.ws.close();
    await s.close();
    expect([...new Set(report.findings.map((f) => f.class))]).toEqual(['zombie-socket']);
    expect(report.findings.every((f) => f.subject.kind === 'chat')).toBe(true);
  });
});
