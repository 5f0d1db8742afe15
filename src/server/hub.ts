import type { Logger } from '../log.js';
import type { ConnectionManager, Conn } from './connection-manager.js';
import type { ResolvedOptions } from './options.js';
import type { Store } from './store.js';
import type { VoiceRooms } from './voice-rooms.js';
import type { RawAnswers } from './http-io.js';
import type { FaultPool } from './fault-pool.js';
import { encode, sendText } from './frames.js';

/** What every socket handler shares: state, registry and the delivery sets. */
export interface Hub {
  opts: ResolvedOptions;
  log: Logger;
  store: Store;
  cm: ConnectionManager;
  voice: VoiceRooms;
  /** chat sockets by server id (delivery, independent of the registry) */
  chat: Map<number, Set<Conn>>;
  /** notifications sockets by user id */
  notifications: Map<number, Set<Conn>>;
  /** relays and deliveries since start, for /metrics */
  delivered: { chat: number; voice: number; notifications: number };
  /** raw HTTP answers (refused upgrades, unparsable or timed-out requests), fully closed */
  raw: RawAnswers;
  /** the pooled-resource fault's pool; null without that fault */
  pool: FaultPool | null;
}

export function addTo<K>(map: Map<K, Set<Conn>>, key: K, conn: Conn): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(conn);
}

export function removeFrom<K>(map: Map<K, Set<Conn>>, key: K, conn: Conn): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(conn);
  if (set.size === 0) map.delete(key);
}

/**
 * Sends a global event to every notifications socket of the members of `serverId` (Miscord
 * broadcasts voice presence to everyone who can see the server, the actor included).
 */
export function notifyServerMembers(hub: Hub, serverId: number, msg: { type: string; [k: string]: unknown }): void {
  const server = hub.store.servers.get(serverId);
  if (!server) return;
  // drop-announcement fault: this kind of event is never announced
  if (hub.opts.faults.has('drop-announcement') && msg.type === hub.opts.faultEvent) return;
  const text = encode(msg);
  for (const userId of server.members) {
    const socks = hub.notifications.get(userId);
    if (!socks) continue;
    for (const c of socks) {
      sendText(c.ws, text);
      hub.delivered.notifications++;
    }
  }
}
