import { describe, it, expect } from 'vitest';
import { createTracer } from '../../src/trace/run-tracer.js';
import { evidenceFor } from '../../src/trace/evidence.js';
import { MemoryTracer } from '../../src/trace/tracer.js';
import { EventRings, isChatty } from '../../src/trace/event-rings.js';
import { redactAddressesIn } from '../../src/trace/sanitize.js';

describe('evidenceFor', () => {
  it("returns the last N events of the subject's socket, oldest first, as plain copies", async () => {
    const tracer = createTracer();
    tracer.emit({ ev: 'socket.opening', user: 3, socket: 'u3-chat-1' });
    tracer.emit({ ev: 'socket.open', user: 3, socket: 'u3-chat-1' });
    tracer.emit({ ev: 'socket.opening', user: 3, socket: 'u3-chat-2' });
    tracer.emit({ ev: 'socket.closing', user: 3, socket: 'u3-chat-1', code: 1000 });
    tracer.emit({ ev: 'socket.close', user: 3, socket: 'u3-chat-1', by: 'client', code: 1000 });
    tracer.emit({ ev: 'socket.open', user: 4, socket: 'u4-chat-1' });

    const ev = evidenceFor(tracer, { user: 3, socket: 'u3-chat-1' });
    expect(ev.map((l) => l.ev)).toEqual(['socket.opening', 'socket.open', 'socket.closing', 'socket.close']);
    expect(ev.every((l) => l.socket === 'u3-chat-1' && typeof l.t === 'number')).toBe(true);
    expect(evidenceFor(tracer, { user: 3, socket: 'u3-chat-1' }, 2).map((l) => l.ev)).toEqual(['socket.closing', 'socket.close']);
    expect(evidenceFor(tracer, { user: 3 }).length).toBe(5);
    expect(evidenceFor(tracer, {})).toEqual([]);
    // a socket the client never traced falls back to the user's story, unless asked not to
    expect(evidenceFor(tracer, { user: 4, socket: 'srv-17' }).map((l) => l.socket)).toEqual(['u4-chat-1']);
    expect(evidenceFor(tracer, { user: 4, socket: 'srv-17' }, 20, { fallbackToUser: false })).toEqual([]);
    ev[0]!.ev = 'mutated';
    expect(tracer.recent(3)[0]!.ev).toBe('socket.opening');
    await tracer.close();
  });

  it("with context, adds the lifecycle of the user's other sockets of the same kind, marked related", () => {
    const tracer = createTracer();
    tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-notifications-1' });
    tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-chat-2' });
    tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-notifications-3' });
    tracer.emit({ ev: 'msg.recv', user: 0, socket: 'u0-notifications-1', type: 'pong' });
    tracer.emit({ ev: 'socket.close', user: 0, socket: 'u0-notifications-1', by: 'client', code: 1000 });
    tracer.emit({ ev: 'finding', user: 0, socket: 'u0-notifications-3', class: 'phantom-socket' });
    const ev = evidenceFor(tracer, { user: 0, socket: 'u0-notifications-3' }, 20, { context: true });
    expect(ev.map((l) => `${l.related ? '~' : '>'} ${l.socket} ${l.ev}`)).toEqual([
      '~ u0-notifications-1 socket.open',
      '> u0-notifications-3 socket.open',
      '~ u0-notifications-1 socket.close',
      '> u0-notifications-3 finding',
    ]);
    expect(evidenceFor(tracer, { user: 0, socket: 'u0-notifications-3' }, 1, { context: true }).map((l) => l.ev)).toEqual(['finding']);
    expect(tracer.recent(0).some((l) => 'related' in l)).toBe(false);
  });

  it('selects a peer by its id', () => {
    const tracer = new MemoryTracer();
    tracer.emit({ ev: 'webrtc.offer', user: 0, peer: 'u0->u1', bytes: 900 });
    tracer.emit({ ev: 'webrtc.offer', user: 0, peer: 'u0->u2', bytes: 900 });
    tracer.emit({ ev: 'webrtc.conn_state', user: 0, peer: 'u0->u1', state: 'closed' });
    expect(evidenceFor(tracer, { user: 0, peer: 'u0->u1' }).map((l) => l.ev)).toEqual(['webrtc.offer', 'webrtc.conn_state']);
  });

  it("keeps a socket's close in the evidence even after a flood of chat messages", () => {
    const tracer = createTracer({ perUser: 20 });
    tracer.emit({ ev: 'socket.open', user: 1, socket: 'u1-chat-1' });
    tracer.emit({ ev: 'socket.closing', user: 1, socket: 'u1-chat-1', code: 1000 });
    tracer.emit({ ev: 'socket.close', user: 1, socket: 'u1-chat-1', by: 'client', code: 1000 });
    for (let i = 0; i < 1000; i++) tracer.emit({ ev: 'msg.recv', user: 1, socket: 'u1-chat-2', type: 'message', i });
    expect(evidenceFor(tracer, { user: 1, socket: 'u1-chat-1' }).map((l) => l.ev)).toEqual(['socket.open', 'socket.closing', 'socket.close']);
    // the user's own view interleaves both rings in emission order, newest last
    const mixed = tracer.recent(1, undefined, 5);
    expect(mixed.map((l) => l.i)).toEqual([995, 996, 997, 998, 999]);
  });
});

