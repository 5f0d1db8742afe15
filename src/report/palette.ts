/**
 * Colour for human output: on only for a TTY and without NO_COLOR (https://no-color.org),
 * decided by the caller for the stream it writes to, so a piped stderr stays plain.
 */
export function wantColor(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return !!stream.isTTY;
}

/** A style: call it on text; `.bold` adds bold to it. */
export interface Paint {
  (text: string): string;
  readonly bold: (text: string) => string;
}

export interface Palette {
  bold: (text: string) => string;
  dim: (text: string) => string;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;

/**
 * The few ANSI styles the renderers use (16 colours, as chalk's level 1). Our own rather
 * than chalk's: chalk imports `node:process` as a module, which on Node 20 opens
 * process.stdin, a side effect importing the package must not have.
 */
export function palette(color: boolean): Palette {
  const style =
    (...names: Array<keyof typeof CODES>) =>
    (text: string): string => {
      if (!color) return text;
      let out = text;
      for (const n of names) out = `\u001b[${CODES[n][0]}m${out}\u001b[${CODES[n][1]}m`;
      return out;
    };
  const paint = (name: 'red' | 'green' | 'yellow' | 'cyan'): Paint => Object.assign(style(name), { bold: style(name, 'bold') });
  return { bold: style('bold'), dim: style('dim'), red: paint('red'), green: paint('green'), yellow: paint('yellow'), cyan: paint('cyan') };
}
