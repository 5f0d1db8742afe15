import type { Finding, Report } from './schema.js';

/** Words shared by every renderer, so md, junit, html and the terminal say the same thing. */
export function verdictWord(r: Report): { word: string; tone: 'pass' | 'fail' | 'leak' | 'incomplete' } {
  switch (r.verdict.exitCode) {
    case 0:
      return { word: 'passed', tone: 'pass' };
    case 3:
      return { word: 'incomplete', tone: 'incomplete' };
    case 5:
      return { word: 'leak found', tone: 'leak' };
    case 4:
      // only gates that could not be judged: not a pass, but nothing measured failed either
      return { word: r.verdict.failedGates === 0 && (r.verdict.unjudgedGates ?? 0) > 0 ? 'not judged' : 'failed', tone: 'fail' };
    default:
      return { word: 'failed', tone: 'fail' };
  }
}

export function verdictLine(r: Report): string {
  const v = verdictWord(r);
  const bits = [`exit ${r.verdict.exitCode}`];
  if (r.verdict.leaks) bits.push(`${r.verdict.leaks} leak finding${r.verdict.leaks === 1 ? '' : 's'}`);
  if (r.verdict.failedGates) bits.push(`${r.verdict.failedGates} failed gate${r.verdict.failedGates === 1 ? '' : 's'}`);
  const unjudged = r.verdict.unjudgedGates ?? 0;
  if (unjudged) bits.push(`${unjudged} gate${unjudged === 1 ? '' : 's'} not judged`);
  if (r.status === 'incomplete') bits.push(`incomplete: ${r.abortReason ?? 'no reason given'}`);
  return `${v.word} (${bits.join(', ')})`;
}

/** "user 3 (mb-x-3) chat socket u3-chat-2 channel 7" */
export function subjectText(f: Finding): string {
  const s = f.subject;
  const parts: string[] = [];
  if (s.user !== undefined) parts.push(`user ${s.user}${s.username ? ` (${s.username})` : ''}`);
  else if (s.username) parts.push(s.username);
  if (s.kind) parts.push(`${s.kind} socket`);
  if (s.socket) parts.push(s.socket);
  if (s.channelId !== undefined && s.channelId !== null) parts.push(`channel ${s.channelId}`);
  if (s.roomId !== undefined) parts.push(`room ${s.roomId}`);
  if (s.peer) parts.push(`peer ${s.peer}`);
  if (s.resource) parts.push(s.resource);
  return parts.join(' ') || '—';
}

export function brief(v: unknown): string {
  if (v === undefined) return '—';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function num(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toFixed(Math.abs(v) >= 100 ? 1 : digits);
}

export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i ? 1 : 0)} ${u[i]}`;
}
