import { describe, it, expect } from 'vitest';
import { DeliveryTracker, type ChatSub } from '../../src/client/delivery-tracker.js';
import { wallNow } from '../../src/clock.js';
import { Metrics } from '../../src/metrics/metrics.js';

const sub = (id: number, serverId = 1, filter: number | null = null): ChatSub => ({ id, serverId, filter, excuseBefore: 0, socket: `s${id}`, expected: 0, received: 0, lost: 0 });

describe('DeliveryTracker', () => {
  it('counts a receipt once per expected socket and records its latency', () => {
    const m = new Metrics();
    const t = new DeliveryTracker(m);
    const a = sub(1);
    const b = sub(2, 1, 10);
    const c = sub(3, 1, 11);
    const other = sub(4, 2);
    [a, b, c, other].forEach((s) => t.subscribe(s));
    t.expect(1, 1, 10, wallNow());
    expect(t.expected).toBe(2); // a (every channel) and b (channel 10); not c, not another server
    expect(t.receipt(a, 1)).toBe(true);
    t.receipt(a, 1); // a duplicate counts nothing
    t.receipt(c, 1); // not expected there
    t.receipt(b, 1);
    expect(t.delivered).toBe(2);
    expect(t.unexpected).toBe(2);
    expect(t.outstanding).toBe(0);
    expect(m.histogram('chat.deliver').count).toBe(2);
  });

  it('excuses sockets the client closed, but not ones the server dropped', async () => {
    const t = new DeliveryTracker(new Metrics(), { timeoutMs: 50 });
    const closedByClient = sub(1);
    const droppedByServer = sub(2);
    const fine = sub(3);
    [closedByClient, droppedByServer, fine].forEach((s) => t.subscribe(s));
    t.expect(1, 1, 7, wallNow());
    t.receipt(fine, 1);
    t.unsubscribe(closedByClient, true);
    t.unsubscribe(droppedByServer, false);
    await t.drain(200);
    expect(t.excused).toBe(1);
    expect(t.lost).toBe(1);
    expect(droppedByServer.lost).toBe(1);
    expect(t.delivered / (t.expected - t.excused)).toBe(0.5);
  });

  it('an in-band switch in flight decides nothing until it is answered', () => {
    const t = new DeliveryTracker(new Metrics());
    const s = sub(1);
    t.subscribe(s);
    t.expect(1, 1, 1, wallNow());
    t.switching(s, 2);
    t.sweep();
    expect(t.outstanding).toBe(1);
    t.switched(s);
    t.sweep();
    expect(t.outstanding).toBe(0);
    expect(t.excused).toBe(1);
    t.expect(2, 1, 2, wallNow());
    t.expect(3, 1, 1, wallNow());
    expect(t.expected).toBe(2);
  });

  it('bounds what is outstanding', () => {
    const t = new DeliveryTracker(new Metrics(), { maxPending: 3 });
    t.subscribe(sub(1));
    for (let i = 0; i < 5; i++) t.expect(i + 1, 1, 1, wallNow());
    expect(t.outstanding).toBe(3);
    expect(t.overflow).toBe(2);
    expect(t.lost).toBe(2);
  });
});
