import { servicePrefixOf } from './format-event.js';
import { filterForFinding, isUserLifecycle, matchesTrace, readTrace, type TraceFilter } from './trace-reader.js';
import type { TraceLine } from './tracer.js';
import { checkSameRun, traceHeader } from './same-run.js';

export interface StoryQuery {
  user?: number;
  socket?: string;
  peer?: string;
  /** event names or families (`webrtc` matches every webrtc.* event) */
  ev?: string[];
  /** a finding of `report`: its subject's events */
  finding?: { id: string; report: string };
  /** with a finding about a socket or peer: also the lifecycle of the user's other ones of the same kind (default true) */
  context?: boolean;
}

export interface StoryLine {
  lineNo: number;
  /** the line as written in the trace */
  text: string;
  line: TraceLine;
  /** false for a context line (another socket or peer of the subject's user) */
  subject: boolean;
}

export interface StorySummary {
  /** the finding the story is about, as the report names it */
  finding: { id: string; class?: string; message?: string } | null;
  /** true when lines are split into subject and context */
  marked: boolean;
  shown: number;
  /** the trace ends with trace.end (a run cut short has none) */
  ended: boolean;
  /** events the tracer dropped while the disk could not keep up */
  dropped: number;
  /** with a finding: why the trace cannot be told to be of the report's run, if it cannot */
  sameRunNote: string | null;
}

/**
 * Reads a trace for a person: the lines of one user, socket, peer or finding, streamed.
 * The query is resolved (the report read for a finding, the trace checked to be of its run)
 * before any line is shown, so an unknown finding or another run's trace fails before output begins; the summary is complete once `lines` ends.
 */
export async function traceStory(file: string, q: StoryQuery): Promise<{ summary: StorySummary; lines: AsyncGenerator<StoryLine> }> {
  const filter: TraceFilter = {};
  let context: (TraceFilter & { service: string }) | null = null;
  const summary: StorySummary = { finding: null, marked: false, shown: 0, ended: false, dropped: 0, sameRunNote: null };
  if (q.finding) {
    const picked = await filterForFinding(q.finding.report, q.finding.id);
    // another run's trace would tell an unrelated user's story: refused before any line is shown
    summary.sameRunNote = checkSameRun(file, await traceHeader(file), q.finding.report, picked.report, q.finding.id);
    Object.assign(filter, picked.filter);
    const { user, socket, peer } = picked.filter;
    if (q.context !== false && user !== undefined && (socket || peer)) {
      context = { user, service: servicePrefixOf(socket ? { ev: 'socket.open', socket } : { ev: 'webrtc.peer', peer }) };
    }
    summary.finding = { id: picked.finding.id, class: picked.finding.class, message: picked.finding.message };
  }
  if (q.user !== undefined) filter.user = q.user;
  if (q.socket !== undefined) filter.socket = q.socket;
  if (q.peer !== undefined) filter.peer = q.peer;
  if (q.ev?.length) filter.ev = q.ev;
  summary.marked = context !== null;

  async function* lines(): AsyncGenerator<StoryLine> {
    for await (const { lineNo, text, line } of readTrace(file)) {
      if (line.ev === 'trace.end') summary.ended = true;
      else if (line.ev === 'trace.dropped' && typeof line.count === 'number') summary.dropped += line.count;
      const subject = matchesTrace(line, filter);
      const around = !subject && context !== null && isUserLifecycle(line) && matchesTrace(line, context) && servicePrefixOf(line) === context.service;
      if (!subject && !around) continue;
      summary.shown++;
      yield { lineNo, text, line, subject };
    }
  }
  return { summary, lines: lines() };
}
