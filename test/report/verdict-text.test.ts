import { describe, expect, it } from 'vitest';
import { brief, bytes, duration, num, subjectText, verdictLine, verdictWord } from '../../src/report/verdict-text.js';
import type { Finding, Report } from '../../src/report/schema.js';

const report = (verdict: Partial<Report['verdict']>, extra: Partial<Report> = {}) => ({ status: 'completed', verdict: { exitCode: 0, leaks: 0, failedGates: 0, ...verdict }, ...extra }) as unknown as Report;

describe('verdictWord / verdictLine', () => {
  it('maps each exit code to the word every renderer uses', () => {
    expect(verdictWord(report({ exitCode: 0 }))).toEqual({ word: 'passed', tone: 'pass' });
    expect(verdictWord(report({ exitCode: 3 }))).toEqual({ word: 'incomplete', tone: 'incomplete' });
    expect(verdictWord(report({ exitCode: 5 }))).toEqual({ word: 'leak found', tone: 'leak' });
    expect(verdictWord(report({ exitCode: 4, failedGates: 1 }))).toEqual({ word: 'failed', tone: 'fail' });
    expect(verdictWord(report({ exitCode: 1 }))).toEqual({ word: 'failed', tone: 'fail' });
  });

  it('exit 4 with only unjudged gates is "not judged", not "failed"', () => {
    expect(verdictWord(report({ exitCode: 4, failedGates: 0, unjudgedGates: 2 })).word).toBe('not judged');
  });

  it('lists the counts with their plurals and the reason a run is incomplete', () => {
    expect(verdictLine(report({ exitCode: 0 }))).toBe('passed (exit 0)');
    expect(verdictLine(report({ exitCode: 5, leaks: 1, failedGates: 2, unjudgedGates: 1 }))).toBe('leak found (exit 5, 1 leak finding, 2 failed gates, 1 gate not judged)');
    expect(verdictLine(report({ exitCode: 3, leaks: 2 }, { status: 'incomplete', abortReason: 'target died' }))).toBe('incomplete (exit 3, 2 leak findings, incomplete: target died)');
    expect(verdictLine(report({ exitCode: 3 }, { status: 'incomplete' }))).toBe('incomplete (exit 3, incomplete: no reason given)');
  });
});

describe('subjectText', () => {
  const f = (subject: Finding['subject']) => ({ subject }) as Finding;
  it('names the user, the socket, the channel, the room, the peer and the resource it has', () => {
    expect(subjectText(f({ user: 3, username: 'mb-x-3', kind: 'chat', socket: 'u3-chat-2', channelId: 7 }))).toBe('user 3 (mb-x-3) chat socket u3-chat-2 channel 7');
    expect(subjectText(f({ username: 'other', roomId: 4, peer: 'u1->u2' }))).toBe('other room 4 peer u1->u2');
    expect(subjectText(f({ resource: 'heap_used_bytes', channelId: null }))).toBe('heap_used_bytes');
    expect(subjectText(f({}))).toBe('—');
  });
});

describe('brief, duration, num, bytes', () => {
  it('brief shows strings as they are and anything else as JSON, cut at 80 characters', () => {
    expect(brief(undefined)).toBe('—');
    expect(brief('x')).toBe('x');
    expect(brief({ a: 1 })).toBe('{"a":1}');
    const long = brief('y'.repeat(100));
    expect(long).toHaveLength(78);
    expect(long.endsWith('…')).toBe(true);
  });

  it('duration in ms, s with one decimal, then minutes and seconds', () => {
    expect(duration(999.4)).toBe('999 ms');
    expect(duration(1500)).toBe('1.5 s');
    expect(duration(119_999)).toBe('120.0 s');
    expect(duration(125_000)).toBe('2 min 5 s');
  });

  it('num groups integers, rounds fractions, and shows a dash for what is not a number', () => {
    expect(num(1234567)).toBe('1,234,567');
    expect(num(3.14159)).toBe('3.14');
    expect(num(3.14159, 3)).toBe('3.142');
    expect(num(123.456)).toBe('123.5');
    expect(num(null)).toBe('—');
    expect(num(Number.NaN)).toBe('—');
    expect(num(Infinity)).toBe('—');
  });

  it('bytes in binary units, whole bytes without decimals, negative values too', () => {
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(-3 * 1024 * 1024)).toBe('-3.0 MiB');
    expect(bytes(5 * 1024 ** 4)).toBe('5120.0 GiB');
    expect(bytes(undefined)).toBe('—');
  });
});
