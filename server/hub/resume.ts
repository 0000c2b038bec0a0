/**
 * Resume (docs/architecture.md "Positions and resume"): a client that re-watches with the last position it applied
 * gets the changes it missed instead of a new snapshot, and a quiet watch gets a `progress` bookmark now and then.
 *
 * - `check` says whether a position can be resumed on a channel: well formed, of this channel and of an epoch this
 *   hub knows, not ahead of what it has read, and still covered by the channel's history (`history.ts`). Anything
 *   else is answered with a full `list`, as before resume existed, with a `debug` line saying why — never an error,
 *   which would drop the watch. On an external timeline (a RabbitMQ stream) a position this instance has not read up
 *   to yet is waited for (`defer`), at most `waitMs`, and counts as from the future only when it is beyond the
 *   stream itself (the stream's `tail`).
 * - `replay` sends the kept changes after the position through the same per-connection decision as live fan-out
 *   (`deliver`: `item` for what matches a watch of the connection, `remove` for what left them), then `resumed`.
 *   It runs in one go, so no live change can come between; while the connection has other reads in flight, live
 *   changes are held for them as always (the ordering guarantee), and frames claim no position past them.
 * - Every `progressIntervalMs`, each quiet subscription of a client that takes `progress` frames, with no read in
 *   flight, is told the timeline's head: everything up to there that concerns it has been sent.
 * Browser-safe.
 */
import { DEFAULTS, stringifyMessage, type Params } from '../../protocol/index.js';
import type { ChannelState, Subscription } from './channel-state.js';
import { deliver } from './fanout.js';
import { decide } from './record-memory.js';
import { ChannelHistory } from './history.js';
import type { HubConnection } from './hub-connection.js';
import type { Logger } from './logger.js';
import { channelEpoch, MAX_POSITION_LENGTH, parsePosition, type Timeline } from './positions.js';
import type { SnapshotReads } from './reads.js';
import { SharedFrame } from './socket.js';
import type { HubTimers } from './timers.js';
import type { Filter } from './watch-index.js';

/** Options of resume (`HubOptions.resume`); fields left out take `DEFAULTS.resume`. */
export interface ResumeOptions {
  /**
   * Most changes each resumable channel's history keeps.
   * @default DEFAULTS.resume.historyEntries (10,000)
   */
  historyEntries?: number;
  /**
   * Most bytes each resumable channel's history keeps (its records' JSON, estimated, plus a fixed part an entry).
   * @default DEFAULTS.resume.historyBytes (8 MiB)
   */
  historyBytes?: number;
  /**
   * How often a quiet watch of a client that takes `progress` frames gets one (0: never).
   * @default DEFAULTS.resume.progressIntervalMs (15,000)
   */
  progressIntervalMs?: number;
  /**
   * How long a `watch` whose position this instance has not read up to yet (an external timeline) waits for it,
   * before it gets a full `list`.
   * @default DEFAULTS.resume.waitMs (5,000)
   */
  waitMs?: number;
  /**
   * The timeline positions are on: the hub's own (the default: it numbers changes, under an epoch drawn when it
   * starts), or one a RabbitMQ stream drives (`server/feeds/amqp-stream.ts`).
   * @default a new own `Timeline`
   */
  timeline?: Timeline;
}

/** What `check` found: a position to replay from, one to wait for, or why a full `list` it is. */
export type ResumeVerdict =
  | { readonly kind: 'resume'; readonly from: number }
  | { readonly kind: 'wait'; readonly offset: number }
  | { readonly kind: 'list'; readonly reason: string };

/** A `watch` waiting for the timeline to reach its position. */
interface Deferred {
  readonly conn: HubConnection;
  readonly sub: Subscription;
  readonly canonical: string;
  readonly offset: number;
  readonly run: () => void;
  cancelWait: () => void;
  timer: unknown;
}

/** Resume for one hub. */
export class Resumer {
  readonly timeline: Timeline;
  /** Watches resumed, and watches whose position got a full `list` (`HubStats`). */
  readonly counters = { resumes: 0, refused: 0 };
  private readonly states: readonly ChannelState[];
  private readonly waitMs: number;
  private readonly progressIntervalMs: number;
  private readonly deferred = new Set<Deferred>();
  private progressTimer: unknown;
  private tailing = false;
  private closed = false;

