import { isatty } from 'node:tty';
import type { LiveView } from '../runner/live-state.js';
import { formatLiveState } from './format-live-state.js';

type KeyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown; isRaw?: boolean; unref?(): unknown; ref?(): unknown };

export interface LiveStateTriggerOptions {
  /** the current view (may read the server's stats) */
  getView: () => LiveView | Promise<LiveView>;
  /** where the text goes (the run passes a stderr writer) */
  write: (text: string) => void;
  /** key presses are read from it when it is a TTY (default: process.stdin if it is one; null: never) */
  stdin?: KeyInput | null;
  /** the key that prints the state (default `s`) */
  key?: string;
  signal?: NodeJS.Signals;
}

/**
 * Prints the live state on SIGUSR2 and, on a TTY, when `s` is pressed. Returns the remover,
 * which restores the terminal. Neither keeps the process alive: Node does not ref signal
 * handles and stdin is unref'd. In raw mode Ctrl-C arrives as a key, so it is passed on as
 * the SIGINT the run expects.
 */
export function installLiveStateTrigger(opts: LiveStateTriggerOptions): () => void {
  const signal = opts.signal ?? 'SIGUSR2';
  const key = opts.key ?? 's';
  let busy = false;
  const print = () => {
    if (busy) return; // a second request while the first still reads the server is the same request
    busy = true;
    Promise.resolve()
      .then(opts.getView)
      .then(
        (view) => opts.write(formatLiveState(view)),
        (err: unknown) => opts.write(`miscord-bench live state unavailable: ${(err as Error)?.message ?? String(err)}\n`),
      )
      .finally(() => {
        busy = false;
      });
  };
  process.on(signal, print);

  // isatty first: touching process.stdin creates its handle, which a pipe should not get for nothing
  const stdin: KeyInput | null = opts.stdin === undefined ? (isatty(0) ? (process.stdin as KeyInput) : null) : opts.stdin;
  let onData: ((d: Buffer | string) => void) | null = null;
  let wasRaw = false;
  if (stdin && stdin.isTTY && typeof stdin.setRawMode === 'function') {
    wasRaw = !!stdin.isRaw;
    stdin.setRawMode(true);
    onData = (d) => {
      const s = typeof d === 'string' ? d : d.toString('utf8');
      if (s.includes('\u0003')) process.kill(process.pid, 'SIGINT');
      else if (s.includes(key)) print();
    };
    stdin.on('data', onData);
    stdin.resume();
    stdin.unref?.();
  }

  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    process.off(signal, print);
    if (stdin && onData) {
      stdin.off('data', onData);
      stdin.setRawMode?.(wasRaw);
      stdin.pause();
      stdin.unref?.();
    }
  };
}
