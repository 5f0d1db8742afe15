import { afterEach, describe, expect, it } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { KEEP_ENDED_RECORDS } from '../../src/client/ledger.js';

/**
 * A soak logs every user in again each cycle: the bench's own state must stay bounded by the
 * scenario's users, not grow with the cycles. Read from the run's own checkpoints (one per
 * cycle), never from timing.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const USERS = 4;
const CYCLES = 8;

describe('bounded state over many soak cycles', () => {
  it('keeps one user object and a bounded number of socket records per account, however many cycles', async () => {
    const server = await createReferenceServer({ port: 0 });
    cleanups.push(() => server.close());
    const scenario = parseScenario({
      name: 'bounded',
      description: 'many short cycles of logins, reconnects and leaving',
      users: USERS,
      settle: 300,
      setup: { servers: 1, textChannels: 2, voiceChannels: 0 },
      phases: [
        {
          type: 'soak',
          duration: 1,
          minCycles: CYCLES,
          cycle: [{ type: 'connect' }, { type: 'switch', strategy: 'reconnect', switches: 3, interval: 0, messagesPerSwitch: 0 }, { type: 'disconnect' }],
        },
      ],
    });
    const report = await runScenario({ scenario, target: server.url });
    expect(report.status, report.abortReason ?? '').toBe('completed');
    // the report counts accounts and logins apart
    expect(report.ledger.users).toBe(USERS);
    expect(report.ledger.logins).toBe(USERS * CYCLES);
    // every socket of every cycle is still counted, though its record was folded away
    const opened = report.ledger.byKind.chat!.opened + report.ledger.byKind.notifications!.opened;
    expect(opened).toBe(report.counters['ws.opened']);
    expect(report.ledger.byKind.chat!.opened).toBe(USERS * CYCLES * 4);
    expect(report.ledger.connectionsCreated).toBe(report.ledger.connectionsDestroyed);

    const cycles = report.checkpoints.filter((c) => /cycle/.test(c.name));
    expect(cycles.length).toBeGreaterThanOrEqual(CYCLES);
    for (const cp of cycles) {
      const client = cp.client as { users: number; records: { sockets: number; logins: number } };
      expect(client.users, cp.name).toBe(USERS);
      // per account: at most the kept ended records and what it holds open
      expect(client.records.sockets, cp.name).toBeLessThanOrEqual(USERS * (KEEP_ENDED_RECORDS + 3));
    }
    const last = cycles.at(-1)!.client as { records: { sockets: number; logins: number } };
    expect(last.records.logins).toBe(USERS * CYCLES);
    // the bound is reached, so the folding was exercised: 8 cycles x 5 sockets = 40 per account
    expect(last.records.sockets).toBe(USERS * KEEP_ENDED_RECORDS);
  });
});
