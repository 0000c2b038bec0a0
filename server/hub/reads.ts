/**
 * Snapshot reads (`query`, `all`, `get`, `watch`) and the ordering guarantee, in one place
 * (PROTOCOL.md "Ordering guarantee").
 *
 * A request starts a read of the source, or joins an identical one (same channel, kind and canonical params) that
 * has not answered yet: in flight, or waiting for the coalescing window of the previous identical read to end. From
 * the moment a read is started, its channel's change log keeps every change, and the connections that joined it
 * get no live changes on that channel. When the source answers, each joiner gets its snapshot, then every change
 * since the read began, in arrival order (replaying one the snapshot already shows is harmless: a change carries
 * the whole record), and live changes flow again. The log forgets what no read in flight needs any more.
 *
 * Bounded: a read counts in its starter's `readsInFlight` until it answers (`maxReadsInFlight`, checked by the
 * dispatcher), a list's items over `maxListBytes` are refused rather than cut, and the memory of the coalescing
 * window is `recent-reads.ts`. Answering runs on a later tick, where nothing would catch an exception: a joiner that
 * cannot be answered is abandoned (1011), never the process. Browser-safe.
 */
import { stringifyList, type Doc, type ErrorRequest, type Params } from '../../protocol/index.js';
import type { ChannelState, Subscription } from './channel-state.js';
import { deliver, type HeldChanges } from './fanout.js';
import { readBytes, type HubConnection } from './hub-connection.js';
import type { Logger } from './logger.js';
import { RecentReads } from './recent-reads.js';
import { ChangeLog } from './change-log.js';
import type { LoggedChange } from './record-memory.js';
import { sendError, sendGetAnswer } from './replies.js';
import { SourceUnavailableError, type Source } from './source.js';
import type { Timeline } from './positions.js';
import type { HubTimers } from './timers.js';
import type { Filter } from './watch-index.js';

export { ChangeLog } from './change-log.js';

/** One request waiting for a shared read. */
interface Joiner {
  conn: HubConnection;
  sub: Subscription;
  params: Params;
  request: ErrorRequest;
  /** For watch snapshots: the watch's filter; the list is only sent while this read is the watch's latest. */
  watch: Filter | undefined;
  /** The watch was stopped after this request (a later watch of the same params is a new request). */
  cancelled: boolean;
}

/** The key of a shared snapshot read: identical reads (channel, kind, canonical params) share one. */
export function readKey(state: ChannelState, kind: 'list' | 'get', canonical: string): string {
  return `${state.spec.name}\0${kind}\0${canonical}`;
}

/** One read of the source, shared by every identical request made before it answered. */
interface SharedRead {
  readonly key: string;
  /** The connection whose request started it: it counts this read (`startedRead`) until it is answered. */
  readonly starter: HubConnection;
  readonly kind: 'list' | 'get';
  readonly state: ChannelState;
  readonly log: ChangeLog;
  readonly params: Params;
  readonly startSeq: number;
  /** The timeline's head when it began (-1 without positions): the position its `list` carries. */
  readonly startPos: number;
  readonly joiners: Joiner[];
  /** Set while the read waits for the coalescing window of the previous identical read to end. */
  timer?: unknown;
}

/** What `SnapshotReads` needs (the hub passes its options on). */
export interface SnapshotReadsOptions {
  readonly source: Source;
  /** `HubOptions.maxListItems`. */
  readonly maxListItems: number;
  /** `HubOptions.maxListBytes`. */
  readonly maxListBytes: number;
  /** `HubOptions.coalesceWindowMs`. */
  readonly coalesceWindowMs: number;
  readonly timers: HubTimers;
  readonly logger: Logger;
  /** The hub's positions (`resume`): where a read begins. */
  readonly timeline?: Timeline | undefined;
}

