/**
 * The fault catalogue: named bugs the reference server can reproduce on purpose, so the
 * leak detector can be proven on them. One table, read by the server and by `serve --help`.
 * Each fault is off by default and lives in one small code path (grep its name).
 */
export const FAULTS = [
  {
    name: 'zombie-socket',
    description: 'a closed socket stays registered (never removed from the connection registry)',
  },
  {
    name: 'voice-ghost',
    description: 'a voice member whose socket dies without a close frame (1006, reaped) stays in its room',
  },
  {
    name: 'slow-deregister',
    description: 'removal from the registry lags by --fault-delay-ms (default 1500) after a socket closes',
  },
  {
    name: 'slot-overwrite',
    description: "Miscord's bug: registry keyed by (user, kind, channel); a second socket replaces the first, closing either removes the entry",
  },
  {
    name: 'heap-leak',
    description: 'every socket opened retains about 4 KB of heap that is never freed (a few hundred KB per soak cycle)',
  },
  {
    name: 'slow-consumer-unbounded',
    description: 'no send-queue bound (a socket that never reads grows the heap without limit), and any pong, unsolicited ones included, keeps a socket alive',
  },
  {
    name: 'voice-slot-overwrite',
    description: "Miscord's room map keyed by user id: a user's second voice socket in a room replaces the first; closing either forgets the user",
  },
  {
    name: 'drop-announcement',
    description: 'one kind of announced event (--fault-event, default user_muted: a voice event, typing, or a notifications voice_channel_join/leave) is never announced to the others',
  },
  {
    name: 'duplicate-member',
    description: "a user's every socket in a voice room is its own member: two tabs (or a rejoin before the old socket closed) are listed twice in the members route and in participants",
  },
  {
    name: 'crash-kept',
    description: 'a socket that dies without a close frame (1006, not server-terminated) is never deregistered nor reaped: registry entry, room membership and presence stay',
  },
  {
    name: 'stale-presence',
    description: 'is_online stays true after the last socket of a user closed',
  },
  {
    name: 'spurious-leave',
    description: "a user who rejoins a voice room within --fault-delay-ms (default 1500) of leaving it gets its old user_left_voice announced again to the whole room, itself included, right after the rejoin",
  },
  {
    name: 'per-user-off-by-one',
    description: 'the per-user socket limit admits max_per_user + 1 sockets',
  },
  {
    name: 'room-counts-sockets',
    description: "a voice room's max_users counts sockets, not distinct users (a second tab takes a seat)",
  },
  {
    name: 'pooled-resource',
    description: 'each open notifications socket pins one of --fault-pool-size (15) pooled connections; exhausted, upgrades stall --fault-pool-stall-ms then get 403, REST routes stall then answer 500',
  },
] as const;

export type FaultName = (typeof FAULTS)[number]['name'];
export const FAULT_NAMES: readonly FaultName[] = FAULTS.map((f) => f.name);

export function isFaultName(s: string): s is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(s);
}

/** One line per fault, for --help. */
export function faultsHelp(indent = '  '): string {
  const w = Math.max(...FAULTS.map((f) => f.name.length));
  return FAULTS.map((f) => `${indent}${f.name.padEnd(w)}  ${f.description}`).join('\n');
}

/** The events the server announces to the others (a voice room's, a channel's, a server's members); drop-announcement drops one. */
export const ANNOUNCED_EVENTS = [
  'user_joined_voice',
  'user_left_voice',
  'user_muted',
  'user_deafened',
  'user_speaking',
  'screen_share_started',
  'screen_share_stopped',
  'typing',
  'voice_channel_join',
  'voice_channel_leave',
] as const;
export type AnnouncedEvent = (typeof ANNOUNCED_EVENTS)[number];

export function isAnnouncedEvent(s: string): s is AnnouncedEvent {
  return (ANNOUNCED_EVENTS as readonly string[]).includes(s);
}
