import type { UserLedger, SocketState } from '../client/ledger.js';
import { fetchStats, type SocketCounts, type StatsReading } from '../client/stats-client.js';
import type { SocketKind } from '../protocol/messages.js';
import { isatty } from 'node:tty';
import { clock } from '../clock.js';

/**
 * The live state of a run on demand (SIGUSR2, or `s` on a TTY): what Miscord's front end
 * exposed as getConnectionState(), for every simulated user, with the run's totals as the
 * client sees them beside what the server says.
 */
export interface LiveSocket {
  id: string;
  kind: SocketKind;
  channelId: number | null;
  textChannelId?: number | null;
  state: SocketState;
  frozen: boolean;
  abandoned: boolean;
  /** ms since it opened (or started opening) */
  ageMs: number;
}

export interface LivePeer {
  remoteUserId: number;
  roomId: number;
  iceState: string | null;
  connectionState: string | null;
}

export interface LiveUser {
  index: number;
  userId: number | null;
  username: string;
  sockets: LiveSocket[];
  peers: LivePeer[];
  /** media resources held now (created minus released) */
  tracks: number;
  sources: number;
  sinks: number;
  reconnectAttempts: number;
  lastError: string | null;
  /** sockets the server holds for this user ([ext] stats only) */
  serverSockets: number | null;
}

export interface LiveView {
  phase?: string;
  elapsedMs?: number;
  users: LiveUser[];
  totals: {
    client: SocketCounts & { peers: number };
    /** null when the server's stats could not be read */
    server: SocketCounts | null;
    /** the server's stats carry per-socket [ext] data */
    serverExt: boolean;
  };
}

const LIVE_STATES: ReadonlySet<SocketState> = new Set(['connecting', 'open', 'closing']);

/** Builds the view from the users' ledgers and the latest server stats (null if unreadable). */
export function buildLiveView(input: { ledgers: Iterable<UserLedger>; stats: StatsReading | null; phase?: string; elapsedMs?: number; now?: number }): LiveView {
  const now = input.now ?? clock.now();
  const serverByUser = new Map<number, number>();
  if (input.stats?.ext) for (const c of input.stats.stats.connections ?? []) serverByUser.set(c.user_id, (serverByUser.get(c.user_id) ?? 0) + 1);
  const client = { total: 0, chat: 0, voice: 0, notifications: 0, peers: 0 };
  const users: LiveUser[] = [];
  for (const l of input.ledgers) {
    const sockets: LiveSocket[] = [];
    for (const s of l.sockets.values()) {
      if (!LIVE_STATES.has(s.state)) continue;
      sockets.push({
        id: s.id,
        kind: s.kind,
        channelId: s.channelId,
        textChannelId: s.textChannelId,
        state: s.state,
        frozen: !!s.frozen,
        abandoned: !!s.abandoned,
        ageMs: Math.max(0, now - (s.openedAt ?? s.openingAt)),
      });
      if (s.state === 'open') {
        client.total++;
        client[s.kind]++;
      }
    }
    const peers = l.openPeers().map((p) => ({ remoteUserId: p.remoteUserId, roomId: p.roomId, iceState: p.iceState ?? null, connectionState: p.connectionState ?? null }));
    client.peers += peers.length;
    const held = (r: 'track' | 'source' | 'sink') => l.resources[r].created - l.resources[r].released;
    users.push({
      index: l.index,
      userId: l.userId,
      username: l.username,
      sockets,
      peers,
      tracks: held('track'),
      sources: held('source'),
      sinks: held('sink'),
      reconnectAttempts: l.reconnectAttempts,
      lastError: l.lastError,
      serverSockets: input.stats?.ext && l.userId !== null ? (serverByUser.get(l.userId) ?? 0) : null,
    });
  }
  users.sort((a, b) => a.index - b.index);
  return {
    phase: input.phase,
    elapsedMs: input.elapsedMs,
    users,
    totals: { client, server: input.stats?.counts ?? null, serverExt: !!input.stats?.ext },
  };
}

/**
 * The `getView` of a run: the users' ledgers now, and the server's stats read on demand
 * (a server that does not answer within `statsTimeoutMs` shows as n/a, never blocks).
 */
