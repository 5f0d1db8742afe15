import { MbError } from '../errors.js';

/** The option checks the run plan and provision share (the CLI's flag table parses; these refuse). */

/** `--target`: an http(s) URL (run and provision refuse the same way). */
export function checkTargetUrl(target: string): URL {
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw new MbError('MB_ERR_USAGE', `--target must be a URL such as http://127.0.0.1:8080, got '${target}'`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MbError('MB_ERR_USAGE', `--target must be http:// or https://, got '${target}'`);
  return u;
}

/** `--users`: a positive integer (run and provision refuse the same way). */
export function checkUserCount(users: number): void {
  if (!Number.isInteger(users) || users < 1) throw new MbError('MB_ERR_USAGE', `--users must be a positive integer, got ${users}`);
}
