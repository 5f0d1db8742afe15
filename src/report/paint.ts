/**
 * The styles the renderers use, handed in by the caller: src/cli passes a chalk instance
 * whose level it chose for the stream it writes to (colour off without a TTY or with
 * NO_COLOR); everyone else gets `plain`. The report layer itself never decides colour.
 */
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

const same = (text: string): string => text;
const paint: Paint = Object.assign(same, { bold: same });

/** No styling at all: files, pipes, tests. */
export const plain: Palette = { bold: same, dim: same, red: paint, green: paint, yellow: paint, cyan: paint };
