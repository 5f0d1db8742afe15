import { describe, it, expect, afterEach } from 'vitest';
import { PassThrough } from 'node:stream';
import { UserLedger } from '../../src/client/ledger.js';
import { buildLiveView } from '../../src/runner/live-state.js';
import { installLiveStateTrigger } from '../../src/cli/live-state-trigger.js';

/** Two users, the second with an open notifications socket. */
function ledgers(): UserLedger[] {
  const a = new UserLedger(0, 'mb-run-0');
  a.userId = 10;
  const b = new UserLedger(1, 'mb-run-1');
  b.userId = 11;
  b.socketOpened(b.socketOpening('notifications', null));
  return [a, b];
}

describe('installLiveStateTrigger', () => {
  const removers: Array<() => void> = [];
  afterEach(() => {
    for (const r of removers.splice(0)) r();
  });

  it('prints the state on SIGUSR2 and stops listening once removed', async () => {
    const before = process.listenerCount('SIGUSR2');
    let printed!: (s: string) => void;
    const first = new Promise<string>((r) => (printed = r));
    const remove = installLiveStateTrigger({ getView: () => buildLiveView({ ledgers: ledgers(), stats: null }), write: (s) => printed(s), stdin: null });
    removers.push(remove);
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.kill(process.pid, 'SIGUSR2');
    const text = await first;
    expect(text).toContain('miscord-bench live state');
    expect(text).toContain('u1 #11 mb-run-1');
    remove();
    remove();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('reports a view that cannot be built instead of throwing', async () => {
    let printed!: (s: string) => void;
    const got = new Promise<string>((r) => (printed = r));
    removers.push(installLiveStateTrigger({ getView: async () => Promise.reject(new Error('stats timed out')), write: (s) => printed(s), stdin: null }));
    process.kill(process.pid, 'SIGUSR2');
    expect(await got).toBe('miscord-bench live state unavailable: stats timed out\n');
  });

  it('prints on a key press from a TTY, passes Ctrl-C on as SIGINT, and restores the terminal on remove', async () => {
    const raw: boolean[] = [];
    const tty = Object.assign(new PassThrough(), {
      isTTY: true,
      isRaw: false,
      setRawMode(m: boolean) {
        raw.push(m);
        tty.isRaw = m;
      },
      unref() {},
    });
    let printed!: (s: string) => void;
    const got = new Promise<string>((r) => (printed = r));
    const remove = installLiveStateTrigger({ getView: () => buildLiveView({ ledgers: ledgers(), stats: null }), write: (s) => printed(s), stdin: tty });
    removers.push(remove);
    expect(raw).toEqual([true]);
    tty.write('x'); // other keys do nothing
    tty.write('s');
    expect(await got).toContain('users 2');

    const sigint = new Promise<void>((r) => process.once('SIGINT', () => r()));
    tty.write('\u0003');
    await sigint;

    remove();
    expect(raw).toEqual([true, false]);
    expect(tty.listenerCount('data')).toBe(0);
  });
});