export function liveViewSource(src: {
  ledgers: () => Iterable<UserLedger>;
  httpUrl: string | null;
  phase?: () => string;
  /** clock.now() when the run started */
  startedAt?: number;
  statsTimeoutMs?: number;
  signal?: AbortSignal;
}): () => Promise<LiveView> {
  return async () => {
    const stats = src.httpUrl ? await fetchStats(src.httpUrl, { timeoutMs: src.statsTimeoutMs ?? 2000, signal: src.signal }).catch(() => null) : null;
    return buildLiveView({ ledgers: src.ledgers(), stats, phase: src.phase?.(), elapsedMs: src.startedAt === undefined ? undefined : clock.now() - src.startedAt });
  };
}

function openCount(u: LiveUser): number {
  return u.sockets.filter((s) => s.state === 'open').length;
}

/** A user whose view deserves a look: client and server disagree, or a socket is frozen, abandoned or stuck closing. */
function isNotable(u: LiveUser): boolean {
  return (u.serverSockets !== null && u.serverSockets !== openCount(u)) || u.sockets.some((s) => s.frozen || s.abandoned || s.state === 'closing');
}

function formatUser(u: LiveUser): string[] {
  const mismatch = u.serverSockets !== null && u.serverSockets !== openCount(u);
  const server = u.serverSockets === null ? '' : ` (server ${u.serverSockets}${mismatch ? ' !' : ''})`;
  const media = u.tracks || u.sources || u.sinks ? `  tracks ${u.tracks} sources ${u.sources} sinks ${u.sinks}` : '';
  const extra = `${u.reconnectAttempts ? `  reconnects ${u.reconnectAttempts}` : ''}${u.lastError ? `  last error: ${u.lastError}` : ''}`;
  const lines = [`  u${u.index} #${u.userId ?? '?'} ${u.username}  sockets ${openCount(u)}${server}  peers ${u.peers.length}${media}${extra}`];
  for (const s of u.sockets) {
    const channel = s.channelId === null ? '-' : `${s.channelId}${s.textChannelId != null ? `/${s.textChannelId}` : ''}`;
    const flags = `${s.frozen ? ' frozen' : ''}${s.abandoned ? ' abandoned' : ''}`;
    lines.push(`    ${s.id.padEnd(22)} ${s.kind.padEnd(13)} ch ${channel.padEnd(7)} ${s.state}${flags}  ${(s.ageMs / 1000).toFixed(1)}s`);
  }
  for (const p of u.peers) lines.push(`    peer -> #${p.remoteUserId} room ${p.roomId}  ice ${p.iceState ?? '?'}  conn ${p.connectionState ?? '?'}`);
  return lines;
}

/**
 * The view as text for a person. With many users only the first `maxUsers` are listed,
 * notable ones (client and server disagree, frozen, abandoned, stuck closing) first.
 */
export function formatLiveState(view: LiveView, opts: { maxUsers?: number } = {}): string {
  const maxUsers = opts.maxUsers ?? 100;
  const head = ['miscord-bench live state'];
  if (view.phase) head.push(`phase ${view.phase}`);
  if (view.elapsedMs !== undefined) head.push(`elapsed ${(view.elapsedMs / 1000).toFixed(1)}s`);
  head.push(`users ${view.users.length}`);
  const out = [head.join('  ')];
  const { client, server, serverExt } = view.totals;
  out.push(`  ${'sockets'.padEnd(15)} ${'client'.padStart(7)} ${'server'.padStart(7)}${server && !serverExt ? '  (v1 counts: voice sockets not counted by a plain Miscord)' : ''}`);
  for (const k of ['total', 'chat', 'voice', 'notifications'] as const) {
    const s = server ? String(server[k]) : 'n/a';
    const flag = server && server[k] !== client[k] ? ' !' : '';
    out.push(`  ${k.padEnd(15)} ${String(client[k]).padStart(7)} ${s.padStart(7)}${flag}`);
  }
  out.push(`  ${'peers'.padEnd(15)} ${String(client.peers).padStart(7)}`);
  const notable = view.users.filter(isNotable);
  const rest = view.users.filter((u) => !isNotable(u));
  const shown = [...notable, ...rest].slice(0, maxUsers);
  for (const u of shown) out.push(...formatUser(u));
  if (view.users.length > shown.length) out.push(`  … ${view.users.length - shown.length} more users not shown`);
  return out.join('\n') + '\n';
}

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
