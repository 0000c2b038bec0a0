/**
 * Admission limits that are pure bookkeeping: a token bucket per connection (messages per second) and a counter
 * of open connections per remote address. Time is injected, so the arithmetic is tested without waiting.
 */

/** A message rate: `burst` messages at once, refilled at `perSecond`. */
export interface RateLimit {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Bucket size: the most messages accepted in one burst. */
  readonly burst: number;
}

/** @throws RangeError unless `burst >= 1` and `perSecond > 0`. */
export function checkRateLimit(limit: RateLimit): void {
  if (!(limit.burst >= 1) || !(limit.perSecond > 0)) {
    throw new RangeError(`rateLimit needs burst >= 1 and perSecond > 0, got ${JSON.stringify(limit)}`);
  }
}

/** The default clock: one function for every bucket, not a closure per connection. */
export const monotonicMs = (): number => performance.now();

/** The state of a token bucket: tokens left, and when they were counted (ms). */
export interface BucketState {
  tokens: number;
  last: number;
}

/**
 * Spends one token of `bucket` at time `t` (ms), after adding what came back since `bucket.last`; false when it is
 * empty (the message is over the limit). The arithmetic of `TokenBucket`, for holders that keep the two numbers
 * as their own fields (the ws transport's socket: no bucket object per connection).
 */
export function takeToken(bucket: BucketState, limit: RateLimit, t: number): boolean {
  bucket.tokens = Math.min(limit.burst, bucket.tokens + ((t - bucket.last) / 1000) * limit.perSecond);
  bucket.last = t;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/**
 * A token bucket: starts full, each `take()` spends a token, tokens come back at `perSecond` up to `burst`.
 * Refilled lazily on `take()` from the injected clock, so an idle connection costs no timer.
 */
export class TokenBucket implements BucketState {
  /** @internal */
  tokens: number;
  /** @internal */
  last: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = monotonicMs,
  ) {
    checkRateLimit(limit);
    this.tokens = limit.burst;
    this.last = now();
  }

  /** Spends one token; false when the bucket is empty (the message is over the limit). */
  take(): boolean {
    return takeToken(this, this.limit, this.now());
  }

  /** Tokens left now (for tests and stats). */
  get available(): number {
    return Math.min(this.limit.burst, this.tokens + ((this.now() - this.last) / 1000) * this.limit.perSecond);
  }
}

/**
 * Open connections per remote address. `acquire` counts one in if the address is under the limit; the caller
 * releases it when the connection ends (or is refused later). A limit of 0 counts nothing and admits everyone.
 */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Whether connections are counted at all (a limit above 0). */
  get counting(): boolean {
    return this.max > 0;
  }

  /** Counts a connection from `address` in; false (nothing counted) when the address is at the limit. */
  acquire(address: string): boolean {
    if (this.max <= 0) return true;
    const n = this.open.get(address) ?? 0;
    if (n >= this.max) return false;
    this.open.set(address, n + 1);
    return true;
  }

  /** Counts one connection from `address` out. */
  release(address: string): void {
    if (this.max <= 0) return;
    const n = (this.open.get(address) ?? 0) - 1;
    // Deleted at zero, so the map holds only addresses with open connections (bounded by the connections).
    if (n <= 0) this.open.delete(address);
    else this.open.set(address, n);
  }

  /** Open connections from `address`. */
  count(address: string): number {
    return this.open.get(address) ?? 0;
  }

  /** Addresses with at least one open connection. */
  get addresses(): number {
    return this.open.size;
  }
}
