import { describe, expect, it, onTestFinished } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { planRun } from '../../src/runner/run-plan.js';
import { socketNeed } from '../../src/runner/limit-fit.js';
import { loadScenario } from '../../src/scenario/load-scenario.js';
import { ScenarioSchema, type ScenarioInput } from '../../src/scenario/schema.js';

const scenario = (phases: ScenarioInput['phases'], extra: Partial<ScenarioInput> = {}) => ScenarioSchema.parse({ name: 't', description: 't', users: 4, phases, ...extra });
const SHIPPED = ['smoke', 'leak-gate', 'multi-tab', 'channel-hop', 'churn', 'soak', 'voice-mesh', 'limits', 'capacity'];

describe('limit fit', () => {
  it('every shipped scenario fits the recommended limits: 3 per user, 1000 in all, rooms of 10', () => {
    for (const name of SHIPPED) {
      const need = socketNeed(loadScenario(name).scenario);
      expect(need.perUser, name).toBeLessThanOrEqual(3);
      expect(need.total, name).toBeLessThanOrEqual(1000);
      expect(need.room, name).toBeLessThanOrEqual(10);
      expect(() => planRun({ scenario: name, target: 'http://127.0.0.1:8099', expectMaxPerUser: 3, expectMaxTotal: 1000, expectRoomSize: 10 })).not.toThrow();
    }
  });

  it('refuses a phase that needs more sockets per user than declared, naming the phase and the count', () => {
    const s = scenario([{ type: 'connect' }, { type: 'multi-tab', name: 'tabs' }, { type: 'disconnect' }]);
    expect(socketNeed(s)).toMatchObject({ perUser: 4, perUserPhase: 'tabs', total: 16 });
    expect(() => planRun({ scenario: s, target: 'http://127.0.0.1:8099', expectMaxPerUser: 3 })).toThrow(/phase tabs needs 4 sockets per user, the target allows 3/);
    expect(() => planRun({ scenario: s, target: 'http://127.0.0.1:8099', expectMaxPerUser: 4 })).not.toThrow();
    expect(() => planRun({ scenario: s, target: 'http://127.0.0.1:8099', expectMaxTotal: 15 })).toThrow(/phase tabs needs 16 sockets at once/);
    try {
      planRun({ scenario: s, target: 'http://127.0.0.1:8099', expectMaxPerUser: 3 });
    } catch (err) {
      expect((err as { code: string }).code).toBe('MB_ERR_SCENARIO_INVALID');
    }
  });

  it('counts voice sockets on top of what a user holds, a second tab included, and rooms in distinct users', () => {
    const s = scenario([
      { type: 'connect', users: 3 },
      { type: 'voice', name: 'v', rooms: 1, usersPerRoom: 3, actions: [{ at: 0, action: 'second-tab', member: 1 }] },
    ]);
    expect(socketNeed(s)).toMatchObject({ perUser: 4, perUserPhase: 'v', room: 3 });
    expect(() => planRun({ scenario: s, target: 'http://127.0.0.1:8099', expectRoomSize: 2 })).toThrow(/phase v puts 3 distinct users in a voice room, the target's rooms hold 2/);
  });

  it('holds the bundled server to the limits it is started with', () => {
    const s = scenario([{ type: 'connect' }, { type: 'multi-tab', name: 'tabs' }]);
    expect(() => planRun({ scenario: s })).toThrow(/phase tabs needs 4 sockets per user, the target allows 3/);
    expect(() => planRun({ scenario: { ...s, bundledServer: { maxPerUser: 4 } } })).not.toThrow();
  });

  it('refuses a declared limit that is not a positive integer', () => {
    expect(() => planRun({ scenario: 'smoke', target: 'http://127.0.0.1:8099', expectMaxPerUser: 0 })).toThrow(/--expect-max-per-user must be a positive integer/);
  });

  it("refuses, before anything starts, a scenario that cannot fit the limits the target's [ext] config declares", async () => {
    const server = await createReferenceServer({ port: 0, maxPerUser: 2 });
    onTestFinished(() => server.close());
    const s = scenario([{ type: 'connect', name: 'c' }, { type: 'multi-tab', name: 'tabs', users: 1 }]);
    await expect(runScenario({ scenario: s, target: server.url, logLevel: 'error' })).rejects.toMatchObject({ code: 'MB_ERR_SCENARIO_INVALID', message: expect.stringMatching(/phase tabs needs 4 sockets per user, the target allows 2 \(the target's \[ext\] config\)/) });
  });
});
