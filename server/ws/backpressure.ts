/**
 * Slow consumers. A client that stops reading (a frozen tab, a stalled network) makes every frame sent to it wait
 * in the server's memory; without a bound one such client grows the process until it dies. The policy:
 *
 * - **hard cap**: when a frame is about to be queued and the bytes already waiting are above `hardBytes`, the frame
 *   is dropped and the connection closed with 1013. Checked *before* queuing, so a single big snapshot to an idle,
 *   healthy client is always sent; the bytes waiting for one connection therefore never exceed
 *   `hardBytes` + one frame (and a frame is at most one `list` of `maxListItems` records).
 * - **soft threshold**: bytes waiting above `softBytes` at every sample over `graceMs` (sampled `SAMPLES` times)
 *   close it with 1013 too. A client that drains a big snapshot within the grace period is never cut.
 *
 * The client reconnects after 1013 and re-snapshots its watches, so it loses nothing it should see; the other
 * clients on the channel are not slowed down, since every connection has its own buffer.
 */
import type { Timers } from '../../protocol/timers.js';

/** Slow-consumer thresholds (`DEFAULTS.slowConsumer`). */
export interface SlowConsumerLimits {
  /** Bytes waiting above which the grace period starts. */
  readonly softBytes: number;
  /** Bytes waiting above which no further frame is queued: the connection is closed. */
  readonly hardBytes: number;
  /** How long the bytes waiting may stay above `softBytes`. */
  readonly graceMs: number;
}

/** The timer functions the guard uses (the shared `Timers`); injected by tests. */
export type GuardTimers = Timers;

/** Samples taken over the grace period; the buffer must be above `softBytes` at every one of them. */
export const SAMPLES = 5;

/**
 * Why a connection was found slow: over its own hard cap or soft threshold, or the largest consumer when the
 * server-wide budget (`maxQueuedBytes`, `QueuedBytesBudget`) was passed.
 */
export type SlowReason = 'hard' | 'soft' | 'budget';

/**
 * The policy on one connection's unsent bytes, for a subclass that says how many bytes wait and what to do when
 * the connection is found slow. The ws transport's socket is one (so an idle connection is one object, with no
 * closures); `SlowConsumerGuard` is one built from two functions.
 */
export abstract class SlowConsumerPolicy {
  private timer: unknown = undefined;
  private samplesAbove = 0;
  private tripped = false;

  /** The thresholds (a subclass may read them from configuration it shares with other connections). */
  protected abstract readonly limits: SlowConsumerLimits;
  /** The timers of the grace period. */
  protected abstract readonly timers: GuardTimers;

  /** The connection's bytes waiting to be written (`ws.bufferedAmount`). */
  protected abstract bufferedBytes(): number;

  /** Called once, when the connection is found slow; closes it. */
  protected abstract slow(reason: SlowReason, bytes: number): void;

  /** Before queuing a frame: false when it must not be queued (the connection is, or has just been found, slow). */
  admit(): boolean {
    return this.admitted() >= 0;
  }

  /**
   * `admit` for the fan-out path: the bytes waiting when the frame may be queued (pass them to `sentAfter`), or -1
   * when it must not be (the connection is, or has just been found, slow).
   */
  admitted(): number {
    if (this.tripped) return -1;
    const bytes = this.bufferedBytes();
    if (bytes > this.limits.hardBytes) {
      this.trip('hard', bytes);
      return -1;
    }
    return bytes;
  }

  /**
   * `sent` for a frame of at most `maxBytes` queued when `before` bytes were waiting. With no grace period running
   * and the soft threshold out of reach even if the whole frame still waits, `sent` could only find the buffer
   * below the threshold and do nothing, so the buffer is not read a second time: one read per frame sent.
   */
  sentAfter(before: number, maxBytes: number): void {
    if (this.timer === undefined && before + maxBytes <= this.limits.softBytes) return;
    this.sent();
  }

  /** After queuing a frame: starts the grace period when the buffer went above the soft threshold. */
  sent(): void {
    if (this.tripped) return;
    if (this.bufferedBytes() <= this.limits.softBytes) {
      // It drained since the last sample: the grace period starts over next time.
      this.reset();
      return;
    }
    if (this.timer === undefined) this.schedule();
  }

  /** Stops watching (the connection closed). */
  dispose(): void {
    this.tripped = true;
    this.reset();
  }

  private schedule(): void {
    this.timer = this.timers.setTimeout(() => this.sample(), this.limits.graceMs / SAMPLES);
  }

  private sample(): void {
    this.timer = undefined;
    const bytes = this.bufferedBytes();
    if (bytes <= this.limits.softBytes) {
      this.samplesAbove = 0;
      return;
    }
    if (++this.samplesAbove >= SAMPLES) this.trip('soft', bytes);
    else this.schedule();
  }

  private reset(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.samplesAbove = 0;
  }

  /** Whether the connection was found slow (nothing more is queued for it). */
  protected get isTripped(): boolean {
    return this.tripped;
  }

  /** Finds the connection slow (once): stops the grace period and calls `slow`. */
  protected trip(reason: SlowReason, bytes: number): void {
    if (this.tripped) return;
    this.reset();
    this.tripped = true;
    this.slow(reason, bytes);
  }
}

/** Watches one connection's unsent bytes, read and reported through functions. */
export class SlowConsumerGuard extends SlowConsumerPolicy {
  /**
   * @param buffered The connection's bytes waiting to be written (`ws.bufferedAmount`).
   * @param onSlow Called once, when the connection is found slow; the caller closes it.
   */
  constructor(
    protected readonly limits: SlowConsumerLimits,
    private readonly buffered: () => number,
    private readonly onSlow: (reason: SlowReason, bytes: number) => void,
    protected readonly timers: GuardTimers = globalThis as GuardTimers,
  ) {
    super();
  }

  protected bufferedBytes(): number {
    return this.buffered();
  }

  protected slow(reason: SlowReason, bytes: number): void {
    this.onSlow(reason, bytes);
  }
}
