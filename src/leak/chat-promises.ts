import type { ChatPromiseSink, MissedDelivery } from '../client/delivery-tracker.js';
import type { FindingDraft } from './types.js';

/** receivers named per finding (the count is exact, the list a sample) */
const RECEIVERS_KEPT = 20;

interface Group {
  type: MissedDelivery['type'];
  serverId: number;
  textChannelId: number;
  first: MissedDelivery;
  last: MissedDelivery;
  announcements: number;
  receipts: number;
  actors: Set<number>;
  receivers: Map<string, { user?: number; userId?: number; socket: string; missed: number }>;
}

/**
 * The chat protocol's promises, judged over what the bench's users sent and received: a
 * `message` reaches every socket of its channel, a `typing` every other user's socket of it,
 * within the deadline. The delivery accounting (which knows every socket's subscription)
 * reports each miss on a socket that stayed open through the deadline; this groups them by
 * event and text channel into `missed-event` drafts, so a server that drops one kind of event
 * is one finding per channel, not one per message. A receiver the reconciliation already
 * names as a phantom socket (one the server forgot) is left to that finding.
 */
export class ChatPromises implements ChatPromiseSink {
  private readonly groups = new Map<string, Group>();
  readonly counts = { expectations: 0, missed: 0 };

  expected(_type: MissedDelivery['type'], receivers: number): void {
    this.counts.expectations += receivers;
  }

  missed(m: MissedDelivery): void {
    this.counts.missed += m.receivers.length;
    const key = `${m.type}:${m.serverId}:${m.textChannelId}`;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { type: m.type, serverId: m.serverId, textChannelId: m.textChannelId, first: m, last: m, announcements: 0, receipts: 0, actors: new Set(), receivers: new Map() }));
    g.last = m;
    g.announcements++;
    g.receipts += m.receivers.length;
    if (m.from) g.actors.add(m.from.user);
    for (const r of m.receivers) {
      const seen = g.receivers.get(r.socket);
      if (seen) seen.missed++;
      else if (g.receivers.size < RECEIVERS_KEPT) g.receivers.set(r.socket, { ...r, missed: 1 });
    }
  }

  /** The drafts of every group so far (a finding's observation grows with its group); `phantoms`: receiver sockets already named. */
  take(phantoms: ReadonlySet<string> = new Set()): FindingDraft[] {
    const drafts: FindingDraft[] = [];
    for (const g of this.groups.values()) {
      const receivers = [...g.receivers.values()].filter((r) => !phantoms.has(r.socket));
      if (receivers.length === 0 && g.receivers.size > 0 && g.receivers.size < RECEIVERS_KEPT) continue;
      const actor = g.first.from;
      const what = g.type === 'message' ? 'message' : 'typing';
      drafts.push({
        class: 'missed-event',
        message: `${g.announcements} ${what}${g.announcements === 1 ? '' : 's'} sent in text channel ${g.textChannelId} by ${g.actors.size} user(s)${actor ? ` (first: user ${actor.user}'s socket ${actor.socket})` : ''} never reached ${g.receipts} receiving socket(s) within ${g.first.withinMs} ms, though they stayed open and subscribed (${receivers.slice(0, 5).map((r) => r.socket).join(', ')}${receivers.length > 5 ? ', …' : ''})`,
        subject: { ...(actor ? { user: actor.user, userId: actor.userId, socket: actor.socket } : {}), kind: 'chat', channelId: g.textChannelId, resource: g.type },
        expected: { type: g.type, withinMs: g.first.withinMs, to: g.type === 'message' ? "every socket of the channel" : "every other user's socket of the channel" },
        observed: { announcementsMissed: g.announcements, receiptsMissed: g.receipts, receivers },
        since: g.first.at,
        details: { serverId: g.serverId, senders: g.actors.size, lastAt: g.last.at },
        ...(receivers[0]?.user !== undefined ? { evidenceOf: { user: receivers[0].user, socket: receivers[0].socket } } : {}),
      });
    }
    return drafts;
  }
}
