import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenario } from '../../src/runner/run-scenario.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import type { Report } from '../../src/report/schema.js';
import type { TraceLine } from '../../src/trace/tracer.js';
import { runCli } from '../helpers/cli.js';

// A small run against the bundled server (a child process of the built bin: `npm test`
// builds first) with the zombie-socket fault, so the same run shows a full trace and a
// finding whose evidence must tell the story of the close the server ignored.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let traceFile: string;
let report: Report;
let lines: TraceLine[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mb-run-trace-'));
  traceFile = join(dir, 'run.ndjson');
  const scenario = parseScenario({
    name: 'trace-e2e',
    description: 'chat switches and a two-user voice room, traced',
    seed: 7,
    users: 2,
    setup: { servers: 1, textChannels: 2, voiceChannels: 1 },
    settle: '500ms',
    bundledServer: { faults: ['zombie-socket'], maxPerUser: 10 },
    phases: [
      { type: 'connect' },
      { type: 'switch', strategy: 'reconnect', switches: 2, interval: '100ms' },
      { type: 'voice', rooms: 1, usersPerRoom: 2, stagger: '100ms', hold: '1500ms' },
      { type: 'disconnect' },
    ],
  });
  report = await runScenario({ scenario, traceFile, cwd: ROOT });
  lines = readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TraceLine);
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const USER_KINDS = [
  'http',
  'socket.opening',
  'socket.open',
  'socket.closing',
  'socket.close',
  'msg.sent',
  'msg.recv',
  'chat.switch',
  'voice.join',
  'webrtc.offer',
  'webrtc.answer',
  'webrtc.ice',
  'webrtc.ice_state',
  'webrtc.conn_state',
  'media.first_audio',
  'webrtc.stats',
  'voice.leave',
  'finding',
];

describe('the trace of a run', () => {
  it('is complete: framed by trace.start and trace.end, nothing dropped, time never goes back', () => {
    expect(report.status).toBe('completed');
    expect(lines[0]!.ev).toBe('trace.start');
    // the run's id ties the trace to its report (trace --finding --report checks it)
    expect(report.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines[0]!.run).toBe(report.runId);
    expect(lines.at(-1)).toMatchObject({ ev: 'trace.end', dropped: 0, events: lines.length - 2 });
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.t).toBeGreaterThanOrEqual(lines[i - 1]!.t);
    const evs = new Set(lines.map((l) => l.ev));
    for (const ev of ['phase', 'checkpoint']) expect(evs).toContain(ev);
  });

  it('holds every event kind for each user, each socket and peer in lifecycle order', () => {
    for (const user of [0, 1]) {
      const mine = lines.filter((l) => l.user === user);
      const kinds = new Set(mine.map((l) => l.ev));
      for (const k of USER_KINDS) expect(kinds, `u${user} lacks ${k}`).toContain(k);

      const at = (pred: (l: TraceLine) => boolean) => mine.findIndex(pred);
      const register = at((l) => l.ev === 'http' && String(l.route).endsWith('/register'));
      const login = at((l) => l.ev === 'http' && String(l.route).endsWith('/login'));
      expect(register).toBeGreaterThanOrEqual(0);
      expect(login).toBeGreaterThan(register);
      expect(at((l) => l.ev === 'socket.opening')).toBeGreaterThan(login);

      const sockets = new Set(mine.filter((l) => typeof l.socket === 'string' && l.ev.startsWith('socket.')).map((l) => l.socket!));
      expect(sockets.size).toBeGreaterThanOrEqual(5); // notifications, 3 chat sockets, voice
      for (const s of sockets) {
        const of = mine.filter((l) => l.socket === s).map((l) => l.ev);
        const opening = of.indexOf('socket.opening');
        const open = of.indexOf('socket.open');
        const close = of.indexOf('socket.close');
        expect(opening, s).toBe(0);
        expect(open, s).toBeGreaterThan(opening);
        expect(close, s).toBeGreaterThan(open);
        if (of.includes('socket.closing')) expect(of.indexOf('socket.closing'), s).toBeLessThan(close);
        const lastTraffic = Math.max(of.lastIndexOf('msg.sent'), of.lastIndexOf('chat.switch'));
        expect(lastTraffic, s).toBeLessThan(close);
      }

      const peer = mine.filter((l) => typeof l.peer === 'string').map((l) => l.ev);
      const offer = peer.indexOf('webrtc.offer');
      const answer = peer.indexOf('webrtc.answer');
      const connected = mine.filter((l) => typeof l.peer === 'string').findIndex((l) => l.ev === 'webrtc.ice_state' && (l.state === 'connected' || l.state === 'completed'));
      expect(offer).toBeGreaterThanOrEqual(0);
      expect(answer).toBeGreaterThan(offer);
      expect(connected).toBeGreaterThan(offer);
      // media needs the negotiation; whether the ICE state event or the first frame reaches
      // JavaScript first is not guaranteed (both are queued from wrtc's threads), so no order between them
      expect(peer.indexOf('media.first_audio')).toBeGreaterThan(Math.min(offer, answer));
      expect(mine.findIndex((l) => l.ev === 'voice.leave')).toBeGreaterThan(mine.findIndex((l) => l.ev === 'voice.join'));
    }
  });

  it('shows no address but loopback (ICE candidates redacted by default)', () => {
    const text = readFileSync(traceFile, 'utf8');
    const addresses = text.match(/(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])/g) ?? [];
    expect(addresses.filter((a) => !a.startsWith('127.') && a !== '0.0.0.0')).toEqual([]);
    expect(lines.filter((l) => l.ev === 'webrtc.ice').length).toBeGreaterThan(0);
  });
});

