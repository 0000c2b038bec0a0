/**
 * The server's heartbeat (PROTOCOL.md "Heartbeat"): a TCP connection whose peer vanished (power loss, a NAT that
 * dropped the mapping, a suspended laptop) stays "open" for minutes to hours, holding its watches and buffers. Every
 * `intervalMs` the server sends each connection a ws ping frame; a connection that has not answered the previous
 * one with a pong (or sent anything else) by then is terminated — it is gone within two intervals.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../hub/logger.js';

/** A running heartbeat. */
export interface ServerHeartbeat {
  /**
   * Starts watching a connection (until it closes). `listen: false`: the caller already follows the socket's
   * messages, pongs and close, and reports them (`answered`, `untrack`), so the heartbeat adds no listener.
   */
  track(ws: WebSocket, listen?: boolean): void;
  /** The connection sent something, or a pong: it is there (what the heartbeat's own listeners do). */
  answered(ws: WebSocket): void;
  /** Stops watching a connection (what the heartbeat's own close listener does). */
  untrack(ws: WebSocket): void;
  /** Connections being watched. */
  readonly size: number;
  /** Stops pinging (connections stay open). */
  stop(): void;
}

/** Timer functions; injected by tests that drive the rounds themselves. */
export interface IntervalTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Starts pinging every `intervalMs`; 0 (or less) tracks nothing and never pings. */
export function startHeartbeat(intervalMs: number, logger: Logger, timers: IntervalTimers = globalThis as IntervalTimers): ServerHeartbeat {
  const alive = new Map<WebSocket, boolean>();
  if (!(intervalMs > 0)) return { track() {}, answered() {}, untrack() {}, size: 0, stop() {} };

  const noop = (): void => undefined;
  const round = (): void => {
    for (const [ws, answered] of alive) {
      if (!answered) {
        logger.info('no pong within the heartbeat interval, terminating', { intervalMs });
        // terminate(), not close(): a peer that does not answer pings will not answer a close frame either.
        ws.terminate();
        alive.delete(ws);
        continue;
      }
      alive.set(ws, false);
      // A socket already closing would only report an error through the callback; nothing to do about it.
      if (ws.readyState === ws.OPEN) ws.ping(undefined, undefined, noop);
    }
  };
  // One listener of each kind for every connection (the emitter is `this`), not closures per connection.
  function beat(this: WebSocket): void {
    if (alive.has(this)) alive.set(this, true);
  }
  function forget(this: WebSocket): void {
    alive.delete(this);
  }
  // Started by the first connection, so a server that never had one (or failed to listen) holds no timer.
  let handle: unknown;

  return {
    track(ws, listen = true) {
      if (handle === undefined) {
        handle = timers.setInterval(round, intervalMs);
        // The heartbeat never keeps a process alive by itself: the listening socket does that.
        (handle as { unref?: () => void }).unref?.();
      }
      alive.set(ws, true);
      if (!listen) return;
      // Any frame proves the peer is there; a busy client is not asked for more.
      ws.on('pong', beat);
      ws.on('message', beat);
      ws.on('close', forget);
    },
    answered(ws) {
      beat.call(ws);
    },
    untrack(ws) {
      forget.call(ws);
    },
    get size() {
      return alive.size;
    },
    stop() {
      if (handle !== undefined) timers.clearInterval(handle);
      alive.clear();
    },
  };
}
