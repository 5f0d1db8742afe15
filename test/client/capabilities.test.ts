import { describe, expect, it } from 'vitest';
import { Capabilities } from '../../src/client/capabilities.js';
import { createLogger } from '../../src/log.js';

function caps() {
  const lines: string[] = [];
  return { caps: new Capabilities(createLogger('warn', (l) => lines.push(l))), lines };
}

describe('Capabilities', () => {
  it('a kind refused UNAVAILABLE_AFTER times in a row, never opened, is unavailable: said once, in the notes and the log', () => {
    const { caps: c, lines } = caps();
    for (let i = 1; i < Capabilities.UNAVAILABLE_AFTER; i++) c.socketRefused('chat', 'HTTP 403');
    expect(c.available('chat')).toBe(true);
    c.socketRefused('chat', 'HTTP 403');
    c.socketRefused('chat', 'HTTP 403');
    expect(c.available('chat')).toBe(false);
    expect(c.available('voice')).toBe(true);
    expect(c.notes).toEqual(['the target refuses every chat socket (HTTP 403): chat skipped for the rest of the run']);
    expect(lines.filter((l) => l.includes('refuses every chat socket'))).toHaveLength(1);
  });

  it('a kind that ever opened stays available however often it is refused (a limit doing its job)', () => {
    const { caps: c } = caps();
    c.socketOpened('voice');
    for (let i = 0; i < 3 * Capabilities.UNAVAILABLE_AFTER; i++) c.socketRefused('voice', 'close 4005');
    expect(c.available('voice')).toBe(true);
    expect(c.notes).toEqual([]);
  });

  it('in-band switching: unknown until told, and "unsupported" noted once', () => {
    const { caps: c } = caps();
    expect(c.inBand).toBe('unknown');
    c.inBandUnsupported('error frame');
    c.inBandUnsupported('error frame');
    expect(c.inBand).toBe('no');
    expect(c.notes).toEqual(['the target does not support in-band switch_channel (error frame): switching by reconnecting instead']);
  });
});