describe('evidence on findings', () => {
  it('a zombie-socket finding carries the story of the close that the server ignored', () => {
    const zombies = report.findings.filter((f) => f.class === 'zombie-socket' && f.subject.kind === 'chat');
    expect(zombies.length).toBeGreaterThan(0);
    for (const f of zombies) {
      const all = f.evidence.trace ?? [];
      // the user's other chat sockets come along as context, marked related
      expect(all.filter((l) => l.socket !== f.subject.socket).every((l) => l.related === true)).toBe(true);
      const trace = all.filter((l) => !l.related);
      expect(trace.length).toBeGreaterThan(0);
      expect(trace.every((l) => l.socket === f.subject.socket)).toBe(true);
      const evs = trace.map((l) => l.ev);
      expect(evs).toContain('socket.open');
      const close = trace.find((l) => l.ev === 'socket.close');
      expect(close, `${f.id} evidence lacks the close`).toMatchObject({ by: 'client', code: 1000 });
      expect(evs.indexOf('socket.close')).toBeGreaterThan(evs.indexOf('socket.open'));
    }
  });

  it('`miscord-bench trace --finding` tells the same story from the files alone', async () => {
    const f = report.findings.find((x) => x.class === 'zombie-socket' && x.subject.kind === 'chat')!;
    const reportFile = join(dir, 'report.json');
    writeFileSync(reportFile, JSON.stringify(report));
    const out = await runCli(['trace', traceFile, '--finding', f.id, '--report', reportFile]);
    expect(out.code).toBe(0);
    expect(out.stderr).toContain(`${f.id} zombie-socket:`);
    expect(out.stderr).not.toContain('note:');
    const all = out.stdout.trim().split('\n');
    expect(all.every((l) => l.includes(` u${f.subject.user} `))).toBe(true);
    // the subject's own lines are marked '>'; the others are its user's other chat sockets
    const shown = all.filter((l) => l.startsWith('>'));
    expect(shown.every((l) => l.includes(f.subject.socket!))).toBe(true);
    expect(all.filter((l) => !l.startsWith('>')).every((l) => / u\d+-chat-\d+ /.test(l))).toBe(true);
    expect(shown.some((l) => /socket\.close +.*by=client/.test(l))).toBe(true);
    expect(shown.at(-1)).toMatch(new RegExp(`finding +id=${f.id} class=zombie-socket`));
  });
});
