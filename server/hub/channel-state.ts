/**
 * One channel as the hub routes it: its watch index (`watch-index.ts`: who watches what) and its per-record memory
 * (`record-memory.ts`: what records looked like), kept in step as watches come and go, the counter that numbers its
 * changes, and the change log kept while snapshot reads are in flight. Also the subscription: a connection's watches
 * on one channel, under the name it used. Browser-safe.
 */
import type { Params } from '../../protocol/index.js';
import type { ChannelSpec } from './channels.js';
import { RecordMemory, type LoggedChange } from './record-memory.js';
import type { SharedFrame } from './socket.js';
import type { Change } from './source.js';
import { NO_WATCHES, WatchIndex, type Filter, type Watcher } from './watch-index.js';

/** Where a subscription's frames go: its connection (`HubConnection`). */
export interface Subscriber {
  /** Sends a frame shared with every connection a change goes to (the same object to each). */
  sendFrame(frame: SharedFrame): void;
}

/** A connection's watches on one channel, under the name (`resource`) it used. */
export interface Subscription extends Watcher {
  readonly resource: string;
  readonly state: ChannelState;
  /**
   * The hub's latest snapshot read per watch (by canonical params) while one is in flight, so an older read that
   * answers later does not overwrite its list; created with the first such read, dropped when none is left.
   */
  reads: Map<string, unknown> | undefined;
  /** Snapshot reads of this connection on this channel still in flight: live changes wait for them. */
  inflight: number;
  /** The connection: frames go to its `sendFrame` (the same frame object to every connection it concerns). */
  readonly conn: Subscriber;
}

/** A new subscription of `conn` to `state` under `resource`, with no watches. */
export function subscription(resource: string, state: ChannelState, conn: Subscriber): Subscription {
  return { resource, state, watches: NO_WATCHES, reads: undefined, inflight: 0, conn };
}

/** Routing state of one channel. */
export class ChannelState {
  /** Who watches what. */
  readonly index = new WatchIndex<Subscription>();
  /** What watched records looked like. */
  readonly memory: RecordMemory;
  /** Sequence number of the last change. */
  seq = 0;
  /** Changes kept while snapshot reads are in flight, oldest first. */
  private log: LoggedChange[] = [];
  /** Start sequence numbers of in-flight reads (with counts). */
  private readonly readStarts = new Map<number, number>();

  /**
   * @param onActivity Called when the channel gets its first watching connection (`true`) and when the last one
   *   leaves (`false`), so feeds can subscribe upstream only while someone listens.
   */
  constructor(
    readonly spec: ChannelSpec,
    private readonly onActivity?: (active: boolean) => void,
  ) {
    this.memory = new RecordMemory(spec);
  }

  /** Subscriptions holding at least one watch. */
  get subs(): ReadonlySet<Subscription> {
    return this.index.subs;
  }

  /** Number of changes held for in-flight reads. */
  get logSize(): number {
    return this.log.length;
  }

  /** Adds the watch `params` (canonical form `key`, which the subscription does not hold yet) and returns its filter. */
  addWatch(sub: Subscription, key: string, params: Params): Filter {
    const wasIdle = this.index.subs.size === 0;
    const filter = this.index.add(sub, key, params);
    this.memory.watch(filter.fields);
    if (wasIdle) this.onActivity?.(true);
    return filter;
  }

  /** Removes the watch `key` of `sub` and returns its filter; undefined when it held none. */
  removeWatch(sub: Subscription, key: string): Filter | undefined {
    const filter = this.index.remove(sub, key);
    if (!filter) return undefined;
    this.memory.unwatch(filter.fields);
    if (this.index.subs.size === 0) this.onActivity?.(false);
    return filter;
  }

  /** Removes every watch of a subscription (its connection closed). */
  dropSubscription(sub: Subscription): void {
    // `removeWatch` replaces the array, so this walks the one it started with.
    for (const filter of sub.watches) this.removeWatch(sub, filter.key);
  }

  /** Forgets what records looked like (after missed changes: broker reconnect, source outage). */
  forget(): void {
    this.memory.forget();
  }

  /** Numbers a change and logs it with what the record was before (from the change, or remembered). */
  record(change: Change): LoggedChange {
    const logged = this.memory.record(change, ++this.seq);
    if (this.readStarts.size > 0) this.log.push(logged);
    return logged;
  }

  /**
   * A snapshot read begins (or joins a shared read that began at `startSeq`): keep the changes after
   * `startSeq` until it ends.
   */
  beginRead(startSeq: number = this.seq): number {
    this.readStarts.set(startSeq, (this.readStarts.get(startSeq) ?? 0) + 1);
    return startSeq;
  }

  /** Changes since `startSeq` (exclusive of older ones), oldest first. */
  changesSince(startSeq: number): LoggedChange[] {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.seq <= startSeq) lo = mid + 1;
      else hi = mid;
    }
    return this.log.slice(lo);
  }

  /** A snapshot read ended: drop the changes no in-flight read needs any more. */
  endRead(startSeq: number): void {
    const n = (this.readStarts.get(startSeq) ?? 1) - 1;
    if (n === 0) this.readStarts.delete(startSeq);
    else this.readStarts.set(startSeq, n);
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
