import { clock } from '../clock.js';
import { WireSocket } from '../client/wire-socket.js';
import { ROUTES, type SocketKind } from '../protocol/messages.js';

/**
 * One socket opened to learn whether the server takes it, apart from the simulated users'
 * sessions (no reconnect, no ledger): the limits and ramp phases open these on purpose past a
 * limit. A socket counts as accepted once the upgrade succeeded and a protocol ping came back
 * before any close: a server that accepts and then closes at once (4008, 1013, 4005) closes
 * before that pong, on the same stream.
 */
export type ProbeOutcome = 'accepted' | 'refused' | 'timed-out' | 'error';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** HTTP status of a refused upgrade */
  status?: number;
  /** close code of a socket closed before it was accepted */
  code?: number;
  reason?: string;
  /** from the start of the attempt to its outcome */
  ms: number;
}

export interface Probe {
  readonly kind: SocketKind;
  readonly result: Promise<ProbeResult>;
  /** resolves with the close code once the socket is closed (by us or by the server) */
  readonly closed: Promise<number>;
  /** sends a protocol ping and resolves with its round trip (ms), or null if the socket closed or `timeoutMs` ran out */
  ping(timeoutMs: number): Promise<number | null>;
  /** closes (or aborts the attempt) and waits for the close; idempotent */
  close(): Promise<void>;
}

export interface ProbeTarget {
  wsUrl: string;
  token: string;
  kind: SocketKind;
  /** chat: the server id; voice: the voice channel id */
  channelId?: number;
}

export function probePath(t: ProbeTarget): string {
  const path = t.kind === 'notifications' ? ROUTES.wsNotifications : t.kind === 'chat' ? ROUTES.wsChat(t.channelId!) : ROUTES.wsVoice(t.channelId!);
  return `${t.wsUrl}${path}?token=${encodeURIComponent(t.token)}`;
}

/** Opens one probe socket; `timeoutMs` bounds the upgrade and the first pong together. */
export function openProbe(t: ProbeTarget, o: { timeoutMs?: number } = {}): Probe {
  const start = clock.now();
  const timeoutMs = o.timeoutMs ?? 60_000;
  let settle!: (r: ProbeResult) => void;
  let closedWith!: (code: number) => void;
  let done = false;
  const result = new Promise<ProbeResult>((r) => (settle = (x) => (done ? undefined : ((done = true), r(x)))));
  const closed = new Promise<number>((r) => (closedWith = r));
  const pongs: Array<() => void> = [];
  const timer = clock.setTimeout(() => {
    settle({ outcome: 'timed-out', ms: clock.now() - start });
    ws.terminate();
  }, timeoutMs);
  const ws: WireSocket = new WireSocket(probePath(t), {
    open: () => ws.ping(),
    refused: (status, _text, body) => settle({ outcome: 'refused', status, reason: body.slice(0, 200), ms: clock.now() - start }),
    message: () => {},
    pong: () => {
      if (!done) {
        clock.clearTimeout(timer);
        settle({ outcome: 'accepted', ms: clock.now() - start });
      }
      pongs.shift()?.();
    },
    error: () => {},
    close: (code, reason) => {
      clock.clearTimeout(timer);
      settle(code === 1006 ? { outcome: 'error', code, reason, ms: clock.now() - start } : { outcome: 'refused', code, reason, ms: clock.now() - start });
      for (const p of pongs.splice(0)) p();
      closedWith(code);
    },
  }, { handshakeTimeoutMs: timeoutMs + 1000 });
  return {
    kind: t.kind,
    result,
    closed,
    async ping(ms) {
      if (ws.readyState !== 1) return null;
      const at = clock.now();
      let timedOut = false;
      let t0: ReturnType<typeof clock.setTimeout> | undefined;
      await new Promise<void>((r) => {
        pongs.push(r);
        t0 = clock.setTimeout(() => ((timedOut = true), r()), ms);
        ws.ping();
      });
      clock.clearTimeout(t0!);
      return timedOut || ws.readyState !== 1 ? null : clock.now() - at;
    },
    async close() {
      clock.clearTimeout(timer);
      ws.close(1000, '');
      await closed;
    },
  };
}
