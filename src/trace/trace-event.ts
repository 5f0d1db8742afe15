/** One event of the trace, as client code emits it, and as a line of the trace (with its time). */
export interface TraceEvent {
  ev: string;
  /** Simulated user index (stable across runs with the same seed). */
  user?: number;
  /** Client socket id from the ledger, e.g. u3-chat-2. */
  socket?: string;
  /** Peer id `u<index>->#<remote server user id>` (uN: a bench user index, #N: a server user id). */
  peer?: string;
  [field: string]: unknown;
}

export interface TraceLine extends TraceEvent {
  /** Monotonic ms since the tracer started. */
  t: number;
}
