/**
 * One channel as the hub routes it: its watch index (`watch-index.ts`: who watches what) and its per-record memory
 * (`record-memory.ts`: what records looked like), kept in step as watches come and go, and the counter that numbers
 * its changes. Also the subscription: a connection's watches on one channel, under the name it used. What happens to
 * a change is in `fanout.ts`, what happens to a snapshot read in `reads.ts`. Browser-safe.
 */
import type { Params } from '../../protocol/index.js';
import type { ChannelSpec } from './channels.js';
import type { ChannelHistory } from './history.js';
import { RecordMemory, type LoggedChange } from './record-memory.js';
import type { SharedFrame } from './socket.js';
import type { Change } from './source.js';
import { NO_WATCHES, WatchIndex, type Filter, type Watcher } from './watch-index.js';

/** Where a subscription's frames go, and what its watches cost: its connection (`HubConnection`). */
export interface Subscriber {
  /** Sends a frame shared with every connection a change goes to (the same object to each). */
  sendFrame(frame: SharedFrame): void;
  /** Set when the connection words change frames its own way (another dialect: `ConnectionDialect`). */
  readonly dialect?:
    | { frame(state: ChannelState, change: LoggedChange, kind: 'item' | 'remove', resource: string): SharedFrame }
    | undefined;
  /** Watches held on every channel (`maxWatches`), kept by `addWatch` and `removeWatch`. */
  watchCount: number;
  /** Whether the client takes `progress` frames (it said so in `init`, or sent a `watch` with a position). */
  readonly resumeAware?: boolean;
  /** What they hold, as `Filter.bytes` estimates it (`maxWatchBytes`), kept with `watchCount`. */
  watchBytes: number;
}

/** A connection's watches on one channel, under the name (`resource`) it used. */
export interface Subscription extends Watcher {
  readonly resource: string;
  readonly state: ChannelState;
  /** Snapshot reads of this connection on this channel still in flight: live changes wait for them (`reads.ts`). */
  inflight: number;
  /**
   * The last position (an offset) this subscription was sent, on a channel with positions; -1 before any. A quiet
   * watch gets a `progress` when the timeline has moved past it (`resume.ts`).
   */
  sent: number;
  /**
   * The offset every watch of this subscription resumed from, while that holds (`resume.ts`): each change after it
   * was then sent to the subscription as frames, decided with those watches. Undefined once a watch came another way
   * (a snapshot read, another offset) or went. A client re-sends all its watches with one position, so a watch
   * resumed from the same offset need only send what it changes in that decision.
   */
  resumedFrom?: number | undefined;
  /** The connection: frames go to its `sendFrame` (the same frame object to every connection it concerns). */
  readonly conn: Subscriber;
}

/** A new subscription of `conn` to `state` under `resource`, with no watches. */
export function subscription(resource: string, state: ChannelState, conn: Subscriber): Subscription {
  return { resource, state, watches: NO_WATCHES, inflight: 0, sent: -1, conn };
}

/** Routing state of one channel. */
export class ChannelState {
  /** Who watches what. */
  readonly index = new WatchIndex<Subscription>();
  /** What watched records looked like. */
  readonly memory: RecordMemory;
  /** Sequence number of the last change. */
  seq = 0;
  /** Its positions and recent changes, when the channel is resumable (the hub's `resume` and the spec's `resume`). */
  history: ChannelHistory | undefined = undefined;

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

  /**
   * The filter of `params` (canonical form `canonical`): the one already held on this channel, else a new one that
   * nobody holds yet, whose `bytes` tell what holding it would cost before `addWatch` commits to it.
   */
  filterFor(canonical: string, params: Params): Filter {
    return this.index.filterFor(canonical, params);
  }

  /**
   * Adds `filter` (from `filterFor`, for params `sub` does not watch yet) to the watches of `sub`, and charges it to
   * the connection.
   */
  addWatch(sub: Subscription, filter: Filter): Filter {
    const wasIdle = this.index.subs.size === 0;
    this.index.add(sub, filter);
    this.memory.watch(filter.fields);
    sub.conn.watchCount++;
    sub.conn.watchBytes += filter.bytes;
    if (wasIdle) this.onActivity?.(true);
    return filter;
  }

  /** Removes the watch `filter` of `sub` (one of `sub.watches`), and gives back what it cost the connection. */
  removeWatch(sub: Subscription, filter: Filter): void {
    // What was sent for the watch that goes is no longer what the remaining ones would decide (`resume.ts`).
    sub.resumedFrom = undefined;
    this.index.remove(sub, filter);
    this.memory.unwatch(filter.fields);
    sub.conn.watchCount--;
    sub.conn.watchBytes -= filter.bytes;
    if (this.index.subs.size === 0) this.onActivity?.(false);
  }

  /** Removes every watch of a subscription (its connection closed). */
  dropSubscription(sub: Subscription): void {
    // `removeWatch` replaces the array, so this walks the one it started with.
    for (const filter of sub.watches) this.removeWatch(sub, filter);
  }

  /** Forgets what records looked like (after missed changes: broker reconnect, source outage). */
  forget(): void {
    this.memory.forget();
  }

  /**
   * Numbers a change, positions it (a resumable channel), and logs it with what the record was before (from the
   * change, or remembered).
   */
  record(change: Change): LoggedChange {
    let pos = -1;
    const history = this.history;
    if (history) {
      const timeline = history.timeline;
      if (!timeline.external) pos = timeline.next();
      else if (change.offset !== undefined) {
        pos = change.offset;
        timeline.issue(pos);
      }
      // A change that is in no stream (the application's own write to memory, with a stream feeding the rest): the
      // history cannot replay it to a client that resumes from before it, so those positions (every one given out
      // so far) get a full list; the next offset the stream gives resumes again.
      else history.cutAtPresent();
    }
    return this.memory.record(change, ++this.seq, pos);
  }
}
