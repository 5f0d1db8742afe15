import type { Tracer } from './tracer.js';

/** Who a finding is about: the simulated user and, when known, its socket or peer. */
export interface EvidenceSubject {
  user?: number;
  socket?: string;
  peer?: string;
}

/**
 * The last `n` trace events of a finding's subject, as plain objects ready for
 * `finding.evidence.trace`: the story of how that socket or peer came to leak. A subject
 * without a user (a server-wide trend) has no story of its own and gets none.
 */
export function evidenceFor(tracer: Tracer, subject: EvidenceSubject, n = 20, opts: { fallbackToUser?: boolean } = {}): Array<Record<string, unknown>> {
  if (typeof subject.user !== 'number') return [];
  const filter = subject.socket ? { socket: subject.socket } : subject.peer ? { peer: subject.peer } : undefined;
  let lines = tracer.recent(subject.user, filter, n);
  // a socket the client never traced (known only from the server's list): the user's story is the next best
  if (lines.length === 0 && filter && (opts.fallbackToUser ?? true)) lines = tracer.recent(subject.user, undefined, n);
  // copies, so a report never aliases the tracer's rings
  return lines.map((l) => ({ ...l }));
}
