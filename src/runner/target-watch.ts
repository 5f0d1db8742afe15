import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { clock } from '../clock.js';
import { MbError } from '../errors.js';

export interface TargetWatchOptions {
  httpUrl: string;
  /** the run's signal: the watch stops with it */
  signal: AbortSignal;
  /** called once, when the target is gone (dead, stalled, or back after a restart) */
  onLost(err: MbError): void;
  /** how often GET /health is asked (default 250 ms: a restart must not fall between two probes) */
  intervalMs?: number;
  /** no answer for this long means the target stalled (default 15 s) */
  stallMs?: number;
}

/** Errors that mean nothing answers at that address (or the connection died under the request). */
const NETWORK_DOWN = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export interface TargetWatchState {
  probes: number;
  failures: number;
  /** why the watch stopped judging (a probe error that says nothing about liveness, e.g. TLS) */
  disabled: string | null;
}

/**
 * Watches a target's liveness while a run goes, from outside the users: `GET /health` four
 * times a second on a connection of its own (any HTTP answer, whatever its status, means the process
 * answers). Three ways a run loses its target, each reported once through onLost as
 * MB_ERR_TARGET_UNREACHABLE:
 * - dead: two probes in a row find nothing listening (refused, reset);
 * - stalled: no answer at all for stallMs (a frozen process still accepts TCP, so only an
 *   answer counts);
 * - restarted: a probe found it down and a later one found it up again. Whatever the users
 *   held before is gone, so the run's counts no longer mean what they say.
 */
export interface TargetWatch {
  state: TargetWatchState;
  /** one last probe before the report: the target lost after the last phase, or null */
  confirm(): Promise<MbError | null>;
  close(): void;
}

export function watchTarget(o: TargetWatchOptions): TargetWatch {
  const interval = o.intervalMs ?? 250;
  const stallMs = o.stallMs ?? 15_000;
  const url = new URL('/health', o.httpUrl);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const state: TargetWatchState = { probes: 0, failures: 0, disabled: null };
  let lastAnswer = clock.now();
  let downSince: number | null = null;
  let downWhy = '';
  let downCount = 0;
  let inFlight: ClientRequest | null = null;
  let done = false;
  let lost: MbError | null = null;
  let settleConfirm: (() => void) | null = null;

  const lose = (message: string) => {
    if (done) return;
    lost = new MbError('MB_ERR_TARGET_UNREACHABLE', message, { url: o.httpUrl });
    close();
    o.onLost(lost);
  };
  const probe = () => {
    state.probes++;
    const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close' } });
    inFlight = req;
    req.on('response', (res) => {
      res.resume();
      inFlight = null;
      lastAnswer = clock.now();
      settleConfirm?.();
      if (downSince !== null) {
        lose(`the target restarted mid-run: GET /health failed (${downWhy}) and then answered again ${Math.round(lastAnswer - downSince)} ms later; what the users held before is gone`);
        return;
      }
      downCount = 0;
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      inFlight = null;
      settleConfirm?.();
      if (done) return;
      state.failures++;
      const code = err.code ?? '';
      if (!NETWORK_DOWN.has(code)) {
        // a TLS or protocol error says nothing about whether the target lives: stop judging
        state.disabled = `GET ${url.href} failed with ${code || err.message}: the target's liveness is not watched`;
        close();
        return;
      }
      downSince ??= clock.now();
      downWhy = code;
      if (++downCount >= 2) lose(`the target went away mid-run: GET /health failed with ${code} ${downCount} times in a row`);
    });
    req.end();
  };
  const tick = clock.setInterval(() => {
    if (done) return;
    if (clock.now() - lastAnswer > stallMs) {
      lose(`the target stopped answering: no answer to GET /health for ${Math.round((clock.now() - lastAnswer) / 1000)} s`);
      return;
    }
    if (!inFlight) probe();
  }, interval);
  const confirm = async (): Promise<MbError | null> => {
    if (done) return lost;
    // the first probe after now: wait for the one in flight, then ask once more
    for (let round = 0; round < 2 && !done; round++) {
      const answered = new Promise<void>((resolve) => (settleConfirm = resolve));
      if (!inFlight) probe();
      const timer = clock.setTimeout(() => settleConfirm?.(), Math.min(stallMs, 5000));
      await answered;
      settleConfirm = null;
      clock.clearTimeout(timer);
      if (downCount > 0 && !done) lose(`the target went away before the run ended: GET /health failed with ${downWhy}`);
    }
    if (!done && clock.now() - lastAnswer > Math.min(stallMs, 5000)) lose(`the target stopped answering before the run ended: no answer to GET /health for ${Math.round((clock.now() - lastAnswer) / 1000)} s`);
    return lost;
  };
  const close = () => {
    if (done) return;
    done = true;
    settleConfirm?.();
    clock.clearInterval(tick);
    o.signal.removeEventListener('abort', close);
    inFlight?.destroy();
    inFlight = null;
  };
  o.signal.addEventListener('abort', close, { once: true });
  if (o.signal.aborted) close();
  return { close, confirm, state };
}
