/**
 * The hub's timers: the shared `Timers` with its clock (the coalescing window measures elapsed time), and the
 * global functions as the default, unreferenced so a pending window never keeps a process alive. Browser-safe.
 */
import type { Timers } from '../../protocol/timers.js';

/** Timer functions and clock of the hub: the shared `Timers`, clock included. */
export type HubTimers = Required<Timers>;

/** The global `setTimeout`/`clearTimeout` and `performance.now`. */
export const GLOBAL_TIMERS: HubTimers = {
  setTimeout: (fn, ms) => {
    const handle = globalThis.setTimeout(fn, ms);
    // Never keeps a process alive by itself (Node); the connections waiting for the read do that.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};
