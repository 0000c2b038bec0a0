/**
 * The memory of recent reads behind the coalescing window (`HubOptions.coalesceWindowMs`): when the last read of
 * each key (channel, kind and canonical params) started, so that an identical request within the window waits for
 * the next read instead of starting its own (`reads.ts`). Its keys are what clients send, so it is bounded in
 * entries and length (issue 10, bounded caches): forgetting a key only costs the source one more read, never
 * correctness. Browser-safe.
 */
import type { Timers } from '../../protocol/timers.js';

/**
 * Bounds of the memory of recent reads. A key longer than `maxKeyLength` code units is not remembered (its reads
 * are not held back by a window); at most `maxEntries` keys of at most `maxTotalLength` code units together are, the
 * oldest start forgotten first. So the map holds at most 8 MiB of keys (2 bytes a code unit at worst) and about 300
 * bytes per entry besides (measured for short keys: 3 MB at `maxEntries`), whatever clients send.
 *
 * `maxKeyLength` admits, with room to spare, the largest filters the other bounds let through in practice (a `$in`
 * of `DEFAULTS.maxInValues` 24-hex ids is about 27,000 characters), so a reconnect storm of such watches still costs
 * one read per window. A module constant, not an option: it bounds an optimisation, and a forgotten key only costs
 * the source one more read.
 */
export const RECENT_READS = { maxKeyLength: 64 * 1_024, maxEntries: 10_000, maxTotalLength: 4 * 1_024 * 1_024 } as const;

/** When the last read of each key started, within `RECENT_READS`, for keys whose coalescing window may not have ended. */
export class RecentReads {
  /** Start times by key, oldest first (a Map iterates in insertion order; a key noted again is moved to the end). */
  private readonly started = new Map<string, number>();
  /** Code units of the keys in `started`. */
  private length = 0;
  /** The pending sweep, if any: one timer for the whole map (a timer per key would keep its key alive until it fired). */
  private sweep: unknown = undefined;

  constructor(
    /** The coalescing window, ms (> 0: without a window nothing is noted). */
    private readonly windowMs: number,
    private readonly timers: Required<Timers>,
  ) {}

  /** Number of keys remembered. */
  get size(): number {
    return this.started.size;
  }

  /** How long a new read of `key` must wait for the window of the last one to end (≤ 0: not at all). */
  waitFor(key: string): number {
    const last = this.started.get(key);
    return last === undefined ? 0 : last + this.windowMs - this.timers.now();
  }

  /** A read of `key` starts now: remembered within `RECENT_READS`, the oldest entries making room. */
  note(key: string): void {
    if (key.length > RECENT_READS.maxKeyLength) return;
    // Deleted and set again, so the map stays in order of start times: the oldest entry is always the first.
    if (this.started.has(key)) this.started.delete(key);
    else this.length += key.length;
    this.started.set(key, this.timers.now());
    for (const oldest of this.started.keys()) {
      if (this.started.size <= RECENT_READS.maxEntries && this.length <= RECENT_READS.maxTotalLength) break;
      this.forget(oldest);
    }
    this.sweep ??= this.timers.setTimeout(() => this.sweepEnded(), 2 * this.windowMs);
  }

  /** Forgets the keys whose window has ended (`waitFor` ignores them anyway), so the map stays small. */
  private sweepEnded(): void {
    this.sweep = undefined;
    const now = this.timers.now();
    for (const [key, startedAt] of this.started) {
      if (startedAt + this.windowMs > now) break;
      this.forget(key);
    }
    if (this.started.size > 0) this.sweep = this.timers.setTimeout(() => this.sweepEnded(), 2 * this.windowMs);
  }

  private forget(key: string): void {
    this.started.delete(key);
    this.length -= key.length;
  }
}
