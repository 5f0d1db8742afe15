import type { Conn } from './connection-manager.js';
import { addTo, removeFrom, type Hub } from './hub.js';
import { checkFields, encode, fail, send, sendText, type Frame } from './frames.js';

const TAG = '[WS_CHAT]';
export const MAX_CONTENT_CHARS = 4000;

/**
 * `/ws/chat/{serverId}`: a chat socket receives every text channel of its server until an
 * in-band `switch_channel`, then only that channel. Messages go to every subscribed socket,
 * the sender's included; typing goes to the others.
 */
export function chatOpen(hub: Hub, conn: Conn): void {
  addTo(hub.chat, conn.channelId!, conn);
  hub.log.debug(TAG, `open ${conn.id} user=${conn.userId} server=${conn.channelId}`);
}

export function chatClose(hub: Hub, conn: Conn, code: number): void {
  removeFrom(hub.chat, conn.channelId!, conn);
  hub.log.debug(TAG, `close ${conn.id} user=${conn.userId} server=${conn.channelId} code=${code}`);
}

/** Returns false for an unknown type (the gateway answers with an error frame). */
export function chatMessage(hub: Hub, conn: Conn, m: Frame): boolean {
  switch (m.type) {
    case 'message': {
      const bad = checkFields(m, { content: 'string', text_channel_id: 'id' }) ?? channelError(hub, conn, m.text_channel_id as number);
      if (bad) return fail(conn, bad);
      const content = m.content as string;
      if (content.length === 0 || content.length > MAX_CONTENT_CHARS) {
        return fail(conn, `message: content must be 1 to ${MAX_CONTENT_CHARS} characters`);
      }
      const tc = m.text_channel_id as number;
      const stored = hub.store.addMessage(conn.userId, tc, content);
      const payload = {
        id: stored.id,
        content,
        author: { id: conn.userId, username: conn.username },
        timestamp: stored.timestamp,
        text_channel_id: tc,
      };
      const out = encode(hub.opts.messageFormat === 'new_message' ? { type: 'new_message', data: payload } : { type: 'message', ...payload });
      const n = deliver(hub, conn, tc, out, true);
      if (hub.log.enabled('debug')) hub.log.debug(TAG, `message ${stored.id} from ${conn.id} channel=${tc} to ${n} sockets`);
      return true;
    }
    case 'typing': {
      const bad = checkFields(m, { text_channel_id: 'id' }) ?? channelError(hub, conn, m.text_channel_id as number);
      if (bad) return fail(conn, bad);
      const tc = m.text_channel_id as number;
      // drop-announcement fault: typing is never announced
      if (hub.opts.faults.has('drop-announcement') && hub.opts.faultEvent === 'typing') return true;
      deliver(hub, conn, tc, encode({ type: 'typing', user: { id: conn.userId, username: conn.username }, text_channel_id: tc }), false);
      return true;
    }
    case 'switch_channel': {
      // a plain Miscord has no in-band switch: an unknown type
      if (hub.opts.compat === 'v1') return false;
      const bad = checkFields(m, { text_channel_id: 'id' }) ?? channelError(hub, conn, m.text_channel_id as number);
      if (bad) return fail(conn, bad);
      conn.textChannelId = m.text_channel_id as number;
      send(conn.ws, { type: 'channel_switched', text_channel_id: conn.textChannelId });
      hub.log.debug(TAG, `switch ${conn.id} user=${conn.userId} channel=${conn.textChannelId}`);
      return true;
    }
    default:
      return false;
  }
}

function channelError(hub: Hub, conn: Conn, tc: number): string | null {
  const c = hub.store.textChannels.get(tc);
  return c && c.serverId === conn.channelId ? null : `unknown text channel ${tc} in server ${conn.channelId}`;
}

function deliver(hub: Hub, from: Conn, tc: number, text: Buffer, includeSender: boolean): number {
  let n = 0;
  for (const c of hub.chat.get(from.channelId!) ?? []) {
    if (c === from && !includeSender) continue;
    if (c.textChannelId !== null && c.textChannelId !== tc) continue;
    sendText(c.ws, text);
    n++;
  }
  hub.delivered.chat += n;
  return n;
}
