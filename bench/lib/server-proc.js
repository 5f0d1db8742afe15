// The reference server in its own process for bench/server-bench.js. Run with --expose-gc.
// IPC: sends {type:'listening', url}; answers {cmd:'mem'} with RSS and heap after two GCs.
import { createReferenceServer } from '../../dist/server/index.js';

const opts = JSON.parse(process.argv[2] ?? '{}');
const server = await createReferenceServer({ port: 0, ...opts });
process.send({ type: 'listening', url: server.url });

process.on('message', async (m) => {
  if (m.cmd === 'mem') {
    globalThis.gc?.();
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    const { user, system } = process.cpuUsage();
    process.send({ type: 'mem', rss, heapUsed, cpuUs: user + system });
  } else if (m.cmd === 'close') {
    await server.close();
    process.disconnect();
  }
});
// the parent died: do not outlive it
process.on('disconnect', () => void server.close());
