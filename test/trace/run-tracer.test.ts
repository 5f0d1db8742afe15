import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTracer, openTracer } from '../../src/trace/run-tracer.js';
import { createLogger } from '../../src/log.js';
import { MbError } from '../../src/errors.js';

const dirs: string[] = [];
function tmpFile(name = 'trace.ndjson'): string {
  const dir = mkdtempSync(join(tmpdir(), 'mb-trace-'));
  dirs.push(dir);
  return join(dir, name);
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function readLines(file: string): Array<Record<string, any>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('createTracer with a file', () => {
  it('writes one NDJSON line per event, in order, with a monotonic t, framed by trace.start and trace.end', async () => {
    const file = tmpFile();
    const tracer = createTracer({ file });
    tracer.emit({ ev: 'http', user: 0, method: 'POST', route: '/api/auth/register', status: 200 });
    tracer.emit({ ev: 'socket.opening', user: 0, socket: 'u0-chat-1', kind: 'chat', channelId: 1 });
    tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-chat-1' });
    tracer.emit({ ev: 'msg.sent', user: 0, socket: 'u0-chat-1', type: 'message', bytes: 42 });
    tracer.emit({ ev: 'socket.close', user: 1, socket: 'u1-chat-1', by: 'client', code: 1000 });
    await tracer.close();

    const lines = readLines(file);
    expect(lines.map((l) => l.ev)).toEqual(['trace.start', 'http', 'socket.opening', 'socket.open', 'msg.sent', 'socket.close', 'trace.end']);
    expect(lines[0]).toMatchObject({ t: 0, tool: 'miscord-bench', bodies: false, addresses: 'redacted' });
    expect(Object.keys(lines[1]!)[0]).toBe('t');
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.t).toBeGreaterThanOrEqual(lines[i - 1]!.t);
    expect(lines[2]).toMatchObject({ user: 0, socket: 'u0-chat-1', kind: 'chat', channelId: 1 });
    expect(lines[5]).toMatchObject({ user: 1, socket: 'u1-chat-1', by: 'client', code: 1000 });
    expect(lines.at(-1)).toMatchObject({ ev: 'trace.end', events: 5, dropped: 0 });
    expect(tracer.stats()).toMatchObject({ events: 5, dropped: 0, error: null });
  });

  it('strips bodies by default and keeps them with bodies: true', async () => {
    const plain = tmpFile('a.ndjson');
    const withBodies = tmpFile('b.ndjson');
    for (const [file, bodies] of [
      [plain, false],
      [withBodies, true],
    ] as const) {
      const tracer = createTracer({ file, bodies });
      tracer.emit({ ev: 'msg.recv', user: 2, socket: 'u2-chat-1', type: 'message', bytes: 17, body: { content: 'secret' } });
      await tracer.close();
    }
    const a = readLines(plain)[1]!;
    expect(a).toMatchObject({ ev: 'msg.recv', bytes: 17 });
    expect(a).not.toHaveProperty('body');
    expect(readLines(withBodies)[1]).toMatchObject({ body: { content: 'secret' } });
  });

  it('redacts non-loopback ICE addresses unless asked, and never mutates the emitted event', async () => {
    const file = tmpFile();
    const tracer = createTracer({ file });
    const candidate = { candidate: 'candidate:1 1 udp 2122260223 192.168.1.23 54321 typ host generation 0', sdpMid: '0', sdpMLineIndex: 0 };
    const ev = { ev: 'webrtc.ice', user: 0, peer: 'u0->u1', dir: 'sent', candidate };
    tracer.emit(ev);
    tracer.emit({ ev: 'webrtc.ice', user: 0, peer: 'u0->u1', dir: 'recv', candidate: 'candidate:2 1 udp 1 127.0.0.1 40000 typ host' });
    tracer.emit({ ev: 'webrtc.ice', user: 0, peer: 'u0->u1', candidate: 'candidate:3 1 udp 1 fe80::1c2f:3aff:fe11:2233 40000 typ host raddr 10.0.0.4 rport 9' });
    await tracer.close();
    expect(ev.candidate.candidate).toContain('192.168.1.23');
    const lines = readLines(file).filter((l) => l.ev === 'webrtc.ice');
    expect(lines[0]!.candidate.candidate).toBe('candidate:1 1 udp 2122260223 [ipv4] 54321 typ host generation 0');
    expect(lines[0]!.candidate.sdpMid).toBe('0');
    expect(lines[1]!.candidate).toContain('127.0.0.1');
    expect(lines[2]!.candidate).toBe('candidate:3 1 udp 1 [ipv6] 40000 typ host raddr [ipv4] rport 9');

    // bodies with redaction asked for: a signaling body is redacted, a chat body is not touched
    const both = tmpFile('both.ndjson');
    const t3 = createTracer({ file: both, bodies: true, redactAddresses: true });
    t3.emit({ ev: 'msg.recv', user: 0, socket: 'u0-voice-3', type: 'offer', body: { type: 'offer', offer: { sdp: 'c=IN IP4 192.168.1.23\r\n' } } });
    t3.emit({ ev: 'msg.recv', user: 0, socket: 'u0-chat-1', type: 'message', body: { content: 'meet at 10.0.0.1' } });
    await t3.close();
    const [offer, chat] = readLines(both).slice(1, 3);
    expect(offer!.body.offer.sdp).toBe('c=IN IP4 [ipv4]\r\n');
    expect(chat!.body.content).toBe('meet at 10.0.0.1');

    const shown = tmpFile('shown.ndjson');
    const t2 = createTracer({ file: shown, redactAddresses: false });
    t2.emit(ev);
    await t2.close();
    expect(readLines(shown)[1]!.candidate.candidate).toContain('192.168.1.23');
  });

  it('bounds its memory: a burst beyond the buffer is dropped, counted, and reported in a trace.dropped line', async () => {
    const file = tmpFile();
    const tracer = createTracer({ file, maxBufferedBytes: 64 * 1024, chunkBytes: 4096 });
    // one synchronous burst: the stream cannot drain before it ends
    for (let i = 0; i < 5000; i++) tracer.emit({ ev: 'msg.sent', user: i % 10, socket: `u${i % 10}-chat-1`, type: 'message', bytes: 100, i });
    const { dropped } = tracer.stats();
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(5000);
    await tracer.idle(); // the disk caught up: lines are accepted again
    tracer.emit({ ev: 'socket.close', user: 3, socket: 'u3-chat-1', by: 'client', code: 1000 });
    await tracer.close();
    const lines = readLines(file);
    const drops = lines.filter((l) => l.ev === 'trace.dropped');
    expect(drops.reduce((s, l) => s + l.count, 0)).toBe(dropped);
    const msgs = lines.filter((l) => l.ev === 'msg.sent');
    expect(msgs.length + dropped).toBe(5000);
    // what was kept is the head of the burst, in order, and nothing after the drop is lost
    expect(msgs.map((l) => l.i)).toEqual([...Array(msgs.length).keys()]);
    expect(lines.at(-2)!.ev).toBe('socket.close');
    expect(lines.at(-1)).toMatchObject({ ev: 'trace.end', events: 5001, dropped });
  });

  it('close() flushes everything, is idempotent, and the file is complete when it resolves', async () => {
    const file = tmpFile();
    const tracer = createTracer({ file, chunkBytes: 1 << 20 });
    for (let i = 0; i < 1000; i++) tracer.emit({ ev: 'msg.recv', user: 0, socket: 'u0-chat-1', i });
    const [a, b] = [tracer.close(), tracer.close()];
    expect(a).toBe(b);
    await a;
    const lines = readLines(file);
    expect(lines).toHaveLength(1002);
    expect(lines.at(-1)!.ev).toBe('trace.end');
    tracer.emit({ ev: 'late', user: 0 }); // after close: kept in memory, never thrown
  });

  it('survives a disk that fails mid-run: the error is kept, lines are counted as dropped, close resolves', async () => {
    const tracer = createTracer({ file: '/dev/full', chunkBytes: 1024 });
    await tracer.ready(); // /dev/full opens fine; every write fails with ENOSPC
    for (let i = 0; i < 100; i++) tracer.emit({ ev: 'msg.sent', user: 0, socket: 'u0-chat-1', i });
    await tracer.close();
    const s = tracer.stats();
    expect(s.error).toMatch(/ENOSPC/);
    expect(s.events).toBe(100);
    expect(s.dropped).toBe(101); // the 100 events and the trace.start line
    expect(s.written).toBe(0);
    expect(tracer.recent(0, undefined, 1)[0]).toMatchObject({ i: 99 }); // evidence does not depend on the file
  });

  it('openTracer refuses a file that cannot be written with MB_ERR_USAGE', async () => {
    const file = join(tmpFile(), 'no', 'such', 'dir', 'x.ndjson');
    const err = await openTracer({ file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MbError);
    expect((err as MbError).code).toBe('MB_ERR_USAGE');
    expect((err as MbError).message).toContain('cannot write the trace file');
  });

  it('keeps an unserialisable event as a line that says so', async () => {
    const file = tmpFile();
    const tracer = createTracer({ file });
    tracer.emit({ ev: 'webrtc.stats', user: 0, peer: 'u0->u1', bytes: 10n });
    await tracer.close();
    expect(readLines(file)[1]).toMatchObject({ ev: 'webrtc.stats', user: 0, peer: 'u0->u1', error: expect.stringContaining('unserialisable') });
  });
});

describe('createTracer without a file', () => {
  it('keeps evidence in memory and writes nothing', async () => {
    const tracer = createTracer();
    expect(tracer.writing).toBe(false);
    tracer.emit({ ev: 'socket.open', user: 4, socket: 'u4-chat-1' });
    expect(tracer.recent(4)).toEqual([expect.objectContaining({ ev: 'socket.open', socket: 'u4-chat-1' })]);
    await tracer.close();
  });

  it('logs one prefixed debug line per event when the logger is at debug, nothing otherwise', async () => {
    const out: string[] = [];
    const tracer = createTracer({ log: createLogger('debug', (l) => out.push(l)) });
    tracer.emit({ ev: 'socket.open', user: 1, socket: 'u1-chat-2', channelId: 3 });
    tracer.emit({ ev: 'webrtc.ice_state', user: 1, peer: 'u1->u2', state: 'connected' });
    tracer.emit({ ev: 'socket.close', user: 1, socket: 'u1-notifications-1', by: 'server', code: 1001 });
    tracer.emit({ ev: 'checkpoint', name: 'after-switch', findings: 0 });
    tracer.emit({ ev: 'http', user: 1, method: 'POST', status: 200 });
    expect(out).toHaveLength(5);
    expect(out[0]).toMatch(/DEBUG \[ChatService\] u1 u1-chat-2 socket\.open channelId=3\n$/);
    expect(out[1]).toContain('[VoiceService] u1 u1->u2 webrtc.ice_state state=connected');
    expect(out[2]).toContain('[NotificationService] u1 u1-notifications-1 socket.close by=server code=1001');
    expect(out[3]).toContain('[LeakDetector] - - checkpoint name=after-switch findings=0');
    expect(out[4]).toContain('[Runner] u1 - http method=POST status=200');

    expect(tracer.writing).toBe(true);
    const quiet: string[] = [];
    const t2 = createTracer({ log: createLogger('info', (l) => quiet.push(l)) });
    expect(t2.writing).toBe(false);
    t2.emit({ ev: 'socket.open', user: 1, socket: 'u1-chat-2' });
    expect(quiet).toEqual([]);
    await Promise.all([tracer.close(), t2.close()]);
  });
});
