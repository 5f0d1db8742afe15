import { readFileSync } from 'node:fs';
import { MbError } from '../errors.js';

/** `--users-file`: existing accounts, from a JSON array of {username, password} or the file `provision` writes. */
export function readUsersFile(path: string): Array<{ username: string; password: string }> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MbError('MB_ERR_USAGE', `--users-file ${path}: ${(err as Error).message}`);
  }
  // a file written by `provision`: {version: 1, users: [...], world: {...}}
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && Array.isArray((raw as { users?: unknown }).users)) raw = (raw as { users: unknown[] }).users;
  if (!Array.isArray(raw) || raw.length === 0) throw new MbError('MB_ERR_USAGE', `--users-file ${path}: expected a non-empty JSON array of {username, password}, or a file written by provision`);
  raw.forEach((u, i) => {
    if (!u || typeof u.username !== 'string' || typeof u.password !== 'string') throw new MbError('MB_ERR_USAGE', `--users-file ${path}: [${i}]: expected {username, password} strings`);
  });
  return raw as Array<{ username: string; password: string }>;
}
