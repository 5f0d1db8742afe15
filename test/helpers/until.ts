/**
 * Waiting on a condition without polling: `until(pred)` resolves once `pred` holds, checked
 * now and again whenever the code under watch calls `changed()` (on each event it records).
 */
export function conditions(): { changed(): void; until(pred: () => boolean): Promise<void> } {
  const listeners = new Set<() => void>();
  return {
    changed: () => listeners.forEach((l) => l()),
    until: (pred) =>
      new Promise<void>((resolve) => {
        const check = () => pred() && (listeners.delete(check), resolve());
        listeners.add(check);
        check();
      }),
  };
}