/** The snapshot reads of one hub, and the change logs kept for them. */
export class SnapshotReads implements HeldChanges {
  /** Snapshot reads sent to the source, and requests answered by joining a read already in flight. */
  readonly counters = { sourceReads: 0, coalescedReads: 0 };
  private readonly source: Source;
  private readonly maxListItems: number;
  private readonly maxListBytes: number;
  private readonly coalesceWindowMs: number;
  private readonly timers: HubTimers;
  private readonly logger: Logger;
  private readonly timeline: Timeline | undefined;
  /** Reads that have not answered yet, by channel, kind and canonical params. */
  private readonly shared = new Map<string, SharedRead>();
  /** When the last read of each key started, for keys whose coalescing window may not have ended (bounded). */
  private readonly recentReads: RecentReads;
  /** One change log per channel, from its first read on. */
  private readonly logs = new Map<ChannelState, ChangeLog>();
  /**
   * The latest read of each watch per subscription while one is in flight, so an older read that answers later does
   * not overwrite its list; an entry goes with its last read.
   */
  private readonly latest = new Map<Subscription, Map<Filter, SharedRead>>();

  constructor(options: SnapshotReadsOptions) {
    this.source = options.source;
    this.maxListItems = options.maxListItems;
    this.maxListBytes = options.maxListBytes;
    this.coalesceWindowMs = options.coalesceWindowMs;
    this.timers = options.timers;
    this.logger = options.logger;
    this.timeline = options.timeline;
    this.recentReads = new RecentReads(this.coalesceWindowMs, this.timers);
  }

  /** A change of `state`'s channel, kept for the reads in flight there (fan-out, step 2). */
  hold(state: ChannelState, change: LoggedChange): void {
    this.logs.get(state)?.hold(change);
  }

  /**
   * The position the oldest read in flight on `state`'s channel began at (+Infinity: none): a connection with a read
   * in flight there may not have been sent the changes after it yet.
   */
  heldFrom(state: ChannelState): number {
    return this.logs.get(state)?.heldFrom(-1) ?? Number.POSITIVE_INFINITY;
  }

  /** Number of changes kept for reads in flight on `state`'s channel. */
  logSize(state: ChannelState): number {
    return this.logs.get(state)?.size ?? 0;
  }

  /**
   * Whether a request for the read `key` (`readKey`) would join a read already in flight rather than start one: a
   * join starts no source read and holds no result of its own, so `maxReadsInFlight` and `maxReadBytes` never refuse it.
   */
  joinable(key: string): boolean {
    return this.shared.has(key);
  }

  /**
   * Starts (or joins) the snapshot read `key` (`readKey` of `sub`'s channel, `kind` and `params`); the reply and the
   * changes held meanwhile follow when it completes. A read started counts in `conn` (`startedRead`) until it answers.
   */
  snapshot(
    conn: HubConnection,
    sub: Subscription,
    key: string,
    kind: 'list' | 'get',
    params: Params,
    request: ErrorRequest,
    watch?: Filter,
  ): void {
    const { state } = sub;
    let read = this.shared.get(key);
    if (read) {
      this.counters.coalescedReads++;
      read.log.beginRead(read.startSeq);
    } else {
      let log = this.logs.get(state);
      if (!log) this.logs.set(state, (log = new ChangeLog()));
      // The changes since now are kept for this read even if it starts later: replaying a few it already saw is
      // harmless (every change carries the whole record), missing one would not be.
      const startPos = this.timeline?.head ?? -1;
      read = { key, starter: conn, kind, state, log, params, startSeq: log.beginRead(state.seq, startPos), startPos, joiners: [] };
      conn.startedRead(readBytes(key, params));
      this.shared.set(key, read);
      this.startWhenDue(read);
    }
    sub.inflight++;
    // Its snapshot, not frames, brings this subscription up to date: a later resume replays in full (`resume.ts`).
    sub.resumedFrom = undefined;
    // A joiner holds the read's params (canonically equal to its own), so what a join keeps is small whatever the
    // filter's size: the frame that asked is not kept, and joins need no byte budget of their own.
    const shared = read.params;
    const echo = request.params === undefined ? request : { ...request, params: shared };
    read.joiners.push({ conn, sub, params: shared, request: echo, watch, cancelled: false });
    if (watch) {
      let reads = this.latest.get(sub);
      if (!reads) this.latest.set(sub, (reads = new Map()));
      reads.set(watch, read);
    }
  }

  /** A watch was stopped: the requests for it still waiting for a snapshot get none. */
  stopped(sub: Subscription, filter: Filter): void {
    const read = this.latest.get(sub)?.get(filter);
    if (!read) return;
    for (const j of read.joiners) if (j.sub === sub && j.watch === filter) j.cancelled = true;
    this.forgetRead(sub, filter);
  }

