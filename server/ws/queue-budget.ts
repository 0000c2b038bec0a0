/**
 * The server-wide bound on bytes queued to clients (`maxQueuedBytes`). `slowConsumer` bounds what one connection
 * may hold, but not how many hold it at once: ten stalled tabs at 32 MiB each are 320 MiB, a hundred take the
 * process down. So the sum over every connection has a budget too; past it, the connections holding the most are
 * closed with 1013 (largest first) until the sum is back under it. The client reconnects and re-snapshots, so a
 * closed consumer loses nothing; the others are not slowed down.
 *
 * The fan-out path must stay cheap, so the sum is kept as it goes, not scanned per frame: every connection
 * counts for what its queue held when it last sent (`counted`: the bytes waiting before its last frame, measured
 * anyway by the slow-consumer check, plus that frame). Bytes the kernel took since are not seen until the
 * connection's next frame, so the sum can only run ahead of the truth, never behind it by more than the frame
 * sizes' estimate. Once it passes the budget, one scan — after the current event-loop turn, when the frames corked
 * in it have reached the kernel (`ws-frames.ts`) — measures every connection, corrects the sum, and closes the
 * largest only if the measured sum is still over. At most one scan per turn, whatever the rate of frames.
 */

/** A connection as the budget sees it (the ws transport's socket, `GuardedSocket`). */
export interface BudgetedSocket {
  /** @internal The bytes this connection counts for in the sum; kept by the budget. */
  counted: number;
  /** Its bytes waiting now, measured; -1 when it no longer counts (found slow, or closed). */
  queuedNow(): number;
  /** Closes it because of the budget (1013); from then on `queuedNow()` is -1. */
  overBudget(bytes: number): void;
}

/** Counters of `QueuedBytesBudget`, for `/debug/stats`. */
export interface QueuedBytesStats {
  /** The running sum (at or above the bytes really waiting; exact right after a scan). */
  queuedBytes: number;
  /** Scans run because the sum passed the budget. */
  budgetScans: number;
  /** Connections closed by the budget. */
  closedOverBudget: number;
}

/** Defers the scan to after the current event-loop turn; injected by tests. */
export type Defer = (fn: () => void) => void;

const afterTurn: Defer = (fn) => void setImmediate(fn);

/** The running sum of bytes queued to every connection of a server, and what happens past `maxBytes`. */
export class QueuedBytesBudget {
  private total = 0;
  private scheduled = false;
  private scans = 0;
  private closed = 0;

  /**
   * @param maxBytes The budget (`maxQueuedBytes`), above 0.
   * @param members Every connection that may count (only walked by a scan).
   */
  constructor(
    readonly maxBytes: number,
    private readonly members: () => Iterable<BudgetedSocket>,
    private readonly defer: Defer = afterTurn,
  ) {}

  /** `socket` has about `bytes` waiting now (measured before its frame, plus the frame). */
  update(socket: BudgetedSocket, bytes: number): void {
    this.total += bytes - socket.counted;
    socket.counted = bytes;
    if (this.total > this.maxBytes && !this.scheduled) {
      this.scheduled = true;
      this.defer(this.enforce);
    }
  }

  /** `socket` no longer counts (found slow or closed: nothing more is queued for it). */
  release(socket: BudgetedSocket): void {
    this.total -= socket.counted;
    socket.counted = 0;
  }

  /**
   * Measures every connection and, while the sum is over the budget, closes the one holding the most. Runs
   * deferred after `update` found the sum over the budget; callable directly (tests).
   */
  readonly enforce = (): void => {
    this.scheduled = false;
    this.scans++;
    let total = 0;
    const holding: BudgetedSocket[] = [];
    for (const socket of this.members()) {
      const bytes = socket.queuedNow();
      if (bytes < 0) continue;
      socket.counted = bytes;
      total += bytes;
      if (bytes > 0) holding.push(socket);
    }
    this.total = total;
    if (total <= this.maxBytes) return;
    holding.sort((a, b) => b.counted - a.counted);
    for (const socket of holding) {
      if (this.total <= this.maxBytes) break;
      const bytes = socket.counted;
      this.closed++;
      // Releases it from the sum (through `release`), whatever the socket does to close.
      socket.overBudget(bytes);
      this.release(socket);
    }
  };

  stats(): QueuedBytesStats {
    return { queuedBytes: this.total, budgetScans: this.scans, closedOverBudget: this.closed };
  }
}
