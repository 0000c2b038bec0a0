/**
 * A connection's events, awaited or recorded: for client tests that act when the connection reports something
 * (one event awaited is not a condition polled, so these are not `waitFor`).
 */
import type { Connection } from '../../client/connection.js';
import type { ConnectionEvents } from '../../client/events.js';

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
