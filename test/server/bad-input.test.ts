import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { once } from 'node:events';
import { allClosed, connect, startServer, statsUntil, world } from './helpers.js';

describe('bad input on sockets never crashes the server nor skews its counts', () => {
  it('answers malformed frames with an error frame and keeps the socket open', async () => {
    const s = await startServer();
    const w = await world(s);
    const kinds = [`/ws/chat/${w.serverId}`, `/ws/voice/${w.voiceChannelId}`, '/ws/notifications'];
    for (const path of kinds) {
      const c = await connect(s, path, w.owner.token);
      const expectError = async (frame: string | Buffer, msg: RegExp) => {
        c.ws.send(frame);
        expect((await c.next('error')).message, `${path} ${String(frame)}`).toMatch(msg);
      };
      await expectError('{not json', /invalid JSON/);
      await expectError('[1,2,3]', /expected a JSON object/);
      await expectError('"just a string"', /expected a JSON object/);
      await expectError('null', /expected a JSON object/);
      await expectError('{"no":"type"}', /missing or non-string field "type"/);
      await expectError('{"type":42}', /missing or non-string field "type"/);
      await expectError('{"type":"bogus"}', /unknown message type "bogus"/);
      await expectError(Buffer.from([1, 2, 3]), /binary frames are not supported/);
      c.send({ type: 'ping' });
      await c.next('pong');
    }
    const st = await s.stats();
    expect(st.total_connections).toBe(3);
    expect(st.counters).toMatchObject({ connections_opened: 3, connections_closed: 0 });
  });

  it('names missing or wrongly typed fields', async () => {
    const s = await startServer();
    const w = await world(s);
    const chat = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    const cases: Array<[object, RegExp]> = [
      [{ type: 'message', text_channel_id: w.textChannels[0] }, /field "content" must be a string/],
      [{ type: 'message', content: 'x', text_channel_id: '1' }, /field "text_channel_id" must be a positive integer id/],
      [{ type: 'message', content: '', text_channel_id: w.textChannels[0] }, /content must be 1 to/],
      [{ type: 'message', content: 'x', text_channel_id: 999 }, /unknown text channel 999/],
      [{ type: 'typing' }, /field "text_channel_id"/],
      [{ type: 'switch_channel', text_channel_id: -1 }, /field "text_channel_id"/],
    ];
    for (const [frame, msg] of cases) {
      chat.send(frame);
      expect((await chat.next('error')).message).toMatch(msg);
    }
    const voice = await connect(s, `/ws/voice/${w.voiceChannelId}`, w.owner.token);
    const vcases: Array<[object, RegExp]> = [
      [{ type: 'offer', offer: { type: 'offer', sdp: 'x' } }, /field "target_id"/],
      [{ type: 'offer', target_id: 2, offer: 'sdp' }, /field "offer" must be an object/],
      [{ type: 'answer', target_id: 2 }, /field "answer"/],
      [{ type: 'ice_candidate', target_id: 2, candidate: null }, /field "candidate"/],
      [{ type: 'mute', is_muted: 'yes' }, /field "is_muted" must be a boolean/],
      [{ type: 'deafen' }, /field "is_deafened"/],
      [{ type: 'speaking', is_speaking: 1 }, /field "is_speaking"/],
    ];
    for (const [frame, msg] of vcases) {
      voice.send(frame);
      expect((await voice.next('error')).message).toMatch(msg);
    }
    expect((await s.stats()).total_connections).toBe(2);
  });

  it('closes an oversized frame with 1009 and accounts for it', async () => {
    const s = await startServer({ maxPayloadBytes: 1024 });
    const w = await world(s);
    const c = await connect(s, `/ws/chat/${w.serverId}`, w.owner.token);
    c.send({ type: 'message', content: 'x'.repeat(4096), text_channel_id: w.textChannels[0] });
    expect((await c.closed).code).toBe(1009);
    const st = await statsUntil(s, allClosed);
    expect(st.counters).toMatchObject({ connections_opened: 1, connections_closed: 1 });
  });

  it('answers unknown socket paths with HTTP 404 before the upgrade and survives aborted upgrades', async () => {
    const s = await startServer();
    const w = await world(s);
    const ws = new WebSocket(`${s.wsUrl}/ws/other?token=${w.owner.token}`);
    ws.on('error', () => {});
    const [, res] = await once(ws, 'unexpected-response');
    expect(res.statusCode).toBe(404);
    ws.terminate();
    // the client goes away during the token check
    const early = new WebSocket(`${s.wsUrl}/ws/notifications?token=${w.owner.token}`);
    early.on('error', () => {});
    early.once('upgrade', () => {});
    early.terminate();
    const ok = await connect(s, '/ws/notifications', w.owner.token);
    ok.send({ type: 'ping' });
    await ok.next('pong');
    await ok.close();
    const st = await statsUntil(s, allClosed);
    expect(st.counters!.connections_opened).toBe(st.counters!.connections_closed);
  });

  it('refuses garbage and missing tokens on every kind', async () => {
    const s = await startServer();
    const w = await world(s);
    const cases: Array<[string, number]> = [
      [`/ws/chat/${w.serverId}`, 1008],
      ['/ws/notifications', 1008],
      [`/ws/voice/${w.voiceChannelId}`, 4001],
    ];
    for (const [path, code] of cases) {
      for (const token of ['', 'a.b.c', 'x'.repeat(5000)]) {
        const c = await connect(s, path, token);
        expect((await c.closed).code, `${path} ${token.slice(0, 8)}`).toBe(code);
      }
    }
    const st = await s.stats();
    expect(st.counters).toMatchObject({ rejected: 9, connections_opened: 0 });
  });
});
