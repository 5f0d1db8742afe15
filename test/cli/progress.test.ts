import { describe, it, expect } from 'vitest';
import { Progress, bar, fitLine, formatDuration, visibleLength } from '../../src/cli/progress.js';
import { planPhases, remainingMs } from '../../src/runner/phase-plan.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import type { TimelineSample } from '../../src/report/schema.js';
import type { LiveState } from '../../src/runner/run-scenario.js';

const scenario = parseScenario({
  name: 'p',
  description: 'progress',
  duration: '20s',
  phases: [
    { type: 'connect', name: 'connect', rampUp: '2s' },
    { type: 'chat', name: 'chat', duration: '30s' },
    { type: 'idle', duration: '5s' },
    { type: 'disconnect' },
  ],
});
const plan = planPhases(scenario);

function sample(over: Partial<TimelineSample> = {}): TimelineSample {
  return {
    t: 12_000,
    phase: 'chat',
    users: 20,
    client: { total: 40, chat: 20, voice: 0, notifications: 20 },
    server: { total: 43, chat: 23, voice: 0, notifications: 20 },
    peers: 0,
    messagesPerSec: 10,
    deliveriesPerSec: 200,
    errorsPerSec: 0,
    eventLoopDelayMs: 1,
    ...over,
  };
}
const live = (over: Partial<LiveState> = {}): LiveState => ({
  phase: 'chat',
  elapsedMs: 14_000,
  users: 20,
  errors: 0,
  phaseIndex: 1,
  phaseElapsedMs: 12_000,
  plan,
  messages: { sent: 100, due: 2000, delivered: 1990, lost: 0 },
  ...over,
});

/** A stream that records what is written, as a terminal of `columns` cells. */
function fakeTty(columns = 200) {
  const writes: string[] = [];
  return { writes, columns, write: (t: string) => writes.push(t) };
}

describe('phase plan', () => {
  it('names phases as the run does and knows which are timed', () => {
    expect(plan.map((p) => [p.name, p.durationMs, p.timed])).toEqual([
      ['connect', 2000, false],
      ['chat', 30_000, true],
      ['idle#2', 5000, true],
      ['disconnect#3', 0, false],
    ]);
    // 18 s left of chat, then idle 5 s, disconnect 0
    expect(remainingMs(plan, 1, 12_000)).toBe(23_000);
    expect(remainingMs(plan, -1, 0)).toBeNull();
    const open = planPhases(parseScenario({ name: 'f', description: 'f', phases: [{ type: 'freeze' }, { type: 'idle', duration: 1000 }] }));
    expect(remainingMs(open, 0, 0)).toBeNull();
    expect(remainingMs(open, 1, 400)).toBe(600);
  });
});

describe('Progress', () => {
  it('draws the phase, its place in the plan, a bar with elapsed and left, the ETA, users, sockets client/server, delivery, errors', () => {
    const tty = fakeTty();
    const p = new Progress(tty, true, { color: false, barWidth: 10 });
    p.update(sample(), live());
    expect(tty.writes).toHaveLength(1);
    const w = tty.writes[0]!;
    expect(w.startsWith('\r\x1b[2K')).toBe(true);
    const line = w.slice('\r\x1b[2K'.length);
    expect(line).toBe('[2/4] chat 14s  [####------] 12s/30s (18s left)  ETA ~23s  users 20  sockets 40 / server 43  delivered 99.5%  200 dlv/s  errors 0');
    // plain: no escape code beyond the redraw
    expect(line).not.toMatch(/\x1b/);
    p.done();
    expect(tty.writes.at(-1)).toBe('\r\x1b[2K');
    p.done();
    expect(tty.writes).toHaveLength(2);
  });

  it('colours on request: errors and losses in red, the bar in blocks', () => {
    const tty = fakeTty();
    const p = new Progress(tty, true, { color: true, barWidth: 10 });
    p.update(sample(), live({ errors: 3, messages: { sent: 1, due: 10, delivered: 9, lost: 1 } }));
    const line = tty.writes[0]!;
    expect(line).toContain('\x1b[31merrors 3\x1b[39m');
    expect(line).toContain('\x1b[31mdelivered 90.0%\x1b[39m');
    expect(line).toContain('████░░░░░░');
  });

  it('an untimed phase shows its time in phase, no bar; no ETA while a later phase has no known length', () => {
    const tty = fakeTty();
    const p = new Progress(tty, true, { color: false });
    const freeze = planPhases(parseScenario({ name: 'f', description: 'f', phases: [{ type: 'connect' }, { type: 'freeze' }] }));
    const line = p.line(sample({ server: null }), live({ phase: 'connect#0', phaseIndex: 0, phaseElapsedMs: 3000, plan: freeze, messages: undefined }));
    expect(line).toBe('[1/2] connect#0 14s  3s in phase  users 20  sockets 40  200 dlv/s  errors 0');
  });

  it('fits the terminal: drops the least important parts, never cuts one', () => {
    const tty = fakeTty(60);
    const p = new Progress(tty, true, { color: true, barWidth: 10 });
    const line = p.line(sample(), live());
    expect(visibleLength(line)).toBeLessThanOrEqual(59);
    expect(line).toContain('[2/4]');
    expect(line).toContain('12s/30s');
    expect(fitLine(['a'.repeat(50), 'b'], 20)).toBe('a'.repeat(19));
  });

  it('writes nothing when disabled (not a TTY, or --quiet)', () => {
    const tty = fakeTty();
    const p = new Progress(tty, false, { color: false });
    p.update(sample(), live());
    p.done();
    expect(tty.writes).toEqual([]);
  });

  it('formats durations and bars', () => {
    expect([formatDuration(0), formatDuration(59_400), formatDuration(65_000), formatDuration(3_725_000)]).toEqual(['0s', '59s', '1m05s', '1h02m']);
    expect(bar(0.5, 4, false)).toBe('[##--]');
    expect(bar(2, 4, false)).toBe('[####]');
    expect(bar(NaN, 2, true)).toBe('░░');
  });
});