  /**
   * Reads already sent to the source of `channel` (every channel when omitted) take no more joiners: they may have
   * read the source before whatever made a re-snapshot necessary (a change lost while the broker was away). They
   * finish for those who joined them, but what follows starts new reads.
   */
  stopSharing(channel?: string): void {
    // A read still waiting for its coalescing window has not read anything yet: joining it is as good as a new one.
    for (const [key, read] of this.shared) {
      if ((channel === undefined || read.state.spec.name === channel) && read.timer === undefined) this.shared.delete(key);
    }
  }

  /** Reads still waiting for their window are not started: everyone waiting for them is leaving (`Hub.close`). */
  cancelWaiting(): void {
    for (const read of this.shared.values()) if (read.timer !== undefined) this.timers.clearTimeout(read.timer);
  }

  /** Starts a read now, or once the coalescing window of the previous identical read has ended. */
  private startWhenDue(read: SharedRead): void {
    const wait = this.recentReads.waitFor(read.key);
    if (wait <= 0) {
      this.startRead(read);
      return;
    }
    // Checked again when the timer fires: timers may run a little early by the clock.
    read.timer = this.timers.setTimeout(() => {
      read.timer = undefined;
      this.startWhenDue(read);
    }, Math.ceil(wait));
  }

  /** Sends a shared read to the source; its joiners get the answer in `finish`. */
  private startRead(read: SharedRead): void {
    const { key, kind, state, params } = read;
    this.counters.sourceReads++;
    // Read on a later tick so the frames of this batch can join, and a synchronous source throws in one place.
    Promise.resolve()
      .then(() => {
        // The window counts from the moment the source is called, so the gap holds at the source itself.
        if (this.coalesceWindowMs > 0) this.recentReads.note(key);
        return kind === 'list' ? this.source.read(state.spec.name, params, this.maxListItems) : this.source.get(state.spec.name, params);
      })
      .then(
        (result) => this.finish(read, result, undefined),
        (err: unknown) => this.finish(read, undefined, err),
      )
      // The last line: `finish` guards each joiner, but nothing thrown on this tick may become an unhandled rejection.
      .catch((err: unknown) => this.logger.error('finishing a snapshot read failed', { err, channel: state.spec.name }));
  }

  /**
   * Answers every joiner of a read. Runs on a later tick, where nothing would catch an exception (it would end the
   * process as an unhandled rejection): a joiner whose answer cannot be sent (a socket whose send throws) is
   * abandoned (1011, logged), and every joiner is released whatever happened to the others.
   */
  private finish(read: SharedRead, result: Doc[] | Doc | undefined, error: unknown): void {
    if (this.shared.get(read.key) === read) this.shared.delete(read.key);
    read.starter.answeredRead(readBytes(read.key, read.params));
    const { state } = read;
    if (error !== undefined) {
      const unavailable = error instanceof SourceUnavailableError;
      this.logger.warn('snapshot read failed', { channel: state.spec.name, err: error });
      for (const j of read.joiners) {
        // sendError never throws: a reply it cannot send abandons the connection itself.
        if (!j.conn.closed) {
          sendError(
            j.conn,
            unavailable ? 'source-unavailable' : 'internal',
            unavailable ? `${state.spec.name} cannot be read right now: ${(error as Error).message}` : 'the read failed',
            j.request,
            j.sub.resource,
          );
        }
        this.release(read, j);
      }
      this.answered(read);
      return;
    }
    const items = read.kind === 'list' ? (result as Doc[]) : result === undefined ? [] : [result as Doc];
    if (read.kind === 'list' && items.length >= this.maxListItems) {
      this.logger.warn('list truncated at maxListItems', { channel: state.spec.name, maxListItems: this.maxListItems });
    }
    state.memory.remember(items, read.startSeq);
    // The items serialised once for every joiner (only the envelope differs), when the first joiner needs them;
    // null when they are over maxListBytes.
    let itemsJson: string | null | undefined;
    for (const j of read.joiners) {
      try {
        if (!j.conn.closed) {
          if (read.kind === 'get') sendGetAnswer(j.conn, j.sub.resource, state.spec.idField, j.params, result as Doc | undefined);
          else if (!j.watch || (!j.cancelled && this.latest.get(j.sub)?.get(j.watch) === read)) {
            if (itemsJson === undefined) itemsJson = this.listJson(state, items);
            if (itemsJson === null) this.refuseList(j, state);
            else j.conn.send(stringifyList(j.sub.resource, j.params, itemsJson, this.listPosition(read, j)));
          }
        }
      } catch (err) {
        j.conn.abandon('a snapshot could not be sent', err);
      }
      this.release(read, j);
    }
    this.answered(read);
  }

