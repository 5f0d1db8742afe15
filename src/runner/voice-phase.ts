import { MbError } from '../errors.js';
import type { RunContext } from './run-context.js';
import type { VoicePhaseConfig } from '../scenario/schema.js';

// Placeholder so the runner compiles: the voice engineer owns this file and replaces it.
export async function runVoicePhase(_ctx: RunContext, _phase: VoicePhaseConfig): Promise<void> {
  throw new MbError('MB_ERR_USAGE', 'voice phases are not available yet');
}
