// A bare `ws` room server for bench/server-bench.js: the baseline the reference server's
// latency is read against, on the same machine, in the same run, with the same driver.
// It does what a chat server must and nothing more: rooms by the URL's server id, each message
// parsed, stamped and sent to every socket of the room (its sender too). No auth, no limits,
// no registry, no heartbeat, no corking. IPC: {type:'listening', url} out; {cmd:'close'} in.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
const rooms = new Map();
let seq = 0;
wss.on('connection', (ws, req) => {
  const room = /^\/ws\/chat\/(\d+)/.exec(req.url ?? '')?.[1] ?? '0';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on('close', () => members.delete(ws));
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    const out = JSON.stringify({ type: 'message', id: ++seq, content: m.content, author: { id: 1, username: 'bare' }, timestamp: new Date().toISOString(), text_channel_id: m.text_channel_id });
    for (const c of members) c.send(out);
  });
});
wss.on('listening', () => process.send({ type: 'listening', url: `http://127.0.0.1:${wss.address().port}` }));
process.on('message', (m) => {
  if (m?.cmd !== 'close') return;
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
