import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import { SAMPLES, SlowConsumerGuard, type GuardTimers } from './backpressure.js';

/** Timers that run only when the test says so. */
function manualTimers() {
  let next = 0;
  const pending = new Map<number, { fn: () => void; ms: number }>();
  const timers: GuardTimers = {
    setTimeout: (fn, ms) => {
      pending.set(++next, { fn, ms });
      return next;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  return {
    timers,
    get pending() {
      return pending.size;
    },
    /** Runs every timer due now, once. */
    tick(): void {
      for (const [id, t] of [...pending]) {
        pending.delete(id);
        t.fn();
      }
    },
    delays: () => [...pending.values()].map((t) => t.ms),
  };
}

const limits = { softBytes: 1000, hardBytes: 4000, graceMs: 500 };

function setup() {
  let buffered = 0;
  const slow: Array<[string, number]> = [];
  const t = manualTimers();
  const guard = new SlowConsumerGuard(
    limits,
    () => buffered,
    (reason, bytes) => slow.push([reason, bytes]),
    t.timers,
  );
  return { guard, slow, t, set: (n: number) => (buffered = n) };
}

describe('SlowConsumerGuard', () => {
  it('defaults are 8 MiB soft, 32 MiB hard, 5 s grace', () => {
    expect(DEFAULTS.slowConsumer).toEqual({ softBytes: 8 * 1024 * 1024, hardBytes: 32 * 1024 * 1024, graceMs: 5000 });
  });

  it('below the soft threshold: every frame is admitted and no timer runs', () => {
    const { guard, slow, t, set } = setup();
    for (let i = 0; i <= 1000; i += 100) {
      set(i);
      expect(guard.admit()).toBe(true);
      guard.sent();
    }
    expect(t.pending).toBe(0);
    expect(slow).toEqual([]);
  });

  it('the hard cap is checked before queuing: a big frame to an idle connection goes out, the next one does not', () => {
    const { guard, slow, set } = setup();
    expect(guard.admit()).toBe(true);
    set(10_000); // one frame far above the cap, queued
    guard.sent();
    expect(guard.admit()).toBe(false);
    expect(slow).toEqual([['hard', 10_000]]);
    // Found slow once; every later frame is dropped without another report.
    expect(guard.admit()).toBe(false);
    expect(slow).toHaveLength(1);
  });

  it('above soft at every sample over the grace period: slow, reported once', () => {
    const { guard, slow, t, set } = setup();
    set(2000);
    guard.sent();
    expect(t.delays()).toEqual([limits.graceMs / SAMPLES]);
    for (let i = 0; i < SAMPLES - 1; i++) t.tick();
    expect(slow).toEqual([]);
    t.tick();
    expect(slow).toEqual([['soft', 2000]]);
    expect(t.pending).toBe(0);
    expect(guard.admit()).toBe(false);
  });

  it('a connection that drains within the grace period is not cut, and the next grace period starts from zero', () => {
    const { guard, slow, t, set } = setup();
    set(3000);
    guard.sent();
    t.tick();
    t.tick();
    set(200); // drained (the client read the big snapshot)
    t.tick();
    expect(t.pending).toBe(0);
    set(3000);
    guard.sent();
    for (let i = 0; i < SAMPLES - 1; i++) t.tick();
    expect(slow).toEqual([]);
    t.tick();
    expect(slow).toEqual([['soft', 3000]]);
  });

  it('a send that finds the buffer drained resets the grace period', () => {
    const { guard, slow, t, set } = setup();
    set(3000);
    guard.sent();
    t.tick();
    set(0);
    guard.sent();
    expect(t.pending).toBe(0);
    expect(slow).toEqual([]);
  });

  it('dispose stops the timer and admits nothing more', () => {
    const { guard, t, set } = setup();
    set(3000);
    guard.sent();
    guard.dispose();
    expect(t.pending).toBe(0);
    expect(guard.admit()).toBe(false);
  });

  it('admitted + sentAfter (the fan-out path, one buffer read per frame) decide exactly like admit + sent', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 200; run++) {
      const a = setup();
      const b = setup();
      let buffered = 0;
      for (let step = 0; step < 60; step++) {
        const r = random();
        if (r < 0.15) {
          // The socket drained some (or all) of it, or a timer ran.
          buffered = Math.floor(buffered * random());
          a.set(buffered);
          b.set(buffered);
          a.t.tick();
          b.t.tick();
          continue;
        }
        // A frame of up to `max` bytes; the buffer grows by at most that much (part may already be written).
        const max = 1 + Math.floor(random() * 1500);
        a.set(buffered);
        b.set(buffered);
        const admitted = a.guard.admit();
        const before = b.guard.admitted();
        expect(before >= 0).toBe(admitted);
        if (!admitted) continue;
        expect(before).toBe(buffered);
        buffered = Math.max(0, buffered + max - Math.floor(random() * 2 * max));
        a.set(buffered);
        b.set(buffered);
        a.guard.sent();
        b.guard.sentAfter(before, max);
        expect([b.t.pending, b.t.delays()]).toEqual([a.t.pending, a.t.delays()]);
        expect(b.slow).toEqual(a.slow);
      }
    }
  });
});
