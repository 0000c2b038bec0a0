/**
 * The per-connection guards, as a decorator of the hub's minimal socket: a message-rate limit on what comes in
 * (close 4429) and the slow-consumer policy on what goes out (close 1013). Kept outside the hub so the hub stays a
 * protocol engine and the mock (which has no buffers) is not affected.
 */
import { CloseCode } from '../protocol/index.js';
import { SlowConsumerGuard, type GuardTimers, type SlowConsumerLimits } from './backpressure.js';
import type { HubSocket, SharedFrame } from './hub-connection.js';
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
  return new GuardedSocket(socket, options);
}

/** A class, so the methods live once on the prototype and not as closures on every connection. */
class GuardedSocket implements HubSocket {
  private readonly bucket: TokenBucket | undefined;
  private readonly slow: SlowConsumerGuard;
  /** The rate limit closed the connection; frames until the close handshake ends are dropped. */
  private limited = false;

  constructor(
    private readonly socket: HubSocket,
    private readonly options: GuardOptions,
  ) {
    this.bucket = options.rateLimit ? new TokenBucket(options.rateLimit, options.now) : undefined;
    this.slow = new SlowConsumerGuard(
      options.slowConsumer,
      () => socket.bufferedAmount ?? 0,
      (reason, bytes) => {
        options.logger.info('slow consumer closed', { code: CloseCode.Overloaded, reason, bytes, remoteAddress: options.remoteAddress });
        socket.close(CloseCode.Overloaded, 'slow consumer');
      },
      options.timers,
    );
  }

  send(data: string): void {
    if (!this.slow.admit()) return;
    this.socket.send(data);
    this.slow.sent();
  }

  sendFrame(frame: SharedFrame): void {
    if (!this.socket.sendFrame) return this.send(frame.text);
    const before = this.slow.admitted();
    if (before < 0) return;
    this.socket.sendFrame(frame);
    // At most 3 bytes of UTF-8 per UTF-16 unit, plus the largest frame header.
    this.slow.sentAfter(before, frame.text.length * 3 + 14);
  }

  close(code: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.socket.onMessage((data, isBinary) => {
      if (this.limited) return;
      if (this.bucket && !this.bucket.take()) {
        this.limited = true;
        this.options.logger.info('rate limit exceeded, closing', { code: CloseCode.RateLimited, remoteAddress: this.options.remoteAddress });
        this.socket.close(CloseCode.RateLimited, 'rate limited');
        return;
      }
      handler(data, isBinary);
    });
  }

  onClose(handler: (code: number, reason: string) => void): void {
    this.socket.onClose((code, reason) => {
      this.slow.dispose();
      handler(code, reason);
    });
  }

  get bufferedAmount(): number | undefined {
    return this.socket.bufferedAmount;
  }
}
