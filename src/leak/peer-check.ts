import { clock } from '../clock.js';
import type { MediaResource } from '../client/ledger.js';
import type { FindingDraft, LeakUserView } from './types.js';
import { inRoom, label, leftRoomAt, roomOf } from './views.js';

/**
 * unclosed-peer, from the ledgers alone: a user out of voice must hold no peer, track,
 * source or sink; a user in a room must hold no peer to someone who left it more than
 * `graceMs` ago (the peer closes on user_left_voice, which takes a moment to arrive).
 */
const MEDIA: MediaResource[] = ['track', 'source', 'sink', 'transceiver'];

export function checkPeers(
  users: LeakUserView[],
  opts: {
    graceMs?: number;
    now?: number;
    /** who the server says is in each room: a peer to someone it still lists is the server's word, not a client leak */
    serverRooms?: Map<number, Set<number>>;
  } = {},
): FindingDraft[] {
  const now = opts.now ?? clock.now();
  const grace = opts.graceMs ?? 1000;
  const byUserId = new Map<number, LeakUserView>();
  for (const v of users) if (v.ledger.userId !== null) byUserId.set(v.ledger.userId, v);
  const drafts: FindingDraft[] = [];
  for (const v of users) {
    const room = roomOf(v);
    const base = { user: v.ledger.index, userId: v.ledger.userId ?? undefined, username: v.ledger.username };
    for (const p of v.ledger.openPeers()) {
      const peer = `u${v.ledger.index}->#${p.remoteUserId}`;
      if (room === null || p.roomId !== room) {
        const left = leftRoomAt(v, p.roomId);
        if (left !== undefined && now - left < grace) continue;
        drafts.push({
          class: 'unclosed-peer',
          message: `${label(v)} left voice room ${p.roomId} but its peer to #${p.remoteUserId} is still open`,
          subject: { ...base, roomId: p.roomId, peer },
          expected: 'closed',
          observed: { iceState: p.iceState, connectionState: p.connectionState },
          since: left,
          details: { peer: p },
        });
        continue;
      }
      const remote = byUserId.get(p.remoteUserId);
      if (!remote || inRoom(remote, p.roomId)) continue;
      if (opts.serverRooms?.get(p.roomId)?.has(p.remoteUserId)) continue; // stale-voice-member names that
      const left = leftRoomAt(remote, p.roomId);
      if (left === undefined || now - left < grace) continue;
      drafts.push({
        class: 'unclosed-peer',
        message: `${label(v)} still holds a peer to ${label(remote)}, who left voice room ${p.roomId} ${((now - left) / 1000).toFixed(1)} s ago`,
        subject: { ...base, roomId: p.roomId, peer },
        expected: 'closed after user_left_voice',
        observed: { iceState: p.iceState, connectionState: p.connectionState },
        since: left,
        details: { peer: p, remoteVoiceSockets: [...remote.ledger.sockets.values()].filter((s) => s.kind === 'voice') },
      });
    }
    if (room !== null) continue;
    for (const r of MEDIA) {
      const { created, released } = v.ledger.resources[r];
      if (created <= released) continue;
      drafts.push({
        class: 'unclosed-peer',
        message: `${label(v)} is out of voice but holds ${created - released} ${r}(s) it never released (${created} created, ${released} released)`,
        subject: { ...base, resource: r },
        expected: { open: 0 },
        observed: { open: created - released, created, released },
        details: { resources: v.ledger.resources },
      });
    }
  }
  return drafts;
}
