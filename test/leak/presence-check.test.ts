import { describe, expect, it } from 'vitest';
import { clock } from '../../src/clock.js';
import { checkPresence, goneSince, type FetchServerMembers } from '../../src/leak/presence-check.js';
import { close, open, user } from './fixtures.js';

/** A members route that shows these users online or not, and counts its reads. */
function members(online: Record<number, boolean | undefined>) {
  const calls: number[] = [];
  const fetch: FetchServerMembers = async (serverId) => {
    calls.push(serverId);
    return Object.entries(online).map(([id, is_online]) => ({ id: Number(id), is_online }));
  };
  return { fetch, calls };
}

describe('goneSince', () => {
  it('is null while a socket is held, the last close otherwise, silent for a crash or a freeze', () => {
    const v = user(0);
    const a = open(v, 'chat', 1);
    const b = open(v, 'notifications', null);
    expect(goneSince(v)).toBeNull();
    close(v, a, 300);
    expect(goneSince(v)).toBeNull();
    close(v, b, 100);
    expect(goneSince(v)).toEqual({ at: b.closedAt, silent: false });
    const w = user(1);
    const f = open(w, 'chat', 1, { frozen: true, frozenAt: clock.now() - 50 });
    expect(goneSince(w)).toEqual({ at: f.frozenAt, silent: true });
    expect(goneSince(user(2))).toBeNull();
  });
});

describe('checkPresence', () => {
  const base = { serverIds: [1], token: 't', graceMs: 1000, reapWindowMs: 5000 };

  it('a user gone past its window but still online is a stale-presence; offline or still holding is not', async () => {
    const gone = user(0);
    close(gone, open(gone, 'chat', 1), 2000);
    const offline = user(1);
    close(offline, open(offline, 'chat', 1), 2000);
    const holding = user(2);
    open(holding, 'chat', 1);
    const m = members({ 100: true, 101: false, 102: true });
    const r = await checkPresence({ ...base, users: [gone, offline, holding], fetch: m.fetch });
    expect(r.checked).toBe(2);
    expect(r.drafts).toHaveLength(1);
    expect(r.drafts[0]).toMatchObject({ class: 'stale-presence', subject: { user: 0, userId: 100 }, expected: { is_online: false, withinMs: 1000 }, observed: { is_online: true } });
    expect(r.drafts[0]!.message).toMatch(/user 0 \(#100\) holds no open socket since \d+ ms \(closed\), but the server still shows it online \(window 1000 ms\)/);
  });

  it('a crashed user gets the reap window, and is not judged when that window is unknown', async () => {
    const v = user(0);
    close(v, open(v, 'chat', 1, { crashed: true }), 2000);
    const m = members({ 100: true });
    expect((await checkPresence({ ...base, users: [v], fetch: m.fetch })).drafts).toEqual([]);
    const unknown = await checkPresence({ ...base, reapWindowMs: null, users: [v], fetch: m.fetch });
    expect(unknown.drafts).toEqual([]);
    expect(unknown.notes.join()).toMatch(/not judged for 1 crashed or frozen user\(s\)/);
  });

  it('reads again while a user is within its window and shown online, until it goes offline', async () => {
    const v = user(0);
    close(v, open(v, 'chat', 1), 0);
    let reads = 0;
    const fetch: FetchServerMembers = async () => [{ id: 100, is_online: ++reads < 3 }];
    const r = await checkPresence({ ...base, graceMs: 2000, users: [v], fetch, waitMs: 5000 });
    expect(reads).toBe(3);
    expect(r).toMatchObject({ drafts: [], checked: 1 });
  });

  it('says why it could not check: no token, no is_online field, a failing route', async () => {
    const v = user(0);
    expect((await checkPresence({ ...base, token: null, users: [v], fetch: members({}).fetch })).notes).toEqual(['stale-presence not checked: no server or token to read members with']);
    expect((await checkPresence({ ...base, users: [v], fetch: members({ 100: undefined }).fetch })).notes).toEqual(['stale-presence not checked: the target shows no is_online in its members route']);
    const failing: FetchServerMembers = async () => {
      throw new Error('403 Forbidden');
    };
    expect((await checkPresence({ ...base, users: [v], fetch: failing })).notes).toEqual(['stale-presence not checked on server 1: 403 Forbidden']);
  });
});
