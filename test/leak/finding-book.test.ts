import { describe, it, expect } from 'vitest';
import { FindingBook, subjectKey } from '../../src/leak/finding-book.js';
import { MemoryTracer } from '../../src/trace/tracer.js';
import type { FindingDraft } from '../../src/leak/types.js';

describe('FindingBook', () => {
  const draft = (over: Partial<FindingDraft> = {}): FindingDraft => ({
    class: 'zombie-socket',
    message: 'm',
    subject: { user: 3, userId: 103, kind: 'chat', channelId: 1, socket: 'u3-chat-2' },
    expected: 'x',
    observed: 1,
    ...over,
  });

  it('keeps one finding per class and subject across checkpoints, aging it', () => {
    const tracer = new MemoryTracer();
    tracer.emit({ ev: 'socket.open', user: 3, socket: 'u3-chat-2' });
    tracer.emit({ ev: 'socket.close', user: 3, socket: 'u3-chat-2', by: 'client', code: 1000 });
    tracer.emit({ ev: 'msg.sent', user: 3, socket: 'u3-notifications-1' });
    const book = new FindingBook(tracer);
    const first = book.record('phase-1', [draft({ since: performance.now() - 1000 })]);
    const second = book.record('final', [draft({ observed: 2 }), draft({ class: 'phantom-socket' })]);
    expect(first).toEqual(['F1']);
    expect(second).toEqual(['F1', 'F2']);
    const [f1, f2] = book.all();
    expect(f1).toMatchObject({ id: 'F1', checkpoint: 'phase-1', observed: 2 });
    expect(f1!.ageMs).toBeGreaterThanOrEqual(1000);
    expect(f1!.evidence.details).toMatchObject({ lastSeen: 'final' });
    expect(f1!.evidence.trace!.map((l) => l.ev)).toEqual(['socket.open', 'socket.close']);
    expect(f2!.class).toBe('phantom-socket');
  });

  it('keys subjects regardless of field order and undefined fields', () => {
    expect(subjectKey(draft({ subject: { kind: 'chat', user: 1, roomId: undefined } }))).toBe(subjectKey(draft({ subject: { user: 1, kind: 'chat' } })));
  });

  it('falls back to the user trace for a socket it never saw, and uses evidenceOf', () => {
    const tracer = new MemoryTracer();
    tracer.emit({ ev: 'http', user: 4 });
    const book = new FindingBook(tracer);
    book.record('c', [draft({ subject: { user: 4, socket: 'server:s9' } }), draft({ class: 'slow-deregister', subject: { kind: 'chat' }, evidenceOf: { user: 4 } })]);
    expect(book.all().map((f) => f.evidence.trace!.length)).toEqual([1, 1]);
  });
});
