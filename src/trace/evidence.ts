import { servicePrefixOf } from './format-event.js';
import { isUserLifecycle } from './trace-reader.js';
import type { TraceLine, Tracer } from './tracer.js';

/** Who a finding is about: the simulated user and, when known, its socket or peer. */
export interface EvidenceSubject {
  user?: number;
  socket?: string;
  peer?: string;
}

export interface EvidenceOptions {
  /** a socket or peer the client never traced (known only from the server's list) gets the user's story (default true) */
  fallbackToUser?: boolean;
  /**
   * also the lifecycle of the user's other sockets or peers of the same kind, marked
   * `related: true`: a leak often starts there (closing the first tab removed the second
   * tab's entry; a switch abandoned the old socket). Default false.
   */
  context?: boolean;
}

/**
 * The last `n` trace events of a finding's subject, as plain objects ready for
 * `finding.evidence.trace`: the story of how that socket or peer came to leak. A subject
 * without a user (a server-wide trend) has no story of its own and gets none.
 */
export function evidenceFor(tracer: Pick<Tracer, 'recent'>, subject: EvidenceSubject, n = 20, opts: EvidenceOptions = {}): Array<Record<string, unknown>> {
  if (typeof subject.user !== 'number') return [];
  const filter = subject.socket ? { socket: subject.socket } : subject.peer ? { peer: subject.peer } : undefined;
  let lines: Array<TraceLine & { related?: boolean }> = tracer.recent(subject.user, filter, n);
  if (lines.length === 0 && filter && (opts.fallbackToUser ?? true)) lines = tracer.recent(subject.user, undefined, n);
  else if (filter && opts.context) {
    const service = servicePrefixOf(subject.socket ? { ev: 'socket.open', socket: subject.socket } : { ev: 'webrtc.peer', peer: subject.peer });
    const mine = (l: TraceLine) => (filter.socket ? l.socket === filter.socket : l.peer === filter.peer);
    lines = tracer
      .recent(subject.user, undefined, Number.MAX_SAFE_INTEGER)
      .filter((l) => mine(l) || (isUserLifecycle(l) && servicePrefixOf(l) === service))
      .slice(-n)
      .map((l) => (mine(l) ? l : { ...l, related: true }));
  }
  // copies, so a report never aliases the tracer's rings
  return lines.map((l) => ({ ...l }));
}
