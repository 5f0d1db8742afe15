import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { MbError } from '../errors.js';
import type { TraceLine } from './tracer.js';

/** What a report says of the runs it holds (its id, times, merged parts): what same-run.ts compares with a trace's first line. */
export interface ReportRuns {
  runId?: unknown;
  startedAt?: unknown;
  endedAt?: unknown;
  merge?: { runIds?: unknown; parts?: Array<{ tag?: unknown; runId?: unknown; runIds?: unknown }> };
}

/** What `miscord-bench trace` keeps of a trace. Every given criterion must hold. */
export interface TraceFilter {
  user?: number;
  socket?: string;
  peer?: string;
  /** event names; `webrtc` also matches every `webrtc.*` event */
  ev?: string[];
  /** only events that concern no user (checkpoints, findings about the server as a whole) */
  userless?: boolean;
}

/** Events that change what a user holds: the lifecycle of its sockets, channels, rooms and peers. */
const LIFECYCLE = new Set(['socket.opening', 'socket.open', 'socket.refused', 'socket.closing', 'socket.close', 'socket.freeze', 'socket.abandon', 'chat.switch', 'voice.join', 'voice.leave', 'webrtc.peer', 'webrtc.peer_closed', 'webrtc.conn_state']);

/**
 * A leak often comes from another socket of the same user (closing the first tab removed
 * the second tab's entry; a switch abandoned the old socket), so a finding's story is its
 * subject's events plus the lifecycle events of the user's other sockets and peers.
 */
export function isUserLifecycle(line: TraceLine): boolean {
  return LIFECYCLE.has(String(line.ev));
}

export function matchesTrace(line: TraceLine, f: TraceFilter): boolean {
  if (f.userless && typeof line.user === 'number') return false;
  if (f.user !== undefined && line.user !== f.user) return false;
  if (f.socket !== undefined && line.socket !== f.socket) return false;
  if (f.peer !== undefined && line.peer !== f.peer) return false;
  if (f.ev && f.ev.length > 0) {
    const ev = String(line.ev);
    if (!f.ev.some((name) => ev === name || ev.startsWith(name + '.'))) return false;
  }
  return true;
}

export interface ReadTraceLine {
  /** 1-based line number in the file */
  lineNo: number;
  /** the line as written */
  text: string;
  line: TraceLine;
}

/**
 * Streams a trace file line by line (a trace of a long run does not fit in memory). A
 * missing file or a line that is not a JSON object with an `ev` is MB_ERR_TRACE_INVALID,
 * naming the file and line; blank lines are skipped.
 */
export async function* readTrace(file: string): AsyncGenerator<ReadTraceLine> {
  const input = createReadStream(file, { encoding: 'utf8' });
  try {
    await once(input, 'open');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : (err as Error).message;
    throw new MbError('MB_ERR_TRACE_INVALID', `cannot read trace ${file}: ${why}`, { file }, { cause: err });
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const text of rl) {
      lineNo++;
      if (text.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (err) {
        throw new MbError('MB_ERR_TRACE_INVALID', `${file}:${lineNo}: not JSON (${(err as Error).message})`, { file, line: lineNo });
      }
      if (!v || typeof v !== 'object' || Array.isArray(v) || typeof (v as TraceLine).ev !== 'string') {
        throw new MbError('MB_ERR_TRACE_INVALID', `${file}:${lineNo}: not a trace event (a JSON object with "ev")`, { file, line: lineNo });
      }
      yield { lineNo, text, line: v as TraceLine };
    }
  } finally {
    rl.close();
    input.destroy();
  }
}

interface ReportFinding {
  id: string;
  class?: string;
  message?: string;
  subject?: { user?: number; socket?: string; peer?: string; [k: string]: unknown };
}

/**
 * The filter for one finding of a report: its subject's user and socket or peer. A finding
 * about no single user (a server-wide trend) selects the events that concern no user.
 */
export async function filterForFinding(reportFile: string, id: string): Promise<{ filter: TraceFilter; finding: ReportFinding; report: ReportRuns }> {
  let report: { findings?: ReportFinding[] } & ReportRuns;
  try {
    report = JSON.parse(await readFile(reportFile, 'utf8')) as typeof report;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new MbError('MB_ERR_REPORT_INVALID', `cannot read report ${reportFile}: ${why}`, { file: reportFile }, { cause: err });
  }
  if (!report || typeof report !== 'object' || !Array.isArray(report.findings)) {
    throw new MbError('MB_ERR_REPORT_INVALID', `${reportFile} is not a miscord-bench report (no findings list)`, { file: reportFile });
  }
  const finding = report.findings.find((f) => f && f.id === id);
  if (!finding) {
    const ids = report.findings.map((f) => f.id).join(', ');
    throw new MbError('MB_ERR_USAGE', `finding ${id} is not in ${reportFile} (${ids ? `it has ${ids}` : 'it has no findings'})`, { finding: id });
  }
  const s = finding.subject ?? {};
  if (typeof s.user !== 'number') return { filter: { userless: true }, finding, report };
  const filter: TraceFilter = { user: s.user };
  if (typeof s.socket === 'string') filter.socket = s.socket;
  else if (typeof s.peer === 'string') filter.peer = s.peer;
  return { filter, finding, report };
}