  constructor(
    options: ResumeOptions & { readonly timeline: Timeline },
    states: Iterable<ChannelState>,
    private readonly reads: SnapshotReads,
    private readonly timers: HubTimers,
    private readonly logger: Logger,
  ) {
    const d = DEFAULTS.resume;
    // The hub makes the timeline (its snapshot reads need it before this exists).
    this.timeline = options.timeline;
    this.waitMs = options.waitMs ?? d.waitMs;
    this.progressIntervalMs = options.progressIntervalMs ?? d.progressIntervalMs;
    const bounds = { entries: options.historyEntries ?? d.historyEntries, bytes: options.historyBytes ?? d.historyBytes };
    const resumable: ChannelState[] = [];
    for (const state of states) {
      // `mq` streams broker messages and lists its own recent ones: nothing to resume.
      if (state.spec.resume === false || state.spec.name === 'mq') continue;
      state.history = new ChannelHistory(state.spec.name, this.timeline, bounds);
      resumable.push(state);
    }
    this.states = resumable;
    this.timeline.onReset(() => {
      for (const state of this.states) state.history!.cut(-1);
    });
    this.scheduleProgress();
  }

  /** Whether `position` (as the client sent it) can be resumed on `state`'s channel now. */
  check(state: ChannelState, position: unknown, waited: boolean): ResumeVerdict {
    const history = state.history;
    if (!history) return { kind: 'list', reason: 'the channel re-snapshots on every watch (resume off)' };
    const parsed = parsePosition(position);
    if (!parsed) return { kind: 'list', reason: 'malformed position' };
    const { timeline } = this;
    if (parsed.offset > timeline.head) {
      if (!timeline.external) return { kind: 'list', reason: 'position from the future' };
      if (!waited) return { kind: 'wait', offset: parsed.offset };
      return { kind: 'list', reason: 'position not reached by this instance in time (or beyond the stream)' };
    }
    const epoch = timeline.epochAt(parsed.offset);
    if (epoch === undefined) return { kind: 'list', reason: 'position older than every epoch this instance knows' };
    if (history.epochOf(epoch) !== parsed.epoch) {
      const other = this.states.find((s) => s !== state && channelEpoch(epoch, s.spec.name) === parsed.epoch);
      return { kind: 'list', reason: other ? `position of another channel (${other.spec.name})` : 'position of another epoch' };
    }
    if (!history.covers(parsed.offset)) return { kind: 'list', reason: 'position older than the history kept' };
    return { kind: 'resume', from: parsed.offset };
  }

  /** The `debug` line of a position that gets a full `list` (the position quoted, bounded: it is client input). */
  refused(conn: HubConnection, state: ChannelState, position: unknown, reason: string): void {
    this.counters.refused++;
    const text = typeof position === 'string' ? position.slice(0, MAX_POSITION_LENGTH) : typeof position;
    this.logger.debug('resume refused, sending a full list', { session: conn.id, channel: state.spec.name, reason, position: text });
  }

  /**
   * Replays to `sub` every kept change after `from`, each decided for the connection as live fan-out decides it,
   * then sends `resumed` with `params` (as the client sent them). `added`: the watch this resume added to `sub`
   * (undefined when `sub` held it already).
   */
  replay(sub: Subscription, from: number, params: Params, added?: Filter): void {
    const { state } = sub;
    const history = state.history!;
    this.counters.resumes++;
    // With other reads of this connection in flight, their held changes are not sent yet: claim no position past them.
    const heldFrom = sub.inflight > 0 ? this.reads.heldFrom(state) : Number.POSITIVE_INFINITY;
    const others = added && sub.watches.length > 1 && sub.resumedFrom === from && sub.inflight === 0;
    const sentWith = others ? sub.watches.filter((w) => w !== added) : undefined;
    const { appendOnly } = state.spec;
    /** Records this replay sent a frame for: every later change of theirs goes too, so the last one sent is the newest. */
    const sent = new Set<string>();
    for (const change of history.after(from)) {
      // A client re-sends every watch with the same position. When the subscription's other watches all resumed from
      // it (and no read is in flight since), every change after it was sent as they decided it: this watch sends only
      // where it changes that decision — not every change of the others' records again (bench/README.md "Resume after
      // a drop and a restart") — and from there on every change of that record, in order.
      if (sentWith && !sent.has(change.id)) {
        if (decide(sub.watches, change, appendOnly) === decide(sentWith, change, appendOnly)) continue;
        sent.add(change.id);
      }
      deliver(state, sub, change, false, heldFrom);
    }
    sub.resumedFrom = added && (sub.watches.length === 1 || others) ? from : undefined;
    const head = Math.min(this.timeline.head, heldFrom);
    const at = Math.max(from, head);
    if (at > sub.sent) sub.sent = at;
    const position = history.text(at)!;
    (sub.conn as HubConnection).send(stringifyMessage({ handler: 'resumed', resource: sub.resource, params, position }));
  }

