import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { clock } from '../clock.js';

/** An HTTP failure answered as `{detail}` with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | unknown[],
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? detail : 'validation error');
  }
}

/** One pydantic-style entry of a 422 detail list. */
export interface FieldError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function rawJson(status: number, text: string, detail: string): string {
  const body = JSON.stringify({ detail });
  return `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * Answers on raw sockets (an upgrade refused before it is accepted, a request Node could not
 * parse or that timed out) and closes them fully. `end()` alone only half-closes: a peer that
 * never sends its FIN would keep the socket, and its fd, forever. So after the answer the
 * socket is read to its end (the peer's FIN completes the close) and destroyed after
 * `timeoutMs` if the peer has not closed by then. At most `maxLingering` sockets wait so;
 * beyond, a socket is destroyed as soon as its answer is written.
 */
export class RawAnswers {
  private readonly lingering = new Set<Duplex>();

  constructor(
    private readonly timeoutMs: number,
    private readonly maxLingering: number,
  ) {}

  /** Answers `{detail}` with `status`, then closes the socket (see the class). */
  end(socket: Duplex, status: number, text: string, detail = text): void {
    if (socket.destroyed) return;
    if (!socket.writable) {
      // answered already (a second parse error on the same socket): nothing more to say
      socket.destroy();
      return;
    }
    const answer = rawJson(status, text, detail);
    if (this.lingering.size >= this.maxLingering) {
      socket.end(answer, () => socket.destroy());
      return;
    }
    this.lingering.add(socket);
    const timer = clock.setTimeout(() => socket.destroy(), this.timeoutMs);
    socket.once('close', () => {
      clock.clearTimeout(timer);
      this.lingering.delete(socket);
    });
    socket.end(answer);
    // an upgrade socket nobody reads would never see the peer's FIN
    socket.resume();
  }

  /** Sockets answered and waiting for their peer to close. */
  get size(): number {
    return this.lingering.size;
  }

  /** Destroys every waiting socket (shutdown). */
  destroyAll(): void {
    for (const socket of this.lingering) socket.destroy();
  }
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Reads the body up to `max` bytes; 413 beyond, checked on Content-Length first. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    return Promise.reject(new HttpError(413, `Request body too large (limit ${max} bytes)`, { connection: 'close' }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        req.resume();
        reject(new HttpError(413, `Request body too large (limit ${max} bytes)`, { connection: 'close' }));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** A JSON object body: 415 for another media type, 422 for bad JSON or a non-object. */
export async function readJson(req: IncomingMessage, max: number): Promise<Record<string, unknown>> {
  if (mediaType(req) !== 'application/json') {
    throw new HttpError(415, 'Unsupported Media Type: expected application/json');
  }
  const buf = await readBody(req, max);
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new HttpError(422, [{ type: 'json_invalid', loc: ['body'], msg: `JSON decode error: ${(err as Error).message}` }]);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new HttpError(422, [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object', input: v }]);
  }
  return v as Record<string, unknown>;
}

/** An OAuth2 password form: 415 for another media type. */
export async function readForm(req: IncomingMessage, max: number): Promise<URLSearchParams> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, 'Unsupported Media Type: expected application/x-www-form-urlencoded');
  }
  return new URLSearchParams((await readBody(req, max)).toString('utf8'));
}

/** Collects pydantic-like field errors and throws one 422 with all of them. */
export class BodyCheck {
  readonly errors: FieldError[] = [];

  constructor(private readonly body: Record<string, unknown>) {}

  str(field: string, o: { min?: number; max?: number; optional?: boolean } = {}): string | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) {
      if (!o.optional) this.errors.push({ type: 'missing', loc: ['body', field], msg: 'Field required' });
      return undefined;
    }
    if (typeof v !== 'string') {
      this.errors.push({ type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string', input: v });
      return undefined;
    }
    if (o.min !== undefined && v.length < o.min) {
      this.errors.push({ type: 'string_too_short', loc: ['body', field], msg: `String should have at least ${o.min} characters`, input: v });
    } else if (o.max !== undefined && v.length > o.max) {
      this.errors.push({ type: 'string_too_long', loc: ['body', field], msg: `String should have at most ${o.max} characters`, input: v });
    }
    return v;
  }

  int(field: string, o: { min?: number; max?: number; optional?: boolean } = {}): number | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) {
      if (!o.optional) this.errors.push({ type: 'missing', loc: ['body', field], msg: 'Field required' });
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      this.errors.push({ type: 'int_type', loc: ['body', field], msg: 'Input should be a valid integer', input: v });
      return undefined;
    }
    if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) {
      this.errors.push({ type: 'int_range', loc: ['body', field], msg: `Input should be between ${o.min ?? '-inf'} and ${o.max ?? 'inf'}`, input: v });
    }
    return v;
  }

  fail(field: string, type: string, msg: string, input?: unknown): void {
    this.errors.push({ type, loc: ['body', field], msg, input });
  }

  done(): void {
    if (this.errors.length) throw new HttpError(422, this.errors);
  }
}

/** Strict enough for Miscord's email-validator: refuses special-use domains. */
const SPECIAL_USE_TLDS = new Set(['arpa', 'invalid', 'local', 'localhost', 'onion', 'test']);
const EMAIL_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$/;

export function emailProblem(email: string): string | null {
  const m = EMAIL_RE.exec(email);
  if (!m || email.length > 254) return 'value is not a valid email address: the email address is not valid';
  const local = email.slice(0, email.indexOf('@'));
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return 'value is not a valid email address: invalid local part';
  const tld = m[1]!.split('.').pop()!.toLowerCase();
  if (SPECIAL_USE_TLDS.has(tld)) return `value is not a valid email address: the domain name ${m[1]} is a special-use or reserved name that cannot be used with email`;
  return null;
}
