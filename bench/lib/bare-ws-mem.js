// The baseline of bench/mem-bench.js: a bare `ws` program, no miscord-bench code, holding the
// same sockets as the generator does (each user's chat and notifications socket, idle, the
// server's pings answered by ws itself), run with --expose-gc in its own process.
// argv[2]: JSON {target, users}. IPC out: {type:'ready', heapUsed, external} after imports,
// before any account exists; {type:'held', heapUsed, external, users, sockets} with every
// socket open (after two GCs; the parent reads RSS from /proc then); {type:'done'}.
import WebSocket from 'ws';

const job = JSON.parse(process.argv[2]);
const send = (m) => process.connected && process.send(m);
process.on('disconnect', () => process.exit(0));
const gc = () => (globalThis.gc(), globalThis.gc(), process.memoryUsage());
const http = job.target.replace(/\/$/, '');
const ws = http.replace(/^http/, 'ws');
const tag = Math.random().toString(36).slice(2, 8);

async function call(path, { token, json, form } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body;
  if (json) (headers['content-type'] = 'application/json'), (body = JSON.stringify(json));
  if (form) (headers['content-type'] = 'application/x-www-form-urlencoded'), (body = new URLSearchParams(form).toString());
  const res = await fetch(`${http}${path}`, { method: body ? 'POST' : 'GET', headers, body });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

async function account(name) {
  await call('/api/auth/register', { json: { username: name, email: `${name}@example.com`, password: 'bare-pw-123' } });
  return (await call('/api/auth/login', { form: { username: name, password: 'bare-pw-123' } })).access_token;
}

function open(url) {
  return new Promise((resolve, reject) => {
    const s = new WebSocket(url);
    s.once('open', () => resolve(s));
    s.once('error', reject);
    s.on('message', (data) => {
      if (String(data).includes('"ping"')) s.send('{"type":"pong"}');
    });
  });
}

const m0 = gc();
send({ type: 'ready', heapUsed: m0.heapUsed, external: m0.external });
const owner = await account(`bare-${tag}-owner`);
const server = await call('/api/channels/', { token: owner, json: { name: `bare-${tag}` } });
const sockets = [];
const batch = 100;
for (let i = 0; i < job.users; i += batch) {
  await Promise.all(
    Array.from({ length: Math.min(batch, job.users - i) }, async (_, k) => {
      const token = await account(`bare-${tag}-u${i + k}`);
      await call(`/api/channels/${server.id}/join`, { token, json: {} });
      sockets.push(await open(`${ws}/ws/chat/${server.id}?token=${encodeURIComponent(token)}`));
      sockets.push(await open(`${ws}/ws/notifications?token=${encodeURIComponent(token)}`));
    }),
  );
}
const m1 = gc();
send({ type: 'held', heapUsed: m1.heapUsed, external: m1.external, users: job.users, sockets: sockets.filter((s) => s.readyState === WebSocket.OPEN).length });
await new Promise((r) => setTimeout(r, 3000));
await Promise.all(sockets.map((s) => new Promise((r) => (s.readyState === WebSocket.CLOSED ? r() : (s.once('close', r), s.close())))));
send({ type: 'done' });
process.disconnect();