  /**
   * Holds a `watch` until the timeline reaches `offset`, for at most `waitMs`, then `run`s it again (as waited: a
   * position still not reached is answered with a list). Meanwhile the stream's tail is asked once for everyone
   * waiting: a position beyond it is from the future and runs at once. Returns false when the connection already
   * has `limit` watches waiting (the watch is then answered at once).
   */
  defer(conn: HubConnection, sub: Subscription, canonical: string, offset: number, limit: number, run: () => void): boolean {
    let waiting = 0;
    for (const d of this.deferred) if (d.conn === conn) waiting++;
    if (waiting >= limit) return false;
    const d: Deferred = { conn, sub, canonical, offset, run, cancelWait: () => undefined, timer: undefined };
    this.deferred.add(d);
    d.timer = this.timers.setTimeout(() => this.end(d, true), this.waitMs);
    d.cancelWait = this.timeline.wait(offset, () => this.end(d, true));
    this.askTail();
    return true;
  }

  /** A `stop` (or another `watch`) of these params ends a wait for them. */
  cancel(sub: Subscription, canonical: string): void {
    for (const d of this.deferred) if (d.sub === sub && d.canonical === canonical) this.end(d, false);
  }

  /**
   * Cuts every history at the present: positions given out so far get a full `list` (changes before now may be
   * missing from the histories: a feed lost while RackHD kept writing). Positions from the next offset on resume.
   */
  cut(): void {
    for (const state of this.states) state.history!.cutAtPresent();
  }

  /** Watches waiting for a position (tests, stats). */
  get waiting(): number {
    return this.deferred.size;
  }

  /** Stops the progress timer and every wait (the hub closes). */
  close(): void {
    this.closed = true;
    if (this.progressTimer !== undefined) this.timers.clearTimeout(this.progressTimer);
    for (const d of this.deferred) this.end(d, false);
  }

  /** Ends a wait (once), and runs its watch again if `run` and its connection is still there. */
  private end(d: Deferred, run: boolean): void {
    if (!this.deferred.delete(d)) return;
    d.cancelWait();
    this.timers.clearTimeout(d.timer);
    if (run && !d.conn.closed && !this.closed) d.run();
  }

  /** Sends `progress` to every quiet subscription that takes it (see the module comment). */
  progress(): void {
    const { head } = this.timeline;
    for (const state of this.states) {
      if (state.subs.size === 0) continue;
      const position = state.history!.text(head);
      if (position === undefined) continue;
      // One frame per resource name (an alias is answered under its own), shared by every connection.
      let frames: Map<string, SharedFrame> | undefined;
      for (const sub of state.subs) {
        const conn = sub.conn;
        if (!conn.resumeAware || conn.dialect || sub.inflight > 0 || sub.sent >= head) continue;
        frames ??= new Map();
        let frame = frames.get(sub.resource);
        if (!frame)
          frames.set(sub.resource, (frame = new SharedFrame(stringifyMessage({ handler: 'progress', resource: sub.resource, position }))));
        conn.sendFrame(frame);
        sub.sent = head;
      }
    }
  }

  private scheduleProgress(): void {
    if (this.progressIntervalMs <= 0 || this.closed) return;
    this.progressTimer = this.timers.setTimeout(() => {
      this.progressTimer = undefined;
      try {
        this.progress();
      } catch (err) {
        this.logger.error('progress failed', { err });
      }
      this.scheduleProgress();
    }, this.progressIntervalMs);
  }

  /** Asks the stream's tail once for everyone waiting; a wait beyond it is from the future and ends at once. */
  private askTail(): void {
    const tail = this.timeline.tail;
    if (!tail || this.tailing) return;
    this.tailing = true;
    tail().then(
      (last) => {
        this.tailing = false;
        for (const d of [...this.deferred]) if (d.offset > last) this.end(d, true);
      },
      (err: unknown) => {
        this.tailing = false;
        this.logger.debug('the stream tail could not be read; waits end at waitMs', { err });
      },
    );
  }
}
