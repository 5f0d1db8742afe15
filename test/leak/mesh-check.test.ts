import { describe, expect, it } from 'vitest';
import { checkMesh } from '../../src/leak/mesh-check.js';
import type { LeakUserView, MeshView } from '../../src/leak/types.js';
import { user } from './fixtures.js';

/** A user in `room` since `joinedAt`, holding peers to the given remote ids in the given states. */
function member(index: number, room: number, joinedAt: number, peers: Record<number, string>): LeakUserView {
  const v = user(index);
  const view: MeshView = { socket: `u${index}-voice-1`, room, joinedAt, peers: Object.entries(peers).map(([id, state]) => ({ remoteUserId: Number(id), state })) };
  return { ...v, mesh: () => [view] };
}

describe('checkMesh', () => {
  it('a settled full mesh: every pair counted from both sides, no finding, nothing pending', () => {
    const users = [member(0, 7, 0, { 101: 'connected', 102: 'connected' }), member(1, 7, 0, { 100: 'connected', 102: 'connected' }), member(2, 7, 0, { 100: 'connected', 101: 'connected' })];
    expect(checkMesh(users, 1000, 10_000)).toEqual({ drafts: [], pendingMs: 0, pairs: 6 });
  });

  it('names the member whose peer is missing or not connected past the grace, with the states it saw', () => {
    const users = [member(0, 7, 0, { 101: 'connected', 102: 'failed' }), member(1, 7, 0, { 100: 'connected' }), member(2, 7, 0, { 100: 'failed' })];
    const r = checkMesh(users, 1000, 5000);
    expect(r.pairs).toBe(2);
    expect(r.drafts.map((d) => d.subject.user)).toEqual([0, 1, 2]);
    const [a, b] = r.drafts;
    expect(a).toMatchObject({ class: 'incomplete-mesh', subject: { user: 0, userId: 100, kind: 'voice', roomId: 7, socket: 'u0-voice-1' }, observed: { missing: [{ remoteUserId: 102, state: 'failed' }] }, since: 0 });
    expect(a!.expected).toEqual({ connectedTo: [101, 102] });
    expect(b!.observed).toEqual({ missing: [{ remoteUserId: 102, state: 'no peer' }] });
    expect(a!.message).toMatch(/user 0's voice socket u0-voice-1 in room 7 has no connected peer to #102 \(failed\) after 1000 ms/);
  });

  it('does not judge a pair younger than the grace: pendingMs says when the youngest is due', () => {
    // user 1 joined at 4500: its pairs are 500 ms old at 5000, due in 500 ms
    const users = [member(0, 7, 0, {}), member(1, 7, 4500, {})];
    expect(checkMesh(users, 1000, 5000)).toEqual({ drafts: [], pendingMs: 500, pairs: 0 });
    expect(checkMesh(users, 1000, 5600).drafts).toHaveLength(2);
  });

  it('judges each room on its own and skips users without a user id or without media', () => {
    const users = [member(0, 7, 0, {}), member(1, 8, 0, {}), { ...user(2), mesh: undefined }];
    const anonymous = member(3, 7, 0, {});
    anonymous.ledger.userId = null;
    // user 0 is not asked for a peer to the anonymous user; the anonymous one is asked for its peer to user 0
    expect(checkMesh([...users, anonymous], 1000, 5000).drafts.map((d) => d.subject.user)).toEqual([3]);
  });
});
