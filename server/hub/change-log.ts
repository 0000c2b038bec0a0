/**
 * The changes of one channel kept while snapshot reads are in flight (the ordering guarantee, `reads.ts`): each read
 * holds on to those after the sequence number it began at, and remembers the position (timeline offset) it began at,
 * so that what is sent while older reads still hold changes back claims no more than was sent. Browser-safe.
 */
import { changesAfter, type LoggedChange } from './record-memory.js';

/**
 * The changes of one channel kept while snapshot reads are in flight, oldest first, each read holding on to those
 * after the sequence number its read began at.
 */
export class ChangeLog {
  private log: LoggedChange[] = [];
  /** Start sequence numbers of in-flight reads, with their count and the position they began at. */
  private readonly readStarts = new Map<number, { count: number; pos: number }>();

  /** Number of changes kept. */
  get size(): number {
    return this.log.length;
  }

  /** A change of the channel: kept if a read is in flight. */
  hold(change: LoggedChange): void {
    if (this.readStarts.size > 0) this.log.push(change);
  }

  /**
   * A snapshot read begins at `startPos` (or joins a shared read that began at `startSeq`): keep the changes after
   * `startSeq` until it ends.
   */
  beginRead(startSeq: number, startPos = -1): number {
    const entry = this.readStarts.get(startSeq);
    if (entry) entry.count++;
    else this.readStarts.set(startSeq, { count: 1, pos: startPos });
    return startSeq;
  }

  /**
   * The position the oldest read in flight began at, leaving out one read that began at `exceptSeq` (the one being
   * answered); +Infinity when no other read is in flight. Changes after it may still be held back from a connection.
   */
  heldFrom(exceptSeq: number): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const [seq, { count, pos }] of this.readStarts) {
      if (seq === exceptSeq && count === 1) continue;
      if (pos < oldest) oldest = pos;
    }
    return oldest;
  }

  /** Changes since `startSeq` (exclusive of older ones), oldest first. */
  changesSince(startSeq: number): LoggedChange[] {
    return changesAfter(this.log, 0, 'seq', startSeq);
  }

  /** A snapshot read ended: drop the changes no in-flight read needs any more. */
  endRead(startSeq: number): void {
    const entry = this.readStarts.get(startSeq);
    if (entry && --entry.count > 0) {
      // Still held by another joiner of the same read.
    } else this.readStarts.delete(startSeq);
    if (this.readStarts.size === 0) {
      this.log = [];
      return;
    }
    const oldest = Math.min(...this.readStarts.keys());
    let drop = 0;
    while (drop < this.log.length && this.log[drop]!.seq <= oldest) drop++;
    if (drop > 0) this.log = this.log.slice(drop);
  }
}
