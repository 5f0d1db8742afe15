import { describe, it, expect } from 'vitest';
import { DeliveryTracker, type ChatSub, type MissedDelivery } from '../../src/client/delivery-tracker.js';
import { ChatPromises } from '../../src/leak/chat-promises.js';
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

  it('a message lost on a socket open through the deadline is a missed event; one the server dropped first is not', async () => {
    const missed: MissedDelivery[] = [];
    const t = new DeliveryTracker(new Metrics(), { timeoutMs: 60, deadlineMs: 30, promises: { expected: () => {}, missed: (m) => missed.push(m) } });
    const mk = (id: number, user: number) => ({ ...sub(id), user, userId: 100 + user });
    const [sender, fine, deaf, dropped] = [mk(1, 0), mk(2, 1), mk(3, 2), mk(4, 3)];
    [sender, fine, deaf, dropped].forEach((s) => t.subscribe(s));
    t.expect(1, 1, 7, wallNow(), { user: 0, userId: 100, socket: 's1' });
    t.receipt(sender, 1);
    t.receipt(fine, 1);
    t.unsubscribe(dropped, false); // the server dropped it at once: it had no deadline to keep
    await t.drain(500);
    expect(t.lost).toBe(2);
    expect(missed).toHaveLength(1);
    expect(missed[0]).toMatchObject({ type: 'message', from: { user: 0, socket: 's1' }, textChannelId: 7, receivers: [{ user: 2, socket: 's3' }] });
  });

  it('typing is owed to every other user of the channel, once each, within the deadline', async () => {
    const promises = new ChatPromises();
    const t = new DeliveryTracker(new Metrics(), { deadlineMs: 40, promises });
    const mk = (id: number, user: number, filter: number | null = null) => ({ ...sub(id, 1, filter), user, userId: 100 + user });
    const me = mk(1, 0);
    const myOtherTab = mk(2, 0);
    const hears = mk(3, 1);
    const deaf = mk(4, 2);
    const elsewhere = mk(5, 3, 8);
    [me, myOtherTab, hears, deaf, elsewhere].forEach((s) => t.subscribe(s));
    const from = { user: 0, userId: 100, socket: 's1' };
    t.expectTyping(from, 1, 7);
    t.expectTyping(from, 1, 7);
    expect(t.typing.expected).toBe(4); // hears and deaf, twice; not the typist's own tabs, not another channel
    t.typingReceipt(hears, 100, 7);
    t.typingReceipt(hears, 100, 7);
    t.typingReceipt(hears, 100, 7); // a third one owes nothing
    t.typingReceipt(deaf, 100, 9); // another channel's typing meets nothing
    await t.drain(1000);
    expect(t.typing).toMatchObject({ delivered: 2, missed: 2 });
    const drafts = promises.take();
    expect(drafts).toHaveLength(1);
    expect(drafts[0]).toMatchObject({ class: 'missed-event', subject: { kind: 'chat', channelId: 7, resource: 'typing', user: 0, socket: 's1' }, observed: { announcementsMissed: 2, receiptsMissed: 2 } });
    expect((drafts[0]!.observed as { receivers: Array<{ socket: string }> }).receivers.map((r) => r.socket)).toEqual(['s4']);
    // a receiver already named as a phantom socket is left to that finding
    expect(promises.take(new Set(['s4']))).toHaveLength(0);
  });

  it('a typing whose receiver closed or switched away before the deadline is excused', async () => {
    const promises = new ChatPromises();
    const t = new DeliveryTracker(new Metrics(), { deadlineMs: 40, promises });
    const a = { ...sub(1), user: 0, userId: 100 };
    const closed = { ...sub(2), user: 1, userId: 101 };
    const switched = { ...sub(3), user: 2, userId: 102 };
    [a, closed, switched].forEach((s) => t.subscribe(s));
    t.expectTyping({ user: 0, userId: 100, socket: 's1' }, 1, 7);
    t.unsubscribe(closed, false);
    t.switching(switched, 9);
    await t.drain(1000);
    expect(t.typing).toMatchObject({ expected: 2, missed: 0, excused: 2 });
    expect(promises.take()).toEqual([]);
    expect(promises.counts.expectations).toBe(2);
  });
});
