import { clock } from '../clock.js';
import type { Finding } from '../report/schema.js';
import type { Tracer } from '../trace/tracer.js';
import { evidenceFor } from '../trace/evidence.js';
import type { FindingDraft } from './types.js';

/**
 * The findings of a run, deduplicated: the same class and subject seen at several
 * checkpoints is one finding, first seen at the earliest, its age and observation brought
 * up to date at the latest. Evidence is the draft's details plus the subject's trace lines.
 */
export function subjectKey(d: Pick<FindingDraft, 'class' | 'subject'>): string {
  const s = d.subject as Record<string, unknown>;
  const keys = Object.keys(s)
    .filter((k) => s[k] !== undefined)
    .sort();
  return d.class + '|' + keys.map((k) => `${k}=${String(s[k])}`).join(',');
}

/** A finding from its draft, first seen now (the one place a Finding is made, for the detector's book and the phases' own). */
export function findingOf(d: FindingDraft, id: string, checkpoint: string, ageMs: number | null, evidence: Finding['evidence']): Finding {
  return { id, class: d.class, message: d.message, subject: d.subject, expected: d.expected, observed: d.observed, checkpoint, firstSeen: new Date(clock.wall()).toISOString(), ageMs, evidence };
}

export class FindingBook {
  private readonly byKey = new Map<string, { finding: Finding; since: number }>();
  private seq = 0;

  constructor(private readonly tracer?: Pick<Tracer, 'recent'>, private readonly traceLimit = 20) {}

  /** Records the drafts of one checkpoint; returns the ids of the findings they map to. */
  record(checkpoint: string, drafts: FindingDraft[]): string[] {
    const ids: string[] = [];
    const now = clock.now();
    for (const d of drafts) {
      const key = subjectKey(d);
      const seen = this.byKey.get(key);
      if (seen) {
        const f = seen.finding;
        f.observed = d.observed;
        f.message = d.message;
        f.ageMs = Math.round(now - seen.since);
        f.evidence.details = { ...f.evidence.details, ...d.details, lastSeen: checkpoint };
        if (!ids.includes(f.id)) ids.push(f.id);
        continue;
      }
      const since = d.since ?? now;
      const f = findingOf(d, `F${++this.seq}`, checkpoint, Math.round(now - since), { details: { ...d.details }, trace: this.traceOf(d) });
      this.byKey.set(key, { finding: f, since });
      ids.push(f.id);
    }
    return ids;
  }

  /**
   * The subject's last trace lines, with the lifecycle of the user's other sockets (or peers)
   * of the same kind marked `related`: a leak often starts there (a second tab, an abandoned
   * switch). A socket id the tracer never saw (a server-side entry) gets the user's story.
   */
  private traceOf(d: FindingDraft): Finding['evidence']['trace'] {
    const who = d.evidenceOf ?? d.subject;
    if (!this.tracer) return [];
    return evidenceFor(this.tracer, { user: who.user, socket: who.socket, peer: who.peer }, this.traceLimit, { context: true });
  }

  all(): Finding[] {
    return [...this.byKey.values()].map((v) => v.finding);
  }
}