describe('EventRings', () => {
  it('bounds each user to perUser lifecycle events and half as many chatty ones', () => {
    const rings = new EventRings(10);
    for (let i = 0; i < 100; i++) rings.add(i * 2, { t: i, ev: 'socket.open', user: 0, socket: 'u0-chat-1', i });
    for (let i = 0; i < 100; i++) rings.add(i * 2 + 1, { t: i, ev: 'msg.recv', user: 0, socket: 'u0-chat-1', i });
    const all = rings.recent(0, undefined, 1000);
    expect(all.filter((l) => l.ev === 'socket.open').map((l) => l.i)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
    expect(all.filter((l) => l.ev === 'msg.recv').map((l) => l.i)).toEqual([95, 96, 97, 98, 99]);
    rings.add(1000, { t: 0, ev: 'checkpoint' }); // no user: nothing kept
    expect(rings.users()).toEqual([0]);
  });

  it('counts voice signaling messages as lifecycle, chat traffic as chatty', () => {
    expect(isChatty({ t: 0, ev: 'msg.recv', socket: 'u1-chat-2' })).toBe(true);
    expect(isChatty({ t: 0, ev: 'msg.recv', socket: 'u1-voice-3', type: 'user_left_voice' })).toBe(false);
    expect(isChatty({ t: 0, ev: 'webrtc.stats', peer: 'u1->u2' })).toBe(true);
    expect(isChatty({ t: 0, ev: 'socket.close', socket: 'u1-chat-2' })).toBe(false);
  });
});

describe('redactAddressesIn', () => {
  it('replaces LAN, public, IPv6 and mDNS addresses and keeps loopback, ports, times and fingerprints', () => {
    expect(redactAddressesIn('candidate:1 1 udp 2122260223 10.1.2.3 5000 typ host')).toBe('candidate:1 1 udp 2122260223 [ipv4] 5000 typ host');
    expect(redactAddressesIn('c=IN IP4 203.0.113.9')).toBe('c=IN IP4 [ipv4]');
    expect(redactAddressesIn('2001:db8::7 and fe80:0:0:0:1:2:3:4')).toBe('[ipv6] and [ipv6]');
    expect(redactAddressesIn('1f0e7c5a-3b2d-4c1e-9a8b-7c6d5e4f3a2b.local')).toBe('[mdns]');
    expect(redactAddressesIn('127.0.0.1 ::1 0.0.0.0 ::ffff:127.0.0.1')).toBe('127.0.0.1 ::1 0.0.0.0 ::ffff:127.0.0.1');
    expect(redactAddressesIn('at 12:30:45.123')).toBe('at 12:30:45.123');
    const fp = 'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, () => 'AB').join(':');
    expect(redactAddressesIn(fp)).toBe(fp);
  });
});
