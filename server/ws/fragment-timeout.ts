/**
 * Unfinished messages (`fragmentTimeoutMs`). `ws` keeps the fragments of a message, and the part of a frame that
 * has arrived, until the message is complete — up to `maxPayload` per connection, with no time limit: a client
 * that sends a first fragment and never the last one holds that memory for as long as it answers pings. Such a
 * connection is closed with 1008 (policy violation) once its message has been unfinished for `fragmentTimeoutMs`.
 *
 * Nothing is added to the receiving path: one sweep per server, every quarter of the timeout, asks each
 * connection's `ws` receiver whether it is in the middle of a message (a frame partly read, or fragments waiting
 * for the last one). The first sweep that finds it so marks the connection with the sweep's number; a complete
 * message clears the mark (`WsHubSocket.message`); the fourth sweep after the mark closes it. A mark is set at or
 * after the message's start and sweeps are at least a quarter of the timeout apart, so a message that completes
 * within the timeout is never cut, and an unfinished one is cut 1 to 1.25 timeouts after it started (plus the
 * timers' own delays). The mark is a sweep number, not a time: a small integer, which V8 keeps in the connection
 * object itself (a fractional time would box every connection's field).
 */
import type { WebSocket } from 'ws';
import { CloseCode } from '../../protocol/index.js';
import type { IntervalTimers } from './heartbeat.js';
import type { Logger } from '../hub/logger.js';
import type { ServerWebSocket } from './adapter.js';

/** The fields of `ws` 8's Receiver (lib/receiver.js) read here; checked at run time, never trusted blindly. */
interface ReceiverInternals {
  /** What it waits for: 0 a frame's first bytes, 1-2 its length, 3 its mask, 4 its payload, 5 inflating, 6 an event. */
  readonly _state?: unknown;
  /** Bytes received and not yet consumed (part of a header or payload). */
  readonly _bufferedBytes?: unknown;
  /** The opcode of the fragmented message in progress, 0 when none. */
  readonly _fragmented?: unknown;
}

const GET_INFO = 0;
const GET_DATA = 4;

/** Sweeps per timeout: a mark this many sweeps old is at least a timeout old. */
export const SWEEPS_PER_TIMEOUT = 4;

/**
 * Whether `ws` is in the middle of a message: a frame partly received (header or payload), or a message's first
 * fragments received and not its last one. `undefined` when the receiver does not look like `ws` 8's.
 */
export function messageInProgress(ws: WebSocket): boolean | undefined {
  const receiver = (ws as unknown as { _receiver?: ReceiverInternals | null })._receiver;
  if (!receiver) return false;
  const { _state: state, _bufferedBytes: buffered, _fragmented: fragmented } = receiver;
  if (typeof state !== 'number' || typeof buffered !== 'number' || typeof fragmented !== 'number') return undefined;
  return fragmented !== 0 || buffered > 0 || (state > GET_INFO && state <= GET_DATA);
}

/** The unfinished-message sweep of one server. */
export interface FragmentSweep {
  /** Starts the sweep if it is not running (the first connection does: a server without any holds no timer). */
  start(): void;
  stop(): void;
  /** Connections closed because a message stayed unfinished. */
  readonly closed: number;
}

/** Sweeps `clients` every quarter of `timeoutMs`; 0 (or less) sweeps nothing. */
export function fragmentSweep(
  timeoutMs: number,
  clients: () => Iterable<WebSocket>,
  logger: Logger,
  timers: IntervalTimers = globalThis as IntervalTimers,
): FragmentSweep {
  let handle: unknown;
  /** The number of the current sweep: what marks hold. */
  let round = 0;
  let closed = 0;
  /** Set when the receiver turned out not to be `ws` 8's: said once, never started again. */
  let unsupported = false;
  if (!(timeoutMs > 0)) return { start() {}, stop() {}, closed };

  const sweep = (): void => {
    round++;
    for (const ws of clients()) {
      const socket = (ws as ServerWebSocket).hubSocket;
      // Refused connections are closing already (closeTimeoutMs bounds them); only admitted ones are marked.
      if (socket === undefined || ws.readyState !== ws.OPEN) continue;
      const busy = messageInProgress(ws);
      if (busy === undefined) {
        logger.warn('fragmentTimeoutMs is not enforced: the ws receiver is not the one this server knows (ws 8)');
        unsupported = true;
        stop();
        return;
      }
      if (!busy) socket.unfinishedSince = -1;
      else if (socket.unfinishedSince < 0) socket.unfinishedSince = round;
      else if (round - socket.unfinishedSince >= SWEEPS_PER_TIMEOUT) {
        closed++;
        logger.info('message unfinished too long, closing', {
          code: CloseCode.PolicyViolation,
          timeoutMs,
          remoteAddress: socket.remoteAddress,
        });
        socket.close(CloseCode.PolicyViolation, 'message not finished in time');
      }
    }
  };
  const stop = (): void => {
    if (handle !== undefined) timers.clearInterval(handle);
    handle = undefined;
  };

  return {
    start() {
      if (handle !== undefined || unsupported) return;
      handle = timers.setInterval(sweep, Math.max(1, timeoutMs / SWEEPS_PER_TIMEOUT));
      // Never keeps a process alive by itself: the listening socket does that.
      (handle as { unref?: () => void }).unref?.();
    },
    stop,
    get closed() {
      return closed;
    },
  };
}
