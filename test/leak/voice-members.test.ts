import { createServer } from 'node:http';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getAsUser, httpFetchMembers, memberIdsOf, reconcileMembers, roomsOf } from '../../src/leak/voice-members.js';
import { close, open, user } from './fixtures.js';

describe('memberIdsOf', () => {
  it('reads ids from a list of ids, of users, of {user_id} or {user: {id}}, or from {members: [...]}; ignores the rest', () => {
    expect(memberIdsOf([1, { id: 2 }, { user_id: 3, id: 99 }, { user: { id: 4 } }, { name: 'x' }, null, 'y'])).toEqual([1, 2, 3, 4]);
    expect(memberIdsOf({ members: [{ id: 5 }] })).toEqual([5]);
    expect(memberIdsOf({ detail: 'nope' })).toEqual([]);
    expect(memberIdsOf(null)).toEqual([]);
  });
});

describe('roomsOf', () => {
  it('every room a user had a voice socket in, or is joined in, sorted and once each', () => {
    const a = user(0);
    close(a, open(a, 'voice', 9));
    open(a, 'chat', 1);
    const b = { ...user(1), voice: { roomId: 4, remoteUserIds: [] } };
    open(b, 'voice', 9);
    expect(roomsOf([a, b])).toEqual([4, 9]);
  });
});

describe('reconcileMembers', () => {
  it('a listed user of ours without a socket in the room is a stale-voice-member; others’ users are not ours to judge', () => {
    const gone = user(0);
    close(gone, open(gone, 'voice', 9), 100);
    const inside = user(1);
    open(inside, 'voice', 9);
    const drafts = reconcileMembers(9, [100, 101, 555], [gone, inside]);
    expect(drafts.map((d) => [d.class, d.subject.user])).toEqual([['stale-voice-member', 0]]);
  });

  it('a user listed twice is a duplicate-member', () => {
    const v = user(0);
    open(v, 'voice', 9);
    const [d] = reconcileMembers(9, [100, 100], [v]);
    expect(d).toMatchObject({ class: 'duplicate-member', subject: { user: 0, roomId: 9 }, observed: { members: [100, 100] } });
    expect(d!.message).toBe('voice room 9 lists user 0 (#100) 2 times in its members route');
  });

  it('a joined user on an open socket the route does not list is a phantom-voice-member; a frozen one is not judged', () => {
    const v = { ...user(0), voice: { roomId: 9, remoteUserIds: [] } };
    const sock = open(v, 'voice', 9);
    const [d] = reconcileMembers(9, [], [v]);
    expect(d).toMatchObject({ class: 'phantom-voice-member', subject: { user: 0, socket: sock.id, roomId: 9 }, expected: { listed: 100 } });
    sock.frozen = true;
    expect(reconcileMembers(9, [], [v])).toEqual([]);
  });
});

describe('getAsUser / httpFetchMembers (a members route on 127.0.0.1)', () => {
  async function route(handler: Parameters<typeof createServer>[1]) {
    const srv = createServer(handler).listen(0, '127.0.0.1');
    await once(srv, 'listening');
    onTestFinished(() => new Promise<void>((r) => srv.close(() => r())));
    return `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  }

  it('sends the bearer token and reads the ids', async () => {
    const seen: Array<string | undefined> = [];
    const url = await route((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify([{ id: 7, username: 'a' }, { id: 8, username: 'b' }]));
    });
    expect(await httpFetchMembers(url)(42, 'tok')).toEqual([7, 8]);
    expect(seen).toEqual(['/api/channels/voice/42/members Bearer tok']);
  });

  it('fails naming the route and the status', async () => {
    const url = await route((_req, res) => {
      res.statusCode = 403;
      res.end('{"detail":"Not a member"}');
    });
    await expect(getAsUser(url, '/api/channels/voice/42/members', 'tok')).rejects.toThrow('/api/channels/voice/42/members answered HTTP 403');
  });
});
