import type { LiveUser, LiveView } from '../runner/live-state.js';

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
