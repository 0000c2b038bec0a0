/**
 * Injected timers and event helpers for connection tests: time is driven by the test, never waited for.
 */
import type { Connection, Timers } from '../../client/connection.js';
import type { ConnectionEvents } from '../../client/events.js';

interface Pending {
  fn: () => void;
  ms: number;
}

/** Timers that only run when the test fires them. */
export interface ManualTimers extends Timers {
  /** Delays of the timers still pending, oldest first. */
  pending(): number[];
  /** Runs the oldest pending timer with this delay; throws when there is none. */
  fire(ms: number): void;
}

export function manualTimers(): ManualTimers {
  const timers = new Map<number, Pending>();
  let seq = 0;
  return {
    setTimeout(fn, ms) {
      timers.set(++seq, { fn, ms });
      return seq;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    pending: () => Array.from(timers.values(), (t) => t.ms),
    fire(ms) {
      for (const [id, t] of timers) {
        if (t.ms !== ms) continue;
        timers.delete(id);
        return t.fn();
      }
      throw new Error(`no pending ${ms} ms timer; pending: [${Array.from(timers.values(), (t) => t.ms).join(', ')}]`);
    },
  };
}

/** Real timers that run at once (next macrotask) whatever the delay, recording the delays asked for. */
export function immediateTimers(): Timers & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    setTimeout(fn, ms) {
      delays.push(ms);
      return setTimeout(fn, 0);
    },
    clearTimeout(handle) {
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
  };
}

/** Resolves with the payload of the next `type` event. */
export function next<K extends keyof ConnectionEvents>(conn: Connection, type: K): Promise<ConnectionEvents[K]> {
  return new Promise((resolve) => conn.events.once(type, resolve));
}

/** Records every payload of `type`. */
export function record<K extends keyof ConnectionEvents>(conn: Connection, type: K): Array<ConnectionEvents[K]> {
  const seen: Array<ConnectionEvents[K]> = [];
  conn.events.on(type, (e) => seen.push(e));
  return seen;
}

/** Resolves with the `n`-th payload of `type` counted from now (1-based). */
export function nth<K extends keyof ConnectionEvents>(conn: Connection, type: K, n: number): Promise<ConnectionEvents[K]> {
  return new Promise((resolve) => {
    let count = 0;
    const off = conn.events.on(type, (e) => {
      if (++count === n) {
        off();
        resolve(e);
      }
    });
  });
}
