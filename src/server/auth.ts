import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

/**
 * Password hashing (scrypt, salted, in the `scrypt$N$salt$hash` format) and HS256 tokens
 * whose `sub` is the user id as a string, as Miscord issues them.
 */
const KEY_LEN = 32;

function scryptAsync(password: string, salt: Buffer, N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes; the default (32 MiB) refuses N >= 2^15
    scrypt(password, salt, KEY_LEN, { N, r: 8, p: 1, maxmem: 256 * N * 8 + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, N: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N);
  return `scrypt$${N}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !n || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Verified tokens kept to skip jose's WebCrypto round trip (~0.5 ms) on every reconnect. */
const CACHE_MAX = 20_000;

export class TokenService {
  private readonly cache = new Map<string, { userId: number; expMs: number }>();

  constructor(
    private readonly secret: Uint8Array,
    private readonly ttlSec: number,
  ) {}

  sign(userId: number): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(userId))
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSec}s`)
      .sign(this.secret);
  }

  /** The user id of a valid, unexpired token, or null for anything else (never throws). */
  async verify(token: string | null | undefined): Promise<number | null> {
    if (!token || token.length > 4096) return null;
    const hit = this.cache.get(token);
    if (hit) {
      if (Date.now() < hit.expMs) return hit.userId;
      this.cache.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: ['HS256'] });
      if (typeof payload.exp !== 'number') return null;
      const id = Number(payload.sub);
      if (!Number.isSafeInteger(id) || id <= 0) return null;
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(token, { userId: id, expMs: payload.exp * 1000 });
      return id;
    } catch {
      return null;
    }
  }
}
