import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { checkFields, encode, isId, parseTextFrame, send, sendText, watchSendQueue } from '../../src/server/frames.js';

describe('parseTextFrame / isId / checkFields', () => {
  it('a frame is a JSON object with a string type; otherwise the error frame’s message', () => {
    expect(parseTextFrame('{"type":"ping","x":1}')).toEqual({ type: 'ping', x: 1 });
    expect(parseTextFrame('{nope')).toBe('invalid JSON');
    expect(parseTextFrame('[1]')).toBe('expected a JSON object');
    expect(parseTextFrame('null')).toBe('expected a JSON object');
    expect(parseTextFrame('{"type":3}')).toBe('missing or non-string field "type"');
  });

  it('ids are positive safe integers', () => {
    expect([1, 2 ** 53 - 1].map(isId)).toEqual([true, true]);
    expect([0, -1, 1.5, 2 ** 53, '1', null].map(isId)).toEqual([false, false, false, false, false, false]);
  });

  it('names the first field of the wrong type and what it must be', () => {
    const spec = { target_id: 'id', offer: 'object', is_muted: 'boolean', content: 'string' } as const;
    expect(checkFields({ type: 'offer', target_id: 3, offer: {}, is_muted: true, content: 'x' }, spec)).toBeNull();
    expect(checkFields({ type: 'offer', target_id: 0 }, spec)).toBe('offer: field "target_id" must be a positive integer id');
    expect(checkFields({ type: 'offer', target_id: 3, offer: [] }, spec)).toBe('offer: field "offer" must be an object');
    expect(checkFields({ type: 'mute', target_id: 3, offer: {}, is_muted: 'yes' }, spec)).toBe('mute: field "is_muted" must be a boolean');
  });
});

/** A ws server on 127.0.0.1:0 and one client; resolves with the server side of the connection. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  onTestFinished(async () => {
    client.terminate();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  const [server] = (await once(wss, 'connection')) as [WebSocket];
  await once(client, 'open');
  return { server, client };
}

describe('send / sendText / watchSendQueue (real sockets on 127.0.0.1)', () => {
  it('sends JSON and pre-encoded text frames in order; drops frames once the socket is closing', async () => {
    const { server, client } = await pair();
    const got: string[] = [];
    const two = new Promise<void>((resolve) => client.on('message', (d) => got.push(d.toString()) === 2 && resolve()));
    send(server, { type: 'a' });
    sendText(server, encode({ type: 'b' }));
    await two;
    expect(got).toEqual(['{"type":"a"}', '{"type":"b"}']);
    server.close();
    send(server, { type: 'late' });
    sendText(server, 'late');
    await once(client, 'close');
    expect(got).toHaveLength(2);
  });

  it('calls over() once when a socket that never reads holds more than the limit', async () => {
    const { server, client } = await pair();
    // the client stops reading: the kernel buffers fill, then ws buffers
    (client as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const calls: number[] = [];
    watchSendQueue(server, 64 * 1024, (q) => calls.push(q));
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 400 && !calls.length; i++) send(server, { type: 'message', content: big });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeGreaterThan(64 * 1024);
    send(server, { type: 'message', content: big });
    expect(calls).toHaveLength(1);
  });
});
