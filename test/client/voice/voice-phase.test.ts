import { describe, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { runVoicePhase } from '../../../src/runner/voice-phase.js';
import type { RunContext } from '../../../src/runner/run-context.js';
import { createRng } from '../../../src/runner/rng.js';
import { ScenarioSchema, VoicePhase } from '../../../src/scenario/schema.js';
import { VoiceUserSlot } from '../../../src/client/voice/voice-user-slot.js';
import { useVoiceFixture, type VoiceFixture } from './voice-fixture.js';

/** The part of RunContext the voice phase uses, over fixture users standing in for SimulatedUsers. */
function stubContext(fx: VoiceFixture, checkpoints: Array<{ name: string; views: unknown[] }>): RunContext {
  const users = fx.users.map((u) => ({ index: u.identity.index, identity: u.identity, ledger: u.ledger, voice: null as VoiceUserSlot | null }));
  const scenario = ScenarioSchema.parse({ name: 't', description: 't', phases: [{ type: 'idle', duration: 0 }] });
  const ctx = {
    scenario,
    seed: 1,
    rng: createRng(1),
    env: fx.env,
    metrics: fx.metrics,
    log: fx.env.log,
    world: { owner: fx.owner, servers: [{ id: fx.serverId, name: 'voice-test', textChannelIds: [], voiceChannelIds: [fx.voiceChannelId] }] },
    connectLimit: pLimit(10),
    signal: fx.env.signal,
    leak: null,
    phase: 'voice#0',
    voice: null,
    onlineUsers: () => users,
    allUsers: () => users,
    ownsIndex: () => true,
    pickOfRun: <T>(c: T[], n: number, end: 'first' | 'last' = 'first') => (end === 'first' ? c.slice(0, n) : c.slice(Math.max(0, c.length - n))),
    sliceOfRun: <T>(c: T[], n: number, end: 'first' | 'last' = 'first') => (end === 'first' ? c.slice(0, n) : c.slice(Math.max(0, c.length - n))),
    getUser: async () => {
      throw new Error('no more users in the stub');
    },
    checkpoint: async (name: string) => {
      checkpoints.push({ name, views: users.map((u) => (u.voice ? { roomId: u.voice.roomId, remoteUserIds: u.voice.remoteUserIds } : null)) });
    },
  };
  return ctx as unknown as RunContext;
}

describe('voice phase', () => {
  const fx = useVoiceFixture(3);

  it('joins a room, plays the actions, summarises and leaves everything closed', async () => {
    const checkpoints: Array<{ name: string; views: unknown[] }> = [];
    const ctx = stubContext(fx, checkpoints);
    const phase = VoicePhase.parse({
      type: 'voice',
      rooms: 1,
      usersPerRoom: 3,
      stagger: 50,
      hold: '3s',
      actions: [
        { at: 200, action: 'mute', member: 1 },
        { at: 300, action: 'screen-share-start', member: 0 },
        { at: 600, action: 'unmute', member: 1 },
        { at: 800, action: 'leave-rejoin', member: 2 },
        { at: 1000, action: 'second-tab', member: 1 },
        { at: 1800, action: 'screen-share-stop', member: 0 },
      ],
    });
    await runVoicePhase(ctx, phase);

    const voice = ctx.voice!;
    expect(voice.rooms).toHaveLength(1);
    expect(voice.rooms[0]!.roomId).toBe(fx.voiceChannelId);
    expect(voice.totals.members).toBe(3);
    // pairs with member 2 were held twice (before and after its rejoin): all six directions heard
    expect(voice.totals.tonesDetected).toBe(6);
    expect(voice.totals.videoFramesReceived).toBeGreaterThan(0);
    expect(fx.metrics.get('voice.status.user_muted')).toBe(4); // two changes, two listeners
    expect(fx.metrics.histogram('screen.first_frame').count).toBeGreaterThanOrEqual(2);

    // at the hold checkpoint everyone was in the room with peers to the two others
    const held = checkpoints.find((c) => c.name.endsWith(':held'))!;
    for (const v of held.views as Array<{ roomId: number; remoteUserIds: number[] }>) {
      expect(v.roomId).toBe(fx.voiceChannelId);
      expect(v.remoteUserIds).toHaveLength(2);
    }
    for (const u of fx.users) {
      expect(u.ledger.openPeers()).toHaveLength(0);
      expect(u.ledger.openSockets()).toHaveLength(0);
      for (const [k, r] of Object.entries(u.ledger.resources)) expect(r.released, k).toBe(r.created);
    }
    expect(fx.users[2]!.ledger.peersCreated).toBe(4);
    // the second tab was a socket of its own
    expect([...fx.users[1]!.ledger.sockets.values()].filter((s) => s.kind === 'voice')).toHaveLength(2);
  });

  it('talk-spurt rotates one speaker at a time and the speakers are heard', async () => {
    const ctx = stubContext(fx, []);
    const phase = VoicePhase.parse({ type: 'voice', rooms: 1, usersPerRoom: 3, stagger: 0, hold: '3500ms', audio: 'talk-spurt' });
    const before = fx.metrics.get('voice.status.user_speaking');
    await runVoicePhase(ctx, phase);
    expect(fx.metrics.get('voice.status.user_speaking') - before).toBeGreaterThanOrEqual(4);
    const room = ctx.voice!.rooms[0]!;
    expect(room.audioFramesReceived).toBeGreaterThan(0);
    expect(room.audioFramesReceived).toBeGreaterThan(room.audioFramesExpected * 0.7);
    for (const u of fx.users) expect(u.ledger.openPeers()).toHaveLength(0);
  });
});
