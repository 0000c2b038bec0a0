import { describe, expect, it } from 'vitest';
import { GLOBAL_TIMERS, type Timers } from './timers.js';

/** Resolves after everything scheduled with 0 ms before it ran (timers of equal delay run in order). */
const turn = () => new Promise<void>((resolve) => globalThis.setTimeout(resolve, 0));

describe('GLOBAL_TIMERS', () => {
  it('run a scheduled function, and never one that was cleared, even when called without a receiver', async () => {
    const { setTimeout, clearTimeout } = GLOBAL_TIMERS;
    const ran: string[] = [];
    setTimeout(() => ran.push('kept'), 0);
    clearTimeout(setTimeout(() => ran.push('cleared'), 0));
    await turn();
    expect(ran).toEqual(['kept']);
  });

  it('ignore clearing a handle that already ran or was never a timer', async () => {
    const handle = GLOBAL_TIMERS.setTimeout(() => undefined, 0);
    await turn();
    expect(() => GLOBAL_TIMERS.clearTimeout(handle)).not.toThrow();
    expect(() => GLOBAL_TIMERS.clearTimeout(undefined)).not.toThrow();
  });

  it('have a clock that never goes back', () => {
    const { now } = GLOBAL_TIMERS;
    const readings = Array.from({ length: 1000 }, () => now());
    expect(readings).toEqual([...readings].sort((a, b) => a - b));
  });

  it('are a Timers, and a Timers need not have a clock', () => {
    const withoutClock: Timers = { setTimeout: GLOBAL_TIMERS.setTimeout, clearTimeout: GLOBAL_TIMERS.clearTimeout };
    expect(withoutClock.now).toBeUndefined();
    expect(Object.keys(GLOBAL_TIMERS).sort()).toEqual(['clearTimeout', 'now', 'setTimeout']);
  });
});