  /** The JSON of a list's items, or null when it is over `maxListBytes` (or over what a string can hold at all). */
  private listJson(state: ChannelState, items: readonly Doc[]): string | null {
    let json: string;
    try {
      json = JSON.stringify(items);
    } catch (err) {
      // Past V8's longest string (about 512 MiB): a RangeError, refused like any list over the bound.
      this.logger.warn('list could not be serialised', { channel: state.spec.name, items: items.length, err });
      return null;
    }
    if (json.length <= this.maxListBytes) return json;
    this.logger.warn('list refused over maxListBytes', { channel: state.spec.name, chars: json.length, maxListBytes: this.maxListBytes });
    return null;
  }

  /**
   * A snapshot over `maxListBytes` is refused, not cut short: a client's store deletes whatever a `list` leaves out.
   * The refused watch ends here as the client ends it (any refusal but `source-unavailable` and `internal` drops it).
   */
  private refuseList(j: Joiner, state: ChannelState): void {
    const narrower = j.watch ? 'watch' : 'query';
    const limit = this.maxListBytes.toLocaleString('en-US');
    const message = `the records matching these params are over maxListBytes (${limit} characters of JSON) on "${state.spec.name}"; ${narrower} a narrower filter`;
    sendError(j.conn, 'too-large', message, j.request, j.sub.resource);
    if (j.watch && !j.conn.closed) {
      j.sub.state.removeWatch(j.sub, j.watch);
      this.stopped(j.sub, j.watch);
    }
  }

  /**
   * The position a joiner's `list` carries: where the read began, or, while the connection has older reads in flight
   * on the channel (their changes not sent yet), no later than where the oldest read in flight began — a position
   * tells the client it has everything up to there. None without positions, nor in the 1.x dialect.
   */
  private listPosition(read: SharedRead, j: Joiner): string | undefined {
    const history = read.state.history;
    if (!history || j.conn.dialect || read.startPos < 0) return undefined;
    const pos = j.sub.inflight > 1 ? Math.min(read.startPos, read.log.heldFrom(read.startSeq)) : read.startPos;
    if (pos > j.sub.sent) j.sub.sent = pos;
    return history.text(pos);
  }

  /** A joiner's read is done: replay what it held, then let live changes flow again. Never throws (see `finish`). */
  private release(read: SharedRead, j: Joiner): void {
    const { state, log } = read;
    j.sub.inflight--;
    try {
      if (!j.conn.closed) {
        const changes = log.changesSince(read.startSeq);
        // Frames sent while other reads of the connection still hold changes back claim no position past them.
        const heldFrom = j.sub.inflight > 0 && changes.length > 0 ? log.heldFrom(read.startSeq) : Number.POSITIVE_INFINITY;
        for (const change of changes) deliver(state, j.sub, change, true, heldFrom);
      }
    } catch (err) {
      j.conn.abandon('a change held during a snapshot could not be sent', err);
    }
    log.endRead(read.startSeq);
  }

  /**
   * A read has answered every joiner: the watches it was the latest read of forget it (and, through it, the requests
   * of everyone who joined it), so an idle watch keeps nothing of its last snapshot.
   */
  private answered(read: SharedRead): void {
    for (const j of read.joiners) if (j.watch && this.latest.get(j.sub)?.get(j.watch) === read) this.forgetRead(j.sub, j.watch);
  }

  /** The watch `watch` of `sub` has no read in flight any more; its entry goes with its last read. */
  private forgetRead(sub: Subscription, watch: Filter): void {
    const reads = this.latest.get(sub)!;
    reads.delete(watch);
    if (reads.size === 0) this.latest.delete(sub);
  }
}
