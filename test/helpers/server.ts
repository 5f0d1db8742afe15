import { onTestFinished } from 'vitest';
import { createReferenceServer, type ReferenceServer, type ReferenceServerOptions } from '../../src/server/index.js';

/**
 * The reference server in this process on 127.0.0.1, port 0, closed when the test ends (its
 * teardown registered the moment it exists). Call it inside a test.
 */
export async function startServer(opts: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const s = await createReferenceServer({ port: 0, ...opts });
  onTestFinished(() => s.close());
  return s;
}
