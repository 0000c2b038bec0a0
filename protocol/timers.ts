/**
 * The one timers type of monorail-ws: what the client (backoff, heartbeat, the stable-connection reset), the hub
 * (coalescing window), the slow-consumer guard and the RabbitMQ link schedule with. Injected through options so a
 * test drives time instead of waiting for it; the global functions are the default.
 */

/** Timer functions and, for the parts that measure time, a clock. */
export interface Timers {
  /** Schedules `fn` after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a pending timer; a handle that already ran or was cleared is ignored. */
  clearTimeout(handle: unknown): void;
  /**
   * Milliseconds, monotonic. Only the parts that measure elapsed time call it (the hub's coalescing window);
   * the others take timers without it.
   * @default performance.now
   */
  now?(): number;
}

/**
 * The global `setTimeout`, `clearTimeout` and `performance.now`, each called without a receiver (a browser's
 * `setTimeout` throws "Illegal invocation" when called as a method of another object).
 */
export const GLOBAL_TIMERS: Required<Timers> = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
  now: () => performance.now(),
};
