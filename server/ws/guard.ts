/**
 * The per-connection guards of a transport socket: a message-rate limit on what comes in (close 4429) and the
 * slow-consumer policy on what goes out (close 1013). Kept outside the hub so the hub stays a protocol engine and
 * the mock (which has no buffers) is not affected.
 *
 * A base class of the transport's socket rather than a decorator around it: the guard's state (two numbers of the
 * token bucket, the slow-consumer fields) lives in the one object an idle connection costs, with no closures and
 * no bucket or guard object of its own. Thousands of idle connections is the case a real-time server is sized for.
 */
import { CloseCode } from '../../protocol/index.js';
import { SlowConsumerPolicy, type GuardTimers, type SlowConsumerLimits, type SlowReason } from './backpressure.js';
import type { HubSocket, SharedFrame, SocketEvents } from '../hub/socket.js';
import { monotonicMs, takeToken, type RateLimit } from '../security/limits.js';
import type { Logger } from '../hub/logger.js';
import type { BudgetedSocket, QueuedBytesBudget } from './queue-budget.js';

/** What the guards enforce: one object for every connection of a server. */
export interface GuardOptions {
  /** Incoming messages per second (token bucket), or false for no limit. */
  readonly rateLimit: RateLimit | false;
  /** Outgoing buffer thresholds. */
  readonly slowConsumer: SlowConsumerLimits;
  /** The server-wide budget of bytes queued to clients (`maxQueuedBytes`), when there is one. */
  readonly queuedBytes?: QueuedBytesBudget;
  readonly logger: Logger;
  /** @default the global timers */
  readonly timers?: GuardTimers;
  /** Milliseconds clock for the token bucket. @default performance.now */
  readonly now?: () => number;
}

/**
 * A hub socket with the rate limit and the slow-consumer policy. A transport extends it with the writing, closing
 * and buffer measuring of its own socket, and calls `received` for every incoming frame and `ended` once closed.
 */
export abstract class GuardedSocket<O extends GuardOptions = GuardOptions> extends SlowConsumerPolicy implements HubSocket, BudgetedSocket {
  /** @internal The token bucket's state (`takeToken`), as fields of this object. */
  tokens: number;
  /** @internal */
  last: number;
  /** @internal What this connection counts for in the server-wide queued-bytes sum (`QueuedBytesBudget`). */
  counted = 0;
  /** The rate limit closed the connection; frames until the close handshake ends are dropped. */
  private limited = false;
  /** Where frames and the end go: the hub's connection (`attach`), or the handlers given to `onMessage`/`onClose`. */
  private events: SocketEvents | undefined = undefined;

  constructor(protected readonly options: O) {
    super();
    this.tokens = options.rateLimit ? options.rateLimit.burst : 0;
    this.last = options.rateLimit ? (options.now ?? monotonicMs)() : 0;
  }

  /** Writes a text frame (the socket may have closed meanwhile). */
  protected abstract write(data: string): void;
  /** Writes a frame shared with other connections, like `write(frame.text)`. */
  protected abstract writeFrame(frame: SharedFrame): void;
  abstract close(code: number, reason?: string): void;
  abstract readonly bufferedAmount: number;
  abstract readonly remoteAddress: string | undefined;

  send(data: string): void {
    const before = this.admitted();
    if (before < 0) return;
    this.write(data);
    // The budget's estimate of the frame: its length (JSON is mostly ASCII); the budget's scan measures exactly.
    this.options.queuedBytes?.update(this, before + data.length);
    this.sent();
  }

  sendFrame(frame: SharedFrame): void {
    const before = this.admitted();
    if (before < 0) return;
    this.writeFrame(frame);
    this.options.queuedBytes?.update(this, before + frame.text.length);
    // At most 3 bytes of UTF-8 per UTF-16 unit, plus the largest frame header.
    this.sentAfter(before, frame.text.length * 3 + 14);
  }

  /** @internal The bytes waiting now, or -1 once nothing more is queued (found slow, or closed). */
  queuedNow(): number {
    return this.isTripped ? -1 : this.bufferedAmount;
  }

  /** @internal The server-wide budget picked this connection, one of those holding the most: closed with 1013. */
  overBudget(bytes: number): void {
    this.trip('budget', bytes);
  }

  attach(conn: SocketEvents): void {
    this.events = conn;
  }

  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.events = { receive: handler, ended: this.events?.ended ?? ignore };
  }

  onClose(handler: (code: number, reason: string) => void): void {
    this.events = { receive: this.events?.receive ?? ignore, ended: handler };
  }

  /**
   * Whether an incoming frame is within the rate limit; over it, the connection is closed with 4429 and this and
   * every later frame are dropped. Called before the frame is decoded, so a flood costs no decoding.
   */
  protected admitMessage(): boolean {
    if (this.limited) return false;
    const limit = this.options.rateLimit;
    if (limit && !takeToken(this, limit, (this.options.now ?? monotonicMs)())) {
      this.limited = true;
      this.options.logger.info('rate limit exceeded, closing', { code: CloseCode.RateLimited, remoteAddress: this.remoteAddress });
      this.close(CloseCode.RateLimited, 'rate limited');
      return false;
    }
    return true;
  }

  /** An admitted frame, decoded: to the hub. */
  protected received(data: string, isBinary: boolean): void {
    this.events?.receive(data, isBinary);
  }

  /** The socket closed. */
  protected ended(code: number, reason: string): void {
    this.dispose();
    this.options.queuedBytes?.release(this);
    this.events?.ended(code, reason);
  }

  // Read from the shared options: no fields of their own on every connection.
  protected get limits(): SlowConsumerLimits {
    return this.options.slowConsumer;
  }

  protected get timers(): GuardTimers {
    return this.options.timers ?? (globalThis as GuardTimers);
  }

  protected bufferedBytes(): number {
    return this.bufferedAmount;
  }

  protected slow(reason: SlowReason, bytes: number): void {
    // Nothing more is queued for it: its bytes leave the server-wide sum (they are freed within closeTimeoutMs).
    this.options.queuedBytes?.release(this);
    this.options.logger.info('slow consumer closed', { code: CloseCode.Overloaded, reason, bytes, remoteAddress: this.remoteAddress });
    this.close(CloseCode.Overloaded, reason === 'budget' ? 'server overloaded' : 'slow consumer');
  }
}

function ignore(): void {}
