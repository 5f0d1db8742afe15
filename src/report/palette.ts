import { Chalk, type ChalkInstance } from 'chalk';

/**
 * Colour for human output: on only for a TTY and without NO_COLOR (https://no-color.org),
 * decided by the caller for the stream it writes to, so a piped stderr stays plain.
 */
export function wantColor(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return !!stream.isTTY;
}

export function palette(color: boolean): ChalkInstance {
  return new Chalk({ level: color ? 1 : 0 });
}
