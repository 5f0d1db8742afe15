import type { SoakPhase, SimplePhaseConfig } from '../scenario/schema.js';
import type { z } from 'zod';
import { clock } from '../clock.js';
import { runVoicePhase } from './voice-phase.js';
import { chatPhase, churnPhase, connectPhase, disconnectPhase, freezePhase, crashPhase, idlePhase, multiTabPhase, switchPhase } from './phases.js';
import type { PhaseHandler, PhaseRegistry, RunContext } from './run-context.js';
import { customPhase } from './script-context.js';
import { limitsPhase } from './limits-phase.js';
import { rampPhase } from './ramp-phase.js';

/** Repeats the cycle until the duration is spent (at least `minCycles`), with a checkpoint after each cycle. */
export async function soakPhase(ctx: RunContext, p: z.infer<typeof SoakPhase>): Promise<void> {
  const duration = p.duration ?? ctx.scenario.duration;
  const name = ctx.phase;
  const start = clock.now();
  for (let cycle = 0; cycle < p.minCycles || clock.now() - start < duration; cycle++) {
    for (const [i, sub] of p.cycle.entries()) {
      ctx.phase = `${name}/${cycle}/${sub.name ?? `${sub.type}#${i}`}`;
      await dispatch(ctx, sub);
    }
    ctx.phase = name;
    await ctx.checkpoint(`${name} cycle ${cycle}`, { cycle });
  }
}

export const PHASES: PhaseRegistry = {
  connect: connectPhase,
  chat: chatPhase,
  switch: switchPhase,
  churn: churnPhase,
  'multi-tab': multiTabPhase,
  freeze: freezePhase,
  crash: crashPhase,
  idle: idlePhase,
  disconnect: disconnectPhase,
  voice: runVoicePhase,
  soak: soakPhase,
  custom: customPhase,
  limits: limitsPhase,
  ramp: rampPhase,
};

export function dispatch(ctx: RunContext, phase: SimplePhaseConfig | Parameters<PhaseRegistry['soak']>[1]): Promise<void> {
  return (PHASES[phase.type] as PhaseHandler)(ctx, phase);
}
