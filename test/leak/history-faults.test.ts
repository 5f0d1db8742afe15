import { describe, expect, it } from 'vitest';
import { createReferenceServer } from '../../src/server/index.js';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import type { Report } from '../../src/report/schema.js';

/**
 * The history checks, end to end: one scenario that mutes, opens a second voice tab, leaves
 * and rejoins, crashes a voice tab and a notifications socket, against the reference server
 * with each fault of a class the history judges. Each fault gives its class and none of the
 * others; the clean server gives nothing.
 */
const scenario = parseScenario({
  name: 'history',
  description: 'every voice action the history checks judge',
  seed: 3,
  users: 5,
  settle: '500ms',
  setup: { voiceChannels: 1, maxVoiceUsers: 10 },
  phases: [
    // notifications and voice only: a second voice tab fits the 3 sockets a user may hold
    { type: 'connect', chat: false },
    {
      type: 'voice',
      rooms: 1,
      usersPerRoom: 4,
      stagger: '100ms',
      hold: '3s',
      actions: [
        { at: '300ms', action: 'mute', member: 1 },
        { at: '500ms', action: 'second-tab', member: 2 },
        { at: '800ms', action: 'leave-rejoin', member: 3 },
        { at: '1500ms', action: 'crash', member: 0 },
      ],
    },
    { type: 'crash', users: 1, kinds: ['notifications'] },
    { type: 'disconnect' },
  ].map((p) => JSON.parse(JSON.stringify(p))),
});

async function run(faults: string[], o: { faultEvent?: string; scenario?: typeof scenario } = {}): Promise<Report> {
  const server = await createReferenceServer({ port: 0, heartbeatMs: 500, faults: faults as never, ...(o.faultEvent ? { faultEvent: o.faultEvent } : {}) });
  try {
    return await runScenario({ scenario: o.scenario ?? scenario, target: server.url, expectReapMs: 500 * 3 + 500 });
  } finally {
    await server.close();
  }
}

const classes = (r: Report) => [...new Set(r.findings.map((f) => f.class))].sort();

/** each fault: the classes it must give, and those its consequences may add (the room's mesh breaks when a member is wrongly announced gone) */
const cases: Array<[string, string[], string[]]> = [
  ['drop-announcement', ['missed-event'], []],
  // the notifications sockets' news of a room
  ['drop-announcement:voice_channel_join', ['missed-event'], []],
  ['drop-announcement:voice_channel_leave', ['missed-event'], []],
  ['duplicate-member', ['duplicate-member'], []],
  ['spurious-leave', ['spurious-event'], ['incomplete-mesh']],
  ['stale-presence', ['stale-presence'], []],
];

describe('history checks against the reference server faults', () => {
  it('a clean server: every promise kept, no finding', async () => {
    const r = await run([]);
    expect(r.status, r.abortReason ?? '').toBe('completed');
    expect(r.findings.map((f) => f.message)).toEqual([]);
    const vp = r.checkpoints.at(-1)!.client.voicePromises as { expectations: number; fulfilled: number; missed: number };
    expect(vp.expectations).toBeGreaterThan(20);
    expect(vp.missed).toBe(0);
    // every check this scenario can feed was judged, none skipped in silence
    for (const cls of ['missed-event', 'spurious-event', 'phantom-voice-member', 'duplicate-member', 'incomplete-mesh', 'stale-presence', 'zombie-socket', 'stale-voice-member', 'bench-leak']) {
      expect(r.checks?.[cls]?.status, cls).toBe('judged');
    }
    expect(r.checks?.['resource-growth']?.status).toBe('not-applicable');
  });

  for (const [name, expected, consequences] of cases) {
    it(`${name}: ${expected.join(', ')} and nothing unrelated`, async () => {
      const [fault, faultEvent] = name.split(':');
      const r = await run([fault!], { faultEvent });
      expect(r.status, r.abortReason ?? '').toBe('completed');
      const got = classes(r);
      const why = r.findings.map((f) => `${f.class}: ${f.message}`).join('\n');
      for (const c of expected) expect(got, why).toContain(c);
      expect(got.filter((c) => !expected.includes(c) && !consequences.includes(c)), why).toEqual([]);
      expect(r.verdict.exitCode).toBe(5);
    });
  }

  it('voice-slot-overwrite: the ghost tab is a phantom member and what is sent to it is missed', async () => {
    const r = await run(['voice-slot-overwrite']);
    const c = classes(r);
    expect(c).toContain('phantom-voice-member');
    expect(c).toContain('missed-event');
    // later joiners never reach the ghost: the room is short of pairs
    expect(c).toContain('incomplete-mesh');
    // the server forgot a user whose tab is still open: nothing about sockets that are gone
    expect(c).not.toContain('zombie-socket');
    expect(c).not.toContain('stale-voice-member');
  });

  it('crash-kept: the crashed sockets stay registered, the room is never told, presence stays', async () => {
    const r = await run(['crash-kept']);
    expect(classes(r)).toEqual(['missed-event', 'stale-presence', 'zombie-socket']);
    const missed = r.findings.find((f) => f.class === 'missed-event')!;
    expect(missed.evidence.details).toMatchObject({ action: 'crashed' });
  });

  it('chat: typing and messages reach the channel, and a server that drops typing is named for it', async () => {
    const chat = parseScenario({
      name: 'chat-promises',
      description: 'every message preceded by a typing',
      seed: 4,
      users: 4,
      settle: '500ms',
      setup: { textChannels: 2 },
      phases: [
        { type: 'connect', notifications: false },
        { type: 'chat', duration: '1500ms', messagesPerUserPerSec: 2, typingRatio: 1 },
        { type: 'switch', strategy: 'in-band', switches: 2, interval: '200ms' },
        { type: 'disconnect' },
      ],
    });
    const clean = await run([], { scenario: chat });
    expect(clean.findings.map((f) => f.message)).toEqual([]);
    expect(clean.counters['chat.typing_expected']).toBeGreaterThan(10);
    expect(clean.counters['chat.typing_delivered']).toBe(clean.counters['chat.typing_expected']);
    expect(clean.checks?.['missed-event']?.status).toBe('judged');
    const dropped = await run(['drop-announcement'], { faultEvent: 'typing', scenario: chat });
    expect(classes(dropped)).toEqual(['missed-event']);
    expect(dropped.findings.every((f) => f.subject.resource === 'typing' && f.subject.kind === 'chat')).toBe(true);
    expect(dropped.verdict.exitCode).toBe(5);
  });
});
