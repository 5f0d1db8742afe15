import { describe, expect, it } from 'vitest';
import { formatEventBody, formatFields, formatTraceLine, formatTraceTime, servicePrefixOf, socketKindOf } from '../../src/trace/format-event.js';
import type { TraceEvent, TraceLine } from '../../src/trace/tracer.js';

const ev = (e: Record<string, unknown>) => e as TraceEvent;

describe('socketKindOf / servicePrefixOf', () => {
  it('takes the kind from its field or from the ledger socket id', () => {
    expect(socketKindOf(ev({ ev: 'socket.open', kind: 'voice', socket: 'u1-chat-2' }))).toBe('voice');
    expect(socketKindOf(ev({ ev: 'socket.open', socket: 'u1-notifications-3' }))).toBe('notifications');
    expect(socketKindOf(ev({ ev: 'socket.open', socket: 'server:s9' }))).toBeNull();
    expect(socketKindOf(ev({ ev: 'http' }))).toBeNull();
  });

  it('names the service as Miscord’s front end does', () => {
    expect(servicePrefixOf(ev({ ev: 'finding' }))).toBe('[LeakDetector]');
    expect(servicePrefixOf(ev({ ev: 'leak.settle' }))).toBe('[LeakDetector]');
    expect(servicePrefixOf(ev({ ev: 'webrtc.ice_state' }))).toBe('[VoiceService]');
    expect(servicePrefixOf(ev({ ev: 'chat.switch' }))).toBe('[ChatService]');
    expect(servicePrefixOf(ev({ ev: 'socket.close', socket: 'u0-chat-1' }))).toBe('[ChatService]');
    expect(servicePrefixOf(ev({ ev: 'socket.close', socket: 'u0-voice-1' }))).toBe('[VoiceService]');
    expect(servicePrefixOf(ev({ ev: 'socket.close', socket: 'u0-notifications-1' }))).toBe('[NotificationService]');
    expect(servicePrefixOf(ev({ ev: 'http' }))).toBe('[Runner]');
  });
});

describe('formatFields / formatEventBody', () => {
  it('every field but the subject as key=value, in order; strings quoted only when they need it; long values cut', () => {
    const e = ev({ ev: 'socket.close', t: 5, user: 3, socket: 'u3-chat-2', by: 'client', code: 1000, reason: 'went away', ok: true, gone: undefined, info: { a: 1 }, nothing: null, empty: '' });
    expect(formatFields(e)).toBe('by=client code=1000 reason="went away" ok=true info={"a":1} nothing=null empty=""');
    const long = formatFields(ev({ ev: 'x', blob: 'z'.repeat(500) }));
    expect(long).toHaveLength('blob='.length + 160);
    expect(long.endsWith('…')).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(formatFields(ev({ ev: 'x', cyclic }))).toBe('cyclic=[unserialisable]');
  });

  it('the body is user, socket or peer, event and fields; dashes for what it lacks', () => {
    expect(formatEventBody(ev({ ev: 'socket.close', user: 3, socket: 'u3-chat-2', by: 'client', code: 1000 }))).toBe('u3 u3-chat-2 socket.close by=client code=1000');
    expect(formatEventBody(ev({ ev: 'webrtc.ice_state', user: 1, peer: 'u1->u0', state: 'connected' }))).toBe('u1 u1->u0 webrtc.ice_state state=connected');
    expect(formatEventBody(ev({ ev: 'trace.start' }))).toBe('- - trace.start');
  });
});

describe('formatTraceTime / formatTraceLine', () => {
  it('seconds to the microsecond, columns aligned, no trailing blanks', () => {
    expect(formatTraceTime(12_345.678)).toBe('12.345678s');
    const line = formatTraceLine({ t: 1500, ev: 'socket.open', user: 0, socket: 'u0-chat-1' } as TraceLine);
    expect(line).toBe(`${'1.500000s'.padStart(13)} ${'u0'.padEnd(5)} ${'u0-chat-1'.padEnd(20)} socket.open`);
    const a = formatTraceLine({ t: 1, ev: 'http', user: 12, method: 'POST' } as TraceLine);
    const b = formatTraceLine({ t: 100_000, ev: 'checkpoint', name: 'final' } as TraceLine);
    expect(a.indexOf('method=')).toBe(b.indexOf('name='));
  });
});
