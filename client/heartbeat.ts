/**
 * The client's application-level heartbeat. Browsers cannot see WebSocket ping frames, so when the server
 * announces the `ping` feature the client sends `{handler: 'ping'}` after a silence and gives up on the socket
 * when nothing comes back. Both timers count from the last frame received (`beat()`), not from a fixed schedule:
 * a throttled background tab that wakes up late still sees the frames that arrived meanwhile.
 */
import type { HeartbeatOptions } from './options.js';

/** A running heartbeat. */
export interface Heartbeat {
  /** A frame arrived: restart the silence timer and cancel a pending timeout. */
  beat(): void;
  /** Stops both timers for good. */
  stop(): void;
}

/** What the heartbeat does when its timers expire. */
export interface HeartbeatActions {
  /** Silence lasted `pingAfterMs`: send a ping. */
  ping(): void;
  /** Nothing arrived within `timeoutMs` after the ping: the socket is presumed dead. */
  timeout(): void;
}

/**
 * Starts a heartbeat (the silence timer runs at once).
 * @param setTimer Injected `setTimeout`, called without a receiver.
 * @param clearTimer Injected `clearTimeout`, called without a receiver.
 */
export function startHeartbeat(
  { pingAfterMs, timeoutMs }: HeartbeatOptions,
  setTimer: (fn: () => void, ms: number) => unknown,
  clearTimer: (handle: unknown) => void,
  actions: HeartbeatActions,
): Heartbeat {
  let silence: unknown;
  let timeout: unknown;
  const stop = (): void => {
    if (silence !== undefined) clearTimer(silence);
    if (timeout !== undefined) clearTimer(timeout);
    silence = timeout = undefined;
  };
  const beat = (): void => {
    stop();
    silence = setTimer(() => {
      silence = undefined;
      timeout = setTimer(() => {
        timeout = undefined;
        actions.timeout();
      }, timeoutMs);
      actions.ping();
    }, pingAfterMs);
  };
  beat();
  return { beat, stop };
}
