import { clock } from '../clock.js';
import type { FindingDraft, LeakUserView, MeshView } from './types.js';

/**
 * A voice room is a full mesh: once it has settled, every joined member with media holds a
 * connected peer to every other joined member. A pair younger than `graceMs` (both joined
 * less long ago) is not judged yet; `pendingMs` says how long until the youngest open
 * question is due, so a checkpoint can wait for it instead of guessing.
 */
export function checkMesh(users: LeakUserView[], graceMs: number, now = clock.now()): { drafts: FindingDraft[]; pendingMs: number; pairs: number } {
  const drafts: FindingDraft[] = [];
  let pendingMs = 0;
  let pairs = 0;
  const byRoom = new Map<number, Array<{ v: LeakUserView; m: MeshView }>>();
  for (const v of users) {
    for (const m of v.mesh?.() ?? []) {
      let list = byRoom.get(m.room);
      if (!list) byRoom.set(m.room, (list = []));
      list.push({ v, m });
    }
  }
  for (const [room, members] of byRoom) {
    for (const a of members) {
      const missing: Array<{ remoteUserId: number; state: string }> = [];
      for (const b of members) {
        const remote = b.v.ledger.userId;
        if (remote === null || remote === a.v.ledger.userId) continue;
        const age = now - Math.max(a.m.joinedAt, b.m.joinedAt);
        const peer = a.m.peers.find((p) => p.remoteUserId === remote);
        if (peer?.state === 'connected') {
          pairs++;
          continue;
        }
        if (age < graceMs) {
          pendingMs = Math.max(pendingMs, graceMs - age);
          continue;
        }
        missing.push({ remoteUserId: remote, state: peer?.state ?? 'no peer' });
      }
      if (!missing.length) continue;
      drafts.push({
        class: 'incomplete-mesh',
        message: `user ${a.v.ledger.index}'s voice socket ${a.m.socket} in room ${room} has no connected peer to ${missing.map((x) => `#${x.remoteUserId} (${x.state})`).join(', ')} after ${graceMs} ms`,
        subject: { user: a.v.ledger.index, userId: a.v.ledger.userId ?? undefined, username: a.v.ledger.username, kind: 'voice', roomId: room, socket: a.m.socket },
        expected: { connectedTo: members.map((b) => b.v.ledger.userId).filter((id) => id !== a.v.ledger.userId) },
        observed: { missing },
        since: a.m.joinedAt,
      });
    }
  }
  return { drafts, pendingMs, pairs };
}
