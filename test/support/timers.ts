/**
 * Injected timers (protocol's `Timers`) for tests that drive time instead of waiting for it: manual timers that
 * run only when fired, real timers that run at once whatever the delay, and real timers that can be held back.
 */
import type { Timers } from '../../protocol/timers.js';

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

/** Real timers that can be held: while held, nothing newly scheduled runs until `release()`. */
export interface HoldableTimers extends Timers {
  /** From now on, timers scheduled wait for `release()` instead of their delay. */
  hold(): void;
  /** Runs every held timer (in the order scheduled) and stops holding. */
  release(): void;
  /** Timers waiting for `release()` (cleared ones not counted). */
  readonly heldCount: number;
  /** Timers scheduled that have neither run nor been cleared, held or not. */
  readonly pending: number;
}

interface Handle {
  cleared: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

export function holdableTimers(): HoldableTimers {
  let holding = false;
  const held: Array<{ handle: Handle; run: () => void }> = [];
  const pending = new Set<Handle>();
  return {
    setTimeout(fn, ms) {
      const handle: Handle = { cleared: false };
      const run = () => {
        if (handle.cleared) return;
        pending.delete(handle);
        fn();
      };
      pending.add(handle);
      if (holding) held.push({ handle, run });
      else handle.timer = setTimeout(run, ms);
      return handle;
    },
    clearTimeout(handle) {
      const h = handle as Handle | undefined;
      if (!h || h.cleared) return;
      h.cleared = true;
      pending.delete(h);
      if (h.timer !== undefined) clearTimeout(h.timer);
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const { run } of held.splice(0)) run();
    },
    get heldCount() {
      return held.filter(({ handle }) => !handle.cleared).length;
    },
    get pending() {
      return pending.size;
    },
  };
}
