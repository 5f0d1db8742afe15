import type { TraceEvent, TraceLine } from './tracer.js';

/**
 * One formatter for trace events, shared by the debug log and `miscord-bench trace`, so a
 * line in the log and the same event read back from a trace file say the same thing.
 */

const SUBJECT_KEYS = new Set(['t', 'ev', 'user', 'socket', 'peer']);
const MAX_VALUE_CHARS = 160;

/** The client-side log prefix of an event, named as Miscord's own front end names its services. */
export function servicePrefixOf(e: TraceEvent): string {
  const ev = e.ev;
  if (ev === 'checkpoint' || ev === 'finding' || ev.startsWith('leak.')) return '[LeakDetector]';
  if (ev.startsWith('webrtc.') || ev.startsWith('media.') || ev.startsWith('voice.')) return '[VoiceService]';
  if (ev.startsWith('chat.')) return '[ChatService]';
  const kind = socketKindOf(e);
  if (kind === 'chat') return '[ChatService]';
  if (kind === 'voice') return '[VoiceService]';
  if (kind === 'notifications') return '[NotificationService]';
  return '[Runner]';
}

/** The socket kind of an event, from its `kind` field or its ledger socket id `u<i>-<kind>-<n>`. */
export function socketKindOf(e: TraceEvent): 'chat' | 'voice' | 'notifications' | null {
  const k = e.kind;
  if (k === 'chat' || k === 'voice' || k === 'notifications') return k;
  const s = e.socket;
  if (typeof s !== 'string') return null;
  if (s.includes('-chat-')) return 'chat';
  if (s.includes('-voice-')) return 'voice';
  if (s.includes('-notifications-')) return 'notifications';
  return null;
}

function formatValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = /^[\w.:/@#+-]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  else if (typeof v === 'number' || typeof v === 'boolean' || v === null) s = String(v);
  else if (v === undefined) s = 'undefined';
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = '[unserialisable]';
    }
  }
  return s.length > MAX_VALUE_CHARS ? s.slice(0, MAX_VALUE_CHARS - 1) + '…' : s;
}

/** `key=value` for every field but the subject, in the order the emitter gave them. */
export function formatFields(e: TraceEvent): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (SUBJECT_KEYS.has(k) || v === undefined) continue;
    parts.push(`${k}=${formatValue(v)}`);
  }
  return parts.join(' ');
}

/** `u3 u3-chat-2 socket.close by=client code=1000`: the event without its time. */
export function formatEventBody(e: TraceEvent): string {
  const user = typeof e.user === 'number' ? `u${e.user}` : '-';
  const subject = typeof e.socket === 'string' ? e.socket : typeof e.peer === 'string' ? e.peer : '-';
  const fields = formatFields(e);
  return `${user} ${subject} ${e.ev}${fields ? ' ' + fields : ''}`;
}

/** Seconds since the run started, to the microsecond: `12.345678s`. */
export function formatTraceTime(t: number): string {
  return `${(t / 1000).toFixed(6)}s`;
}

/** One readable line of a trace: time, user, socket or peer, event, key fields (columns aligned). */
export function formatTraceLine(l: TraceLine): string {
  const time = formatTraceTime(typeof l.t === 'number' ? l.t : NaN).padStart(13);
  const user = (typeof l.user === 'number' ? `u${l.user}` : '-').padEnd(5);
  const subject = (typeof l.socket === 'string' ? l.socket : typeof l.peer === 'string' ? l.peer : '-').padEnd(20);
  const ev = String(l.ev).padEnd(17);
  const fields = formatFields(l);
  return `${time} ${user} ${subject} ${ev}${fields ? ' ' + fields : ''}`.trimEnd();
}
