/**
 * The history of one resumable channel: its recent changes, in order, as fan-out logged them (with what each record
 * was before, so that a replay decides `item` or `remove` per connection exactly as live delivery did), bounded in
 * entries and in bytes. A client that re-watches with a position the history still covers is sent the changes
 * after it instead of a new snapshot (`resume.ts`). Browser-safe.
 */
import { changesAfter, type LoggedChange } from './record-memory.js';
import { channelEpoch, type Timeline } from './positions.js';

/** Bounds of a channel's history. */
export interface HistoryBounds {
  /** Most changes kept. */
  readonly entries: number;
  /** Most bytes kept, as `ChannelHistory.add` is told each change costs. */
  readonly bytes: number;
}

/** What an entry costs besides its record's JSON: the logged change, its slot, its `prev` reference (measured order of magnitude). */
export const HISTORY_ENTRY_BYTES = 160;

/** One channel's positions and recent changes. */
export class ChannelHistory {
  /**
   * Every change after `floor` is kept: a position at or after it can be resumed. Moves forward as the oldest changes
   * are dropped, and jumps to the present when a change without a position cuts the history.
   */
  floor: number;
  private entries: LoggedChange[] = [];
  private sizes: number[] = [];
  /** Index of the oldest entry still kept (dropped ones are compacted away in batches). */
  private first = 0;
  private held = 0;
  /** The marker epoch and the channel epoch derived from it, for the last position written. */
  private memo: { epoch: string; text: string } | undefined;

  constructor(
    readonly channel: string,
    readonly timeline: Timeline,
    private readonly bounds: HistoryBounds,
  ) {
    this.floor = timeline.head;
  }

  /** Changes kept. */
  get size(): number {
    return this.entries.length - this.first;
  }

  /** Bytes kept, as estimated. */
  get bytes(): number {
    return this.held;
  }

  /** The position of `offset` on this channel, or undefined when no known epoch governs it. */
  text(offset: number): string | undefined {
    const epoch = this.timeline.epochAt(offset);
    if (epoch === undefined) return undefined;
    let memo = this.memo;
    if (memo?.epoch !== epoch) this.memo = memo = { epoch, text: channelEpoch(epoch, this.channel) };
    return `${memo.text}.${offset}`;
  }

  /** The channel epoch under marker epoch `epoch`. */
  epochOf(epoch: string): string {
    return this.memo?.epoch === epoch ? this.memo.text : channelEpoch(epoch, this.channel);
  }

  /** Keeps a change (its `pos` above every kept one) that costs `bytes`; drops the oldest past the bounds. */
  add(change: LoggedChange, bytes: number): void {
    this.entries.push(change);
    this.sizes.push(bytes);
    this.held += bytes;
    while (this.size > this.bounds.entries || (this.held > this.bounds.bytes && this.size > 0)) {
      this.held -= this.sizes[this.first]!;
      this.floor = this.entries[this.first]!.pos;
      this.first++;
    }
    // Compact once the dropped part is the larger half: amortised O(1) a change, and no unbounded dead prefix.
    if (this.first > 1024 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.sizes = this.sizes.slice(this.first);
      this.first = 0;
    }
  }

  /** Whether every change after `offset` is kept. */
  covers(offset: number): boolean {
    return offset >= this.floor;
  }

  /** The kept changes after `offset`, oldest first. */
  after(offset: number): LoggedChange[] {
    return changesAfter(this.entries, this.first, 'pos', offset);
  }

  /**
   * Forgets every change up to the present, the highest offset given out included: positions given out so far get a
   * full `list`, the next offset resumes again.
   */
  cutAtPresent(): void {
    this.cut(Math.max(this.timeline.head, this.timeline.issued) + 1);
  }

  /** Forgets every change: from now on only positions at or after `floor` can be resumed. */
  cut(floor: number): void {
    this.entries = [];
    this.sizes = [];
    this.first = 0;
    this.held = 0;
    this.floor = floor;
    this.memo = undefined;
  }
}
