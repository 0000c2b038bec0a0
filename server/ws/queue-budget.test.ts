/**
 * The server-wide queued-bytes budget in bytes, with sockets whose queues the test sets: the running sum follows
 * what is sent, a scan runs at most once per turn and only once the sum passes the budget, it measures before it
 * closes anyone, and it closes the largest first until the sum is back under the budget. The end-to-end case
 * (stalled readers over real sockets) is in test/slow-consumer.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { QueuedBytesBudget, type BudgetedSocket } from './queue-budget.js';

/** A connection whose bytes waiting the test sets. */
class Socket implements BudgetedSocket {
  counted = 0;
  closedFor: number | undefined;
  constructor(
    readonly name: string,
    public waiting = 0,
  ) {}
  queuedNow(): number {
    return this.closedFor === undefined ? this.waiting : -1;
  }
  overBudget(bytes: number): void {
    this.closedFor = bytes;
  }
}

function budget(maxBytes: number, sockets: Socket[]) {
  const deferred: Array<() => void> = [];
  const b = new QueuedBytesBudget(
    maxBytes,
    () => sockets,
    (fn) => deferred.push(fn),
  );
  /** Sends a frame of `bytes` to `socket`, as the guard does: measured before, plus the frame. */
  const send = (socket: Socket, bytes: number) => {
    b.update(socket, socket.waiting + bytes);
    socket.waiting += bytes;
  };
  return {
    b,
    deferred,
    send,
    turn: () => {
      for (const fn of deferred.splice(0)) fn();
    },
  };
}

describe('QueuedBytesBudget', () => {
  it('keeps the sum as frames are sent, corrected by each socket on its next frame; nothing is scheduled under the budget', () => {
    const a = new Socket('a');
    const c = new Socket('c');
    const { b, deferred, send } = budget(1000, [a, c]);
    send(a, 300);
    send(c, 200);
    expect(b.stats().queuedBytes).toBe(500);
    // The kernel took a's bytes: the sum learns it on a's next frame.
    a.waiting = 0;
    expect(b.stats().queuedBytes).toBe(500);
    send(a, 100);
    expect(b.stats().queuedBytes).toBe(300);
    expect(deferred).toHaveLength(0);
    b.release(c);
    expect(b.stats().queuedBytes).toBe(100);
  });

  it('past the budget, one scan per turn measures first: stale counts that drained close nobody', () => {
    const a = new Socket('a');
    const c = new Socket('c');
    const { b, deferred, send, turn } = budget(1000, [a, c]);
    send(a, 800);
    a.waiting = 0; // drained, not yet seen
    send(c, 300);
    send(c, 100);
    expect(b.stats().queuedBytes).toBe(1200);
    expect(deferred).toHaveLength(1);
    turn();
    expect(b.stats()).toEqual({ queuedBytes: 400, budgetScans: 1, closedOverBudget: 0 });
    expect([a.closedFor, c.closedFor]).toEqual([undefined, undefined]);
  });

  it('closes the connections holding the most first, until the measured sum is back under the budget', () => {
    const sockets = [new Socket('s1', 100), new Socket('s2', 700), new Socket('s3', 0), new Socket('s4', 400), new Socket('s5', 300)];
    const { b, send, turn } = budget(1000, sockets);
    send(sockets[0]!, 1);
    for (const s of sockets.slice(1)) send(s, 0);
    // 1,501 bytes against 1,000: s2 (700) goes, leaving 801.
    turn();
    expect(sockets.map((s) => s.closedFor)).toEqual([undefined, 700, undefined, undefined, undefined]);
    expect(b.stats()).toEqual({ queuedBytes: 801, budgetScans: 1, closedOverBudget: 1 });
    // Closed sockets no longer count; 500 more bytes to s5 make it the largest (800): it goes, not s2 again.
    send(sockets[4]!, 500);
    turn();
    expect(sockets.map((s) => s.closedFor)).toEqual([undefined, 700, undefined, undefined, 800]);
    expect(b.stats()).toEqual({ queuedBytes: 501, budgetScans: 2, closedOverBudget: 2 });
  });

  it('one scan per turn however many frames pass the budget in it', () => {
    const a = new Socket('a');
    const { b, deferred, send, turn } = budget(100, [a]);
    for (let i = 0; i < 50; i++) send(a, 10);
    expect(deferred).toHaveLength(1);
    turn();
    expect(a.closedFor).toBe(500);
    expect(b.stats()).toEqual({ queuedBytes: 0, budgetScans: 1, closedOverBudget: 1 });
  });
});
