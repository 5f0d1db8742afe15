import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTracer } from '../../src/trace/run-tracer.js';
import { runCli as cli } from '../helpers/cli.js';

// runs the built CLI: `npm test` builds first (or run `npx tsc -p .`)
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let dir: string;
let trace: string;
let report: string;

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'build first: npx tsc -p .').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'mb-trace-cli-'));
  trace = join(dir, 'run.ndjson');
  report = join(dir, 'report.json');
  const tracer = createTracer({ file: trace });
  tracer.emit({ ev: 'http', user: 0, method: 'POST', route: '/api/auth/login', status: 200 });
  tracer.emit({ ev: 'socket.opening', user: 0, socket: 'u0-chat-1', kind: 'chat', channelId: 1 });
  tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-chat-1' });
  tracer.emit({ ev: 'socket.opening', user: 1, socket: 'u1-chat-1', kind: 'chat', channelId: 1 });
  tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-notifications-2', kind: 'notifications' });
  tracer.emit({ ev: 'msg.sent', user: 0, socket: 'u0-chat-1', type: 'message', bytes: 64 });
  tracer.emit({ ev: 'chat.switch', user: 0, socket: 'u0-chat-1', from: 1, to: 2, strategy: 'reconnect' });
  tracer.emit({ ev: 'socket.closing', user: 0, socket: 'u0-chat-1', code: 1000 });
  tracer.emit({ ev: 'socket.close', user: 0, socket: 'u0-chat-1', by: 'client', code: 1000, reason: 'switch' });
  tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-chat-3', kind: 'chat', channelId: 1 });
  tracer.emit({ ev: 'msg.recv', user: 0, socket: 'u0-chat-3', type: 'message' });
  tracer.emit({ ev: 'finding', user: 0, socket: 'u0-chat-1', id: 'F1', class: 'zombie-socket' });
  tracer.emit({ ev: 'webrtc.ice_state', user: 1, peer: 'u1->u0', state: 'connected' });
  tracer.emit({ ev: 'checkpoint', name: 'final', findings: 1 });
  await tracer.close();
  writeFileSync(
    report,
    JSON.stringify({
      findings: [
        { id: 'F1', class: 'zombie-socket', message: 'u0 chat socket u0-chat-1 closed by the client is still registered', subject: { user: 0, socket: 'u0-chat-1' } },
        { id: 'F2', class: 'resource-growth', message: 'server heap grows', subject: {} },
      ],
    }),
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// each case is its own process: run them side by side
describe.concurrent('miscord-bench trace', () => {
  it('prints one readable line per event of a user, in order', async () => {
    const r = await cli(['trace', trace, '--user', '0']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.trim().split(/\s+/)[3])).toEqual(['http', 'socket.opening', 'socket.open', 'socket.open', 'msg.sent', 'chat.switch', 'socket.closing', 'socket.close', 'socket.open', 'msg.recv', 'finding']);
    expect(lines[7]).toMatch(/^\s+\d+\.\d{6}s u0 +u0-chat-1 +socket\.close +by=client code=1000 reason=switch$/);
    expect(r.stderr).toBe('');
  });

  it('filters by event name or family and prints NDJSON with --json', async () => {
    const r = await cli(['trace', trace, '--ev', 'socket.close,webrtc', '--json']);
    expect(r.code).toBe(0);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ev: string });
    expect(evs.map((e) => e.ev)).toEqual(['socket.close', 'webrtc.ice_state']);
  });

  it('warns on stderr when the trace is cut short or lost events', async () => {
    const cut = join(dir, 'cut.ndjson');
    writeFileSync(cut, ['{"t":0,"ev":"trace.start"}', '{"t":1,"ev":"socket.open","user":0,"socket":"u0-chat-1"}', '{"t":2,"ev":"trace.dropped","count":17}'].join('\n') + '\n');
    const r = await cli(['trace', cut, '--user', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('socket.open');
    expect(r.stderr).toContain('note: 17 events were dropped');
    expect(r.stderr).toContain('note: the trace has no trace.end line');
  });

  it('filters by peer', async () => {
    const r = await cli(['trace', trace, '--peer', 'u1->u0']);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toContain('webrtc.ice_state  state=connected');
  });

  it("shows a finding's subject from the report, naming the finding on stderr", async () => {
    const r = await cli(['trace', trace, '--finding', 'F1', '--report', report]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('F1 zombie-socket: u0 chat socket u0-chat-1 closed by the client is still registered');
    // the subject's lines marked '>', the lifecycle of the user's other chat sockets around them
    const rows = r.stdout.split('\n').filter(Boolean).map((l) => [l[0], ...l.slice(1).trim().split(/\s+/).slice(2, 4)].join(' '));
    expect(rows).toEqual([
      '> u0-chat-1 socket.opening',
      '> u0-chat-1 socket.open',
      '> u0-chat-1 msg.sent',
      '> u0-chat-1 chat.switch',
      '> u0-chat-1 socket.closing',
      '> u0-chat-1 socket.close',
      '  u0-chat-3 socket.open',
      '> u0-chat-1 finding',
    ]);
    const bare = await cli(['trace', trace, '--finding', 'F1', '--report', report, '--no-context']);
    expect(bare.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[3])).toEqual(['socket.opening', 'socket.open', 'msg.sent', 'chat.switch', 'socket.closing', 'socket.close', 'finding']);
    const server = await cli(['trace', trace, '--finding', 'F2', '--report', report]);
    expect(server.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[3])).toEqual(['trace.start', 'checkpoint', 'trace.end']);
  });

  it("refuses a report of another run (exit 2, nothing on stdout) and tells its own run's story", async () => {
    const own = join(dir, 'own.ndjson');
    const tracer = createTracer({ file: own, runId: 'run-own' });
    tracer.emit({ ev: 'socket.open', user: 0, socket: 'u0-chat-1' });
    await tracer.close();
    const findings = [{ id: 'F1', class: 'zombie-socket', message: 'still registered', subject: { user: 0, socket: 'u0-chat-1' } }];
    const mine = join(dir, 'mine.json');
    const other = join(dir, 'other-run.json');
    writeFileSync(mine, JSON.stringify({ runId: 'run-own', findings }));
    writeFileSync(other, JSON.stringify({ runId: 'run-other', findings }));
    const [bad, good] = await Promise.all([cli(['trace', own, '--finding', 'F1', '--report', other]), cli(['trace', own, '--finding', 'F1', '--report', mine])]);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/own\.ndjson is the trace of run run-own, .*other-run\.json is the report of run run-other: .* \(MB_ERR_USAGE\)$/)]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('socket.open');
    expect(good.stderr).not.toContain('note:');
  });

  it('exits 2 with one clear line for a missing file, a bad line, an unknown finding or a bad flag', async () => {
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, '{"t":0,"ev":"trace.start"}\n\n{"t":1,"ev":\n');
    // independent processes: run them side by side
    const [missing, badLine, unknown, lonely, user] = await Promise.all([
      cli(['trace', join(dir, 'nope.ndjson')]),
      cli(['trace', bad]),
      cli(['trace', trace, '--finding', 'F9', '--report', report]),
      cli(['trace', trace, '--finding', 'F1']),
      cli(['trace', trace, '--user', 'bob']),
    ]);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cannot read trace .*nope\.ndjson: no such file \(MB_ERR_TRACE_INVALID\)$/)]);

    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toMatch(/bad\.ndjson:3: not JSON/);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/finding F9 is not in .*report\.json \(it has F1, F2\) \(MB_ERR_USAGE\)$/);

    expect(lonely.code).toBe(2);
    expect(lonely.stderr).toContain('--finding ID and --report FILE go together');

    expect(user.code).toBe(2);
  });
});
