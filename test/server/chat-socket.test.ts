import { describe, expect, it } from 'vitest';
import { allClosed, connect, signUp, startServer, statsUntil, world, type TestSocket } from './helpers.js';

/** A server whose owner and member bob are both on its chat socket; two text channels. */
async function ownerAndBobInChat() {
  const s = await startServer();
  const bob = await signUp(s);
  const w = await world(s, { members: [bob], extraText: 1 });
  const [tc1, tc2] = w.textChannels as [number, number];
  const a = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
  const b = await connect(s, `/ws/chat/${w.serverId}`, bob.token);
  return { s, bob, w, tc1, tc2, a, b };
}

describe('chat and notifications sockets', () => {
  it('delivers messages to every socket of the server, typing to the others, answers ping and ignores heartbeat', async () => {
    const { bob, w, tc1, tc2, a, b } = await ownerAndBobInChat();
    a.send({ type: 'message', content: 'hello', text_channel_id: tc2 });
    for (const sock of [a, b]) {
      const m = await sock.next('message');
      expect(m).toMatchObject({ type: 'message', content: 'hello', author: { id: w.owner.id, username: w.owner.username }, text_channel_id: tc2 });
      expect(typeof m.id).toBe('number');
      expect(typeof m.timestamp).toBe('string');
    }
    b.send({ type: 'typing', text_channel_id: tc1 });
    expect(await a.next('typing')).toEqual({ type: 'typing', user: { id: bob.id, username: bob.username }, text_channel_id: tc1 });
    b.send({ type: 'heartbeat' });
    b.send({ type: 'ping' });
    expect(await b.next('pong')).toEqual({ type: 'pong' });
    expect(b.has('typing')).toBe(false); // typing goes to the others only
    expect(b.has('error')).toBe(false); // heartbeat is answered silently
  });

  it('switch_channel narrows delivery to one text channel', async () => {
    const { s, bob, w, tc1, tc2, a, b } = await ownerAndBobInChat();
    b.send({ type: 'switch_channel', text_channel_id: tc2 });
    expect(await b.next('channel_switched')).toEqual({ type: 'channel_switched', text_channel_id: tc2 });
    a.send({ type: 'message', content: 'in one', text_channel_id: tc1 });
    a.send({ type: 'message', content: 'in two', text_channel_id: tc2 });
    expect((await a.next('message')).content).toBe('in one');
    expect((await b.next('message')).content).toBe('in two'); // 'in one' was never delivered to b
    expect(b.received.filter((m) => m.type === 'message')).toEqual([]);
    const st = await s.stats();
    expect(st.connections!.find((c) => c.user_id === bob.id)).toMatchObject({ kind: 'chat', channel_id: w.serverId, text_channel_id: tc2 });
    b.send({ type: 'switch_channel', text_channel_id: 999 });
    expect((await b.next('error')).message).toMatch(/unknown text channel 999/);
  });

  it('refuses bad tokens with 1008 and non-members or unknown servers with 1008 and a reason', async () => {
    const s = await startServer();
    const w = await world(s);
    const outsider = await signUp(s);
    const bad = await connect(s, `/ws/chat/${w.serverId}`, 'garbage');
    expect(await bad.closed).toEqual({ code: 1008, reason: 'invalid or expired token' });
    const nm = await connect(s, `/ws/chat/${w.serverId}`, outsider.token);
    expect((await nm.closed).code).toBe(1008);
    const unknown = await connect(s, '/ws/chat/999', w.owner.token);
    expect(await unknown.closed).toEqual({ code: 1008, reason: 'server 999 not found' });
    const notif = await connect(s, '/ws/notifications', 'garbage');
    expect((await notif.closed).code).toBe(1008);
    const st = await statsUntil(s, (x) => x.counters!.rejected === 4);
    expect(st.counters!.connections_opened).toBe(0);
    expect(st.total_connections).toBe(0);
  });

  it('notifications answer ping with pong and carry no chat traffic', async () => {
    const s = await startServer();
    const w = await world(s);
    const n = await connect(s, '/ws/notifications', w.owner.token);
    n.send({ type: 'ping' });
    expect(await n.next('pong')).toEqual({ type: 'pong' });
    n.send({ type: 'message', content: 'x', text_channel_id: 1 });
    expect((await n.next('error')).message).toBe('unknown message type "message"');
    const st = await s.stats();
    expect(st.connections).toEqual([expect.objectContaining({ kind: 'notifications', channel_id: null, user_id: w.owner.id })]);
  });

  it("Miscord's check: switching text channels 10 times keeps a stable per-user socket count (reconnect and in-band)", async () => {
    const s = await startServer();
    const w = await world(s, { extraText: 2 });
    // the server learns of a close a moment after the client does: wait for the count, never a sleep
    const perUserIs = (n: number) => statsUntil(s, (st) => st.connections!.filter((c) => c.user_id === w.owner.id).length === n);
    const notif = await connect(s, '/ws/notifications', w.owner.token);
    let chat: TestSocket = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    for (let i = 0; i < 10; i++) {
      await chat.close();
      chat = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
      const tc = w.textChannels[i % w.textChannels.length]!;
      chat.send({ type: 'switch_channel', text_channel_id: tc });
      await chat.next('channel_switched');
      await perUserIs(2);
    }
    for (let i = 0; i < 10; i++) {
      const tc = w.textChannels[i % w.textChannels.length]!;
      chat.send({ type: 'switch_channel', text_channel_id: tc });
      expect(await chat.next('channel_switched')).toEqual({ type: 'channel_switched', text_channel_id: tc });
      chat.send({ type: 'message', content: `m${i}`, text_channel_id: tc });
      expect((await chat.next('message')).content).toBe(`m${i}`);
      await perUserIs(2);
    }
    await chat.close();
    await notif.close();
    const st = await statsUntil(s, allClosed);
    expect(st.counters).toMatchObject({ connections_opened: 12, connections_closed: 12, rejected: 0, reaped: 0 });
  });
});

describe('options that shape the wire', () => {
  it('messageFormat new_message wraps the payload in data', async () => {
    const s = await startServer({ messageFormat: 'new_message' });
    const w = await world(s);
    const c = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    c.send({ type: 'message', content: 'later shape', text_channel_id: w.textChannels[0] });
    const m = await c.next('new_message');
    expect(m.data).toMatchObject({ content: 'later shape', author: { id: w.owner.id }, text_channel_id: w.textChannels[0] });
  });

  it('a silent notifications socket gets an in-band ping besides the ping frames', async () => {
    const s = await startServer({ heartbeatMs: 50 });
    const w = await world(s);
    const n = await connect(s, '/ws/notifications', w.owner.token);
    expect(await n.next('ping')).toEqual({ type: 'ping' });
    n.send({ type: 'pong' });
    expect((await s.stats()).total_connections).toBe(1);
  });
});
