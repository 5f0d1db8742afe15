import { MbError } from '../errors.js';
import { readTrace, type ReportRuns } from './trace-reader.js';

import type { TraceLine } from './tracer.js';

export type { ReportRuns };

/**
 * `trace --finding F --report R`: the trace must be of the run the finding comes from, or
 * the story told is some other user's. A run writes its id in the trace's first line
 * (`trace.start`, field `run`) and in its report (`runId`); a merged report lists the runs
 * it holds (`merge.runIds`) and which part a finding came from (`s1/F3` is part s1).
 * Without ids (files written before them) the trace's start must fall within the report's
 * run; with nothing to compare, the caller says so.
 */

/** The trace's trace.start line, or null when its first event is something else. */
export async function traceHeader(file: string): Promise<TraceLine | null> {
  for await (const { line } of readTrace(file)) return line.ev === 'trace.start' ? line : null;
  return null;
}

/** How far before the report's start a trace may begin (the tracer opens before the clock starts). */
const OPEN_SLACK_MS = 60_000;

/**
 * Throws MB_ERR_USAGE when the trace is not of the finding's run. Returns a note when the
 * files carry nothing to tell (no ids, no times), null when they matched.
 */
export function checkSameRun(traceFile: string, header: TraceLine | null, reportFile: string, report: ReportRuns, findingId: string): string | null {
  const traceRun = typeof header?.run === 'string' ? header.run : null;
  const ids = [report.runId, ...(Array.isArray(report.merge?.runIds) ? report.merge!.runIds : [])].filter((x): x is string => typeof x === 'string');
  if (traceRun && ids.length) {
    if (!ids.includes(traceRun)) {
      const theirs = ids.length === 1 ? `run ${ids[0]}` : `runs ${ids.join(', ')}`;
      throw new MbError('MB_ERR_USAGE', `${traceFile} is the trace of run ${traceRun}, ${reportFile} is the report of ${theirs}: the story of ${findingId} is only in its own run's trace`, {
        traceRun,
        reportRuns: ids,
      });
    }
    // a merged report: the finding's part names the one run whose trace tells its story
    const tag = findingId.includes('/') ? findingId.slice(0, findingId.indexOf('/')) : null;
    const part = tag ? report.merge?.parts?.find((p) => p.tag === tag) : undefined;
    const partRuns = Array.isArray(part?.runIds) ? part!.runIds.filter((x): x is string => typeof x === 'string') : [];
    if (partRuns.length && !partRuns.includes(traceRun)) {
      throw new MbError('MB_ERR_USAGE', `${findingId} comes from part ${tag} (run ${partRuns.join(', ')}), ${traceFile} is the trace of another part (run ${traceRun}): use part ${tag}'s trace`, {
        traceRun,
        partRuns,
      });
    }
    return null;
  }
  const wall = typeof header?.wall === 'string' ? Date.parse(header.wall) : NaN;
  const start = typeof report.startedAt === 'string' ? Date.parse(report.startedAt) : NaN;
  const end = typeof report.endedAt === 'string' ? Date.parse(report.endedAt) : NaN;
  if (Number.isFinite(wall) && Number.isFinite(start) && Number.isFinite(end)) {
    if (wall < start - OPEN_SLACK_MS || wall > end) {
      throw new MbError('MB_ERR_USAGE', `${traceFile} started at ${header!.wall as string}, outside the run of ${reportFile} (${report.startedAt as string} → ${report.endedAt as string}): the story of ${findingId} is only in its own run's trace`, {
        traceStart: header!.wall,
      });
    }
    return null;
  }
  return `cannot tell whether ${traceFile} is the trace of ${reportFile}'s run (no run id or start time to compare): the story is only right if it is`;
}
