import { SOCKET_KINDS, type SocketKind } from '../protocol/messages.js';

/**
 * Compatibility modes of the reference server: the same backend made to look like a
 * plain Miscord (`v1`), so the bench can be proven against a deployment without [ext].
 *
 * In `v1` mode:
 * - `GET /api/debug/websocket-stats` answers the v1 fields only, counted as Miscord counts
 *   (notifications and chat sockets; chat filed under the type `voice`; voice signaling
 *   sockets not counted);
 * - refusals (bad token, unknown or full voice channel, not a member, a limit) are an HTTP
 *   403 on the upgrade, before the socket is accepted;
 * - `switch_channel` is an unknown type (`{type: "error"}`): the client must reconnect;
 * - chat messages go out as `{type: "new_message", data}` unless messageFormat says otherwise;
 * - no protocol-level ping frames and no reaping; only the app-level `{type: "ping"}` after
 *   `heartbeatMs` of silence on a notifications socket.
 * Faults keep working (they live in the registry the v1 stats are computed from).
 *
 * Independently of the mode, `refuse` lists endpoints answering 403 to every upgrade: a
 * deployment lacking them.
 */
export const COMPAT_MODES = ['v1'] as const;
export type CompatMode = (typeof COMPAT_MODES)[number];

export function isCompatMode(s: unknown): s is CompatMode {
  return (COMPAT_MODES as readonly unknown[]).includes(s);
}

export function isSocketKind(s: unknown): s is SocketKind {
  return (SOCKET_KINDS as readonly unknown[]).includes(s);
}

