/**
 * The per-connection guards, as a decorator of the hub's minimal socket: a message-rate limit on what comes in
 * (close 4429) and the slow-consumer policy on what goes out (close 1013). Kept outside the hub so the hub stays a
 * protocol engine and the mock (which has no buffers) is not affected.
 */
import { CloseCode } from '../protocol/index.js';
import { SlowConsumerGuard, type GuardTimers, type SlowConsumerLimits } from './backpressure.js';
import type { HubSocket } from './hub-connection.js';
import { TokenBucket, type RateLimit } from './limits.js';
import type { Logger } from './logger.js';

/** What `guardSocket` enforces. */
export interface GuardOptions {
  /** Incoming messages per second (token bucket), or false for no limit. */
  rateLimit: RateLimit | false;
  /** Outgoing buffer thresholds. */
  slowConsumer: SlowConsumerLimits;
  logger: Logger;
  /** For log lines. */
  remoteAddress?: string;
  /** @default the global timers */
  timers?: GuardTimers;
  /** Milliseconds clock for the token bucket. @default performance.now */
  now?: () => number;
}

/** Wraps `socket` with the rate limit and the slow-consumer policy. */
export function guardSocket(socket: HubSocket, options: GuardOptions): HubSocket {
  const { logger, remoteAddress } = options;
  const bucket = options.rateLimit ? new TokenBucket(options.rateLimit, options.now) : undefined;
  let limited = false;
  const slow = new SlowConsumerGuard(
    options.slowConsumer,
    () => socket.bufferedAmount ?? 0,
    (reason, bytes) => {
      logger.info('slow consumer closed', { code: CloseCode.Overloaded, reason, bytes, remoteAddress });
      socket.close(CloseCode.Overloaded, 'slow consumer');
    },
    options.timers,
  );
  return {
    send(data) {
      if (!slow.admit()) return;
      socket.send(data);
      slow.sent();
    },
    ...(socket.sendFrame
      ? {
          sendFrame(frame) {
            const before = slow.admitted();
            if (before < 0) return;
            socket.sendFrame!(frame);
            // At most 3 bytes of UTF-8 per UTF-16 unit, plus the largest frame header.
            slow.sentAfter(before, frame.text.length * 3 + 14);
          },
        }
      : {}),
    close(code, reason) {
      socket.close(code, reason);
    },
    onMessage(handler) {
      socket.onMessage((data, isBinary) => {
        // Frames that arrive after the limit closed the connection (until the close handshake ends) are dropped.
        if (limited) return;
        if (bucket && !bucket.take()) {
          limited = true;
          logger.info('rate limit exceeded, closing', { code: CloseCode.RateLimited, remoteAddress });
          socket.close(CloseCode.RateLimited, 'rate limited');
          return;
        }
        handler(data, isBinary);
      });
    },
    onClose(handler) {
      socket.onClose((code, reason) => {
        slow.dispose();
        handler(code, reason);
      });
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
  };
}
