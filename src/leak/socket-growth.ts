import type { SocketKind } from '../protocol/messages.js';
import type { FindingDraft, LeakUserView } from './types.js';
import { classify, countByKind, label } from './views.js';

/**
 * socket-growth: a user's socket count grows as it switches channels or reconnects. Three
 * signals, one finding per user and kind: sockets the client abandoned without closing
 * (the `leaky` switch), more open sockets than the scenario means the user to hold, and an
 * open count that rose at each of the last `rises` checkpoints. One socket of a kind is never
 * growth, whatever the hint says: the hint is the runner's bookkeeping, the ledger the truth.
 */
const KINDS: SocketKind[] = ['chat', 'voice', 'notifications'];

export class SocketGrowthCheck {
  /** per user index, per kind, the open count at each checkpoint */
  private readonly history = new Map<number, Record<SocketKind, number[]>>();

  constructor(private readonly rises = 2) {}

  /** `final`: users have left; what they still hold is the bench's own leak, judged elsewhere. */
  check(users: LeakUserView[], opts: { final?: boolean } = {}): FindingDraft[] {
    const drafts = new Map<string, FindingDraft>();
    for (const v of users) {
      const c = classify(v);
      const open = [...c.required, ...c.frozen];
      const counts = countByKind(open);
      let h = this.history.get(v.ledger.index);
      if (!h) this.history.set(v.ledger.index, (h = { chat: [], voice: [], notifications: [] }));
      const base = { user: v.ledger.index, userId: v.ledger.userId ?? undefined, username: v.ledger.username };
      for (const kind of KINDS) {
        h[kind].push(counts[kind]);
        const series = h[kind].slice(-(this.rises + 1));
        const abandoned = open.filter((s) => s.kind === kind && s.abandoned);
        const want = v.expectedOpen?.[kind];
        const rising = series.length === this.rises + 1 && series.every((n, i) => i === 0 || n > series[i - 1]!);
        let why: string | null = null;
        if (abandoned.length) why = `${abandoned.length} it abandoned without closing`;
        else if (!opts.final && want !== undefined && countByKind(c.required)[kind] > Math.max(want, 1)) why = `the scenario means it to hold ${want}`;
        else if (rising) why = `the count rose at each of the last ${this.rises} checkpoints (${series.join(' → ')})`;
        if (!why) continue;
        drafts.set(`${v.ledger.index}:${kind}`, {
          class: 'socket-growth',
          message: `${label(v)} holds ${counts[kind]} open ${kind} sockets: ${why}`,
          subject: { ...base, kind },
          expected: want ?? counts[kind] - abandoned.length,
          observed: counts[kind],
          since: abandoned.length ? Math.min(...abandoned.map((s) => s.openedAt ?? Infinity)) : undefined,
          details: { history: h[kind].slice(), openSockets: open.filter((s) => s.kind === kind), reconnectAttempts: v.ledger.reconnectAttempts, connectionsCreated: v.ledger.connectionsCreated },
        });
      }
    }
    return [...drafts.values()];
  }
}
