import { describe, expect, it } from 'vitest';
import { clientUntilServer, serverPoints } from '../../src/report/timeline-align.js';
import type { TimelineSample } from '../../src/report/schema.js';

const sample = (t: number, server: object | null, serverT?: number) => ({ t, server, ...(serverT === undefined ? {} : { serverT }) }) as unknown as TimelineSample;

describe('serverPoints', () => {
  it('draws a server reading at its serverT, else at the previous sample’s time (when the read started)', () => {
    const tl = [sample(0, {}), sample(1000, {}), sample(2000, {}, 1900)];
    expect(serverPoints(tl).map((p) => p.t)).toEqual([0, 0, 1900]);
    expect(serverPoints(tl)[2]!.sample).toBe(tl[2]);
  });
});

describe('clientUntilServer', () => {
  it('drops only the one client sample the server’s last reading lags behind', () => {
    const tl = [sample(0, {}), sample(1000, {}), sample(2000, {})];
    // the last reading is drawn at 1000: the client's 2000 sample goes
    expect(clientUntilServer(tl, serverPoints(tl)).map((s) => s.t)).toEqual([0, 1000]);
  });

  it('keeps the client line whole when the server stopped answering earlier, or never answered', () => {
    const died = [sample(0, {}), sample(1000, {}), sample(2000, null), sample(3000, null)];
    expect(clientUntilServer(died, serverPoints(died))).toHaveLength(4);
    const never = [sample(0, null), sample(1000, null)];
    expect(clientUntilServer(never, serverPoints(never))).toEqual(never);
  });
});
