import { Chalk } from 'chalk';
import type { Palette } from '../report/paint.js';

/**
 * Colour for human output: on only for a TTY and without NO_COLOR (https://no-color.org),
 * decided for the stream written to, so a piped stderr stays plain. FORCE_COLOR forces it.
 */
export function wantColor(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return !!stream.isTTY;
}

/** The renderers' palette for a stream: chalk at 16 colours, or none (created here, in src/cli only). */
export function paletteFor(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): Palette {
  return new Chalk({ level: wantColor(stream, env) ? 1 : 0 });
}
