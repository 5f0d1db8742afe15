import { WebSocket } from 'ws';

/** Sends one JSON frame if the socket is open; a closing socket silently drops it. */
export function send(ws: WebSocket, msg: object): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.send(JSON.stringify(msg));
  // a corked socket is checked when it is uncorked, once its frames of this turn are written
  const socket = socketOf(ws);
  if (!socket || !corked.has(socket)) checkQueue(ws);
}

/** A socket's send-queue bound: past `limit` bytes buffered, `over` runs, once. */
interface QueueWatch {
  limit: number;
  over: (queued: number) => void;
  fired: boolean;
}
const watches = new WeakMap<WebSocket, QueueWatch>();

/**
 * Bounds what the server holds for one socket: after every write (and after every uncork),
 * if `ws.bufferedAmount` (bytes the kernel has not taken yet) exceeds `limit`, `over` is
 * called once with the amount. A reader that keeps up never gets near it: the kernel takes
 * everything and bufferedAmount stays 0.
 */
export function watchSendQueue(ws: WebSocket, limit: number, over: (queued: number) => void): void {
  watches.set(ws, { limit, over, fired: false });
}

function checkQueue(ws: WebSocket): void {
  const w = watches.get(ws);
  if (!w || w.fired) return;
  const queued = ws.bufferedAmount;
  if (queued <= w.limit) return;
  w.fired = true;
  w.over(queued);
}

function socketOf(ws: WebSocket): import('node:net').Socket | null | undefined {
  return (ws as unknown as { _socket?: import('node:net').Socket | null })._socket;
}

const TEXT_FRAME = { binary: false, compress: false, fin: true } as const;

/**
 * Sends an already serialised frame as text. Broadcasts pass a Buffer encoded once, so
 * ws does not re-encode the same string for every receiver.
 */
export function sendText(ws: WebSocket, text: string | Buffer): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  cork(ws);
  ws.send(text, TEXT_FRAME);
}

/**
 * Broadcasts write many small frames to the same sockets within one turn of the event loop
 * (every message read in one poll phase). Corking each socket until the next check phase
 * turns them into one write syscall per socket instead of one per frame; the frames still
 * leave in the same loop iteration.
 */
const corked = new Map<import('node:net').Socket, WebSocket>();
let uncorkScheduled = false;

function cork(ws: WebSocket): void {
  const socket = socketOf(ws);
  if (!socket || corked.has(socket)) return;
  socket.cork();
  corked.set(socket, ws);
  if (!uncorkScheduled) {
    uncorkScheduled = true;
    setImmediate(uncorkAll);
  }
}

function uncorkAll(): void {
  uncorkScheduled = false;
  const batch = [...corked];
  corked.clear();
  for (const [socket, ws] of batch) {
    if (socket.destroyed) continue;
    socket.uncork();
    checkQueue(ws);
  }
}

/** Serialises a frame once for many receivers. */
export function encode(msg: object): Buffer {
  return Buffer.from(JSON.stringify(msg));
}

export function sendError(ws: WebSocket, message: string): void {
  send(ws, { type: 'error', message });
}

/** Answers a bad frame with an error frame; true, so a handler can `return fail(...)`. */
export function fail(conn: { ws: WebSocket }, message: string): true {
  sendError(conn.ws, message);
  return true;
}

export type Frame = { type: string; [k: string]: unknown };

/** Parses a text frame; on failure returns the message of the error frame to answer. */
export function parseTextFrame(text: string): Frame | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'invalid JSON';
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'expected a JSON object';
  const type = (v as { type?: unknown }).type;
  if (typeof type !== 'string') return 'missing or non-string field "type"';
  return v as Frame;
}

export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** The error message for a field of the wrong type, or null when it is fine. */
export function checkFields(m: Frame, spec: Record<string, 'id' | 'string' | 'boolean' | 'object'>): string | null {
  for (const [field, kind] of Object.entries(spec)) {
    const v = m[field];
    const ok =
      kind === 'id' ? isId(v) : kind === 'object' ? !!v && typeof v === 'object' && !Array.isArray(v) : typeof v === kind;
    if (!ok) {
      const what = kind === 'id' ? 'a positive integer id' : kind === 'object' ? 'an object' : `a ${kind}`;
      return `${m.type}: field "${field}" must be ${what}`;
    }
  }
  return null;
}
