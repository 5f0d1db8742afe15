import type { Finding } from './schema.js';

/**
 * Findings of one fault come by the dozen (63 zombie sockets of one bug): a reader wants
 * the fault once, with its count, and the list a click away. A group is one class of
 * finding, one kind of subject (chat, voice, notifications, a resource) and one checkpoint
 * (which says the phase: "after connect", "final"), in the order the findings came.
 */
export interface FindingGroup {
  key: string;
  class: Finding['class'];
  /** the subject's socket kind, or its resource, or null */
  kind: string | null;
  checkpoint: string;
  findings: Finding[];
}

function kindOf(f: Finding): string | null {
  return f.subject.kind ?? f.subject.resource ?? (f.subject.peer ? 'peer' : null);
}

export function groupFindings(findings: readonly Finding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const f of findings) {
    const kind = kindOf(f);
    const key = `${f.class}\u0000${kind ?? ''}\u0000${f.checkpoint}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, class: f.class, kind, checkpoint: f.checkpoint, findings: [] }));
    g.findings.push(f);
  }
  // classes together, each class's groups in the order they first appeared
  const order = [...new Set(findings.map((f) => f.class))];
  return [...groups.values()].sort((a, b) => order.indexOf(a.class) - order.indexOf(b.class));
}

/** "zombie-socket × 63 · chat · at final" */
export function groupTitle(g: FindingGroup): string {
  return [`${g.class} × ${g.findings.length}`, g.kind, `at ${g.checkpoint}`].filter(Boolean).join(' · ');
}
