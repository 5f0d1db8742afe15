import type { Conn } from './connection-manager.js';
import { addTo, removeFrom, type Hub } from './hub.js';

const TAG = '[ConnectionManager]';

/**
 * `/ws/notifications`: one per logged-in user (more with tabs). Clients only ping on it;
 * the server pushes voice presence events (see notifyServerMembers).
 */
export function notificationsOpen(hub: Hub, conn: Conn): void {
  addTo(hub.notifications, conn.userId, conn);
  hub.log.debug(TAG, `notifications open ${conn.id} user=${conn.userId}`);
}

export function notificationsClose(hub: Hub, conn: Conn, code: number): void {
  removeFrom(hub.notifications, conn.userId, conn);
  hub.log.debug(TAG, `notifications close ${conn.id} user=${conn.userId} code=${code}`);
}
