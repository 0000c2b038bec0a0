/**
 * The client's application-level heartbeat. Browsers cannot see WebSocket ping frames, so when the server
 * announces the `ping` feature the client sends `{handler: 'ping'}` after a silence and gives up on the socket
 * when nothing comes back. Both timers count from the last frame received (`beat()`), not from a fixed schedule:
 * a throttled background tab that wakes up late still sees the frames that arrived meanwhile.
 */
import type { Timers } from '../protocol/timers.js';
import type { HeartbeatOptions } from './options.js';

/** A running heartbeat. */
export interface Heartbeat {
  /** A frame arrived: restart the silence timer and cancel a pending timeout. */
  beat(): void;
  /** Stops both timers for good. */
  stop(): void;
}

/**
 * Starts a heartbeat (the silence timer runs at once).
 * @param timers The connection's timers.
 * @param ping Silence lasted `pingAfterMs`: send a ping.
 * @param timeout Nothing arrived within `timeoutMs` after the ping: the socket is presumed dead.
 */
export function startHeartbeat(
  { pingAfterMs, timeoutMs }: HeartbeatOptions,
  timers: Timers,
  ping: () => void,
  timeout: () => void,
): Heartbeat {
  // One handle: the silence timer and the ping's timeout never run at the same time.
  let timer: unknown;
  const stop = (): void => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  const beat = (): void => {
    stop();
    timer = timers.setTimeout(() => {
      timer = timers.setTimeout(() => {
        timer = undefined;
        timeout();
      }, timeoutMs);
      ping();
    }, pingAfterMs);
  };
  beat();
  return { beat, stop };
}
