/**
 * The transport-agnostic protocol engine: sessions, routing by channel, watches, snapshot reads with the
 * ordering guarantee, and change fan-out. The ws server and the mock are thin adapters around it, which is
 * why the client behaves the same against both. Browser-safe: no `node:*`, `ws`, `mongodb` or `amqplib`.
 */
import {
  canonicalJson,
  DEFAULTS,
  parseMessage,
  ProtocolError,
  stringifyMessage,
  type ClientMessage,
  type Doc,
  type ErrorCode,
  type ErrorRequest,
  type Params,
  type ParamsLimits,
} from '../protocol/index.js';
import { ChannelRegistry, DEFAULT_CHANNELS, type ChannelSpec } from './channels.js';
import { ChannelState, subscription, watchOf, type Filter, type LoggedChange, type Subscription } from './channel-state.js';
import { HubConnection, SharedFrame, type ConnectionHost, type HubSocket } from './hub-connection.js';
import { randomId } from './ids.js';
import { silentLogger, type Logger } from './logger.js';
import { SourceUnavailableError, type Change, type ChangeFeed, type Source } from './source.js';

/** Decides whether a principal may run `handler` with `params` on `channel`. */
export type Authorize = (principal: unknown, channel: string, handler: string, params: Params) => boolean;

/** Who `broadcast` leaves out: a session id, several, or a predicate over connections. */
export type BroadcastSkip = string | readonly string[] | ((conn: HubConnection) => boolean);

/**
 * What one connection's requests may cost (issue 10): the size of a filter's lists, the bytes its watches hold, its
 * snapshot reads in flight and the size of one snapshot. Options of `Hub` and `createServer`; every refusal is an
 * `error` frame and the connection stays open.
 */
export interface CostLimits {
  /**
   * Most values in one `$in` or `$nin` list; a request with more is refused with `too-large` (checked when the frame
   * is parsed, before the watch index sees the list).
   * @default DEFAULTS.maxInValues (1,000)
   */
  maxInValues?: number;
  /**
   * Bytes the watches of one connection may hold in the hub, as estimated from what they say (canonical params,
   * parsed params, index entries; a filter shared with other connections counts in full for each); a watch that
   * would pass it is refused with `too-many-watches`.
   * @default DEFAULTS.maxWatchBytes (4 MiB)
   */
  maxWatchBytes?: number;
  /**
   * Snapshot reads one connection may have started and not yet answered; a request that would start another is
   * refused with `too-many-reads`. A request that joins an identical read already in flight (anyone's) starts none
   * and is never refused. Covers a reconnect (every watch and a full client queue, 1,100 reads), which must not be
   * refused: the client drops a refused watch.
   * @default DEFAULTS.maxReadsInFlight (1,200)
   */
  maxReadsInFlight?: number;
  /**
   * Most characters of records' JSON one `list` may carry (bytes, for ASCII records); a larger snapshot is refused
   * with `too-large` — never cut short, because a client's store deletes what a `list` leaves out. A refused watch
   * is dropped, as the client drops it.
   * @default DEFAULTS.maxListBytes (64 MiB)
   */
  maxListBytes?: number;
}

/** Options of `Hub`. */
export interface HubOptions extends CostLimits {
  /** Answers snapshot reads. */
  source: Source;
  /** Changes to fan out; more can be pushed with `hub.publish`. */
  feed?: ChangeFeed;
  /**
   * Channels served.
   * @default DEFAULT_CHANNELS
   */
  channels?: readonly ChannelSpec[];
  /**
   * Most items one `list` carries; reads stop there (documented in README "Configuration").
   * @default DEFAULTS.maxListItems (10,000)
   */
  maxListItems?: number;
  /**
   * Most watches one connection may hold; more are refused with `too-many-watches`.
   * @default DEFAULTS.maxWatches (100)
   */
  maxWatches?: number;
  /**
   * Per-request authorization; a refusal is an `error` with code `forbidden`.
   * @default allow everything
   */
  authorize?: Authorize;
  /**
   * Protocol extensions announced in `session.features`.
   * @default ['ping']
   */
  features?: readonly string[];
  /**
   * Identical snapshot reads (same channel, kind and canonical params) start at most once per this many ms: a
   * request that comes within the window after such a read began waits for the next one, and every identical
   * request until then joins it. A reconnect storm then costs the source one read per distinct params per window
   * instead of one per client. Nobody ever gets data read before they asked (only reads not yet answered are
   * shared), and the ordering guarantee holds as for any shared read. 0: only reads already in flight are shared.
   * @default 0 (`createServer` passes `DEFAULTS.coalesceWindowMs`, 50)
   */
  coalesceWindowMs?: number;
  /**
   * Timers and clock of the coalescing window (injected by tests).
   * @default the global `setTimeout`/`clearTimeout` and `performance.now`
   */
  timers?: HubTimers;
  /** @default silent */
  logger?: Logger;
}

/** Timer functions and clock of the hub. */
export interface HubTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds, monotonic. */
  now(): number;
}

const GLOBAL_TIMERS: HubTimers = {
  setTimeout: (fn, ms) => {
    const handle = globalThis.setTimeout(fn, ms);
    // Never keeps a process alive by itself (Node); the connections waiting for the read do that.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};

/** What the adapter knows about a new connection. */
export interface AcceptInfo {
  /** Request path (`/nodes`); the channel is its last segment. */
  channel: string;
  /** What authentication returned. */
  principal?: unknown;
  remoteAddress?: string;
}

/** Counters for tests, benchmarks and operators. */
export interface HubStats {
  connections: number;
  watches: number;
  /** What the watches of every connection hold, as `maxWatchBytes` counts it (a shared filter once per holder). */
  watchBytes: number;
  /** Snapshot reads sent to the source. */
  sourceReads: number;
  /** Snapshot requests answered by joining a read already in flight. */
  coalescedReads: number;
  /** Changes published. */
  changes: number;
}

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

interface SharedRead {
  readonly key: string;
  /** The connection whose request started it: its `readsInFlight` counts this read until it is answered. */
  readonly starter: HubConnection;
  readonly kind: 'list' | 'get';
  readonly state: ChannelState;
  readonly params: Params;
  readonly startSeq: number;
  readonly joiners: Joiner[];
  /** Set while the read waits for the coalescing window of the previous identical read to end. */
  timer?: unknown;
}

/** The protocol engine. One per server (or mock); no module-level state. */
export class Hub {
  readonly registry: ChannelRegistry;
  readonly connections = new Map<string, HubConnection>();
  private readonly states = new Map<string, ChannelState>();
  private readonly shared = new Map<string, SharedRead>();
  private readonly source: Source;
  private readonly maxListItems: number;
  private readonly maxWatches: number;
  private readonly paramsLimits: ParamsLimits;
  private readonly maxWatchBytes: number;
  private readonly maxReadsInFlight: number;
  private readonly maxListBytes: number;
  private readonly authorize?: Authorize;
  private readonly features: readonly string[];
  private readonly logger: Logger;
  private readonly connectionListeners = new Set<(conn: HubConnection) => void>();
  private readonly activityListeners = new Set<(channel: string, active: boolean) => void>();
  private readonly unsubscribeFeed?: () => void;
  private readonly counters = { sourceReads: 0, coalescedReads: 0, changes: 0 };
  private readonly coalesceWindowMs: number;
  private readonly timers: HubTimers;
  /** When the last read of each key started, for keys whose coalescing window has not ended. */
  private readonly recentReads = new Map<string, number>();
  /** Where every connection reports its frames and its end: one object, not two closures per connection. */
  private readonly host: ConnectionHost = {
    receive: (conn, data, isBinary) => this.receive(conn, data, isBinary),
    closed: (conn, code, reason) => this.closed(conn, code, reason),
  };

  constructor(options: HubOptions) {
    this.source = options.source;
    this.registry = new ChannelRegistry(options.channels ?? DEFAULT_CHANNELS);
    this.maxListItems = options.maxListItems ?? DEFAULTS.maxListItems;
    this.maxWatches = options.maxWatches ?? DEFAULTS.maxWatches;
    this.paramsLimits = { maxInValues: options.maxInValues ?? DEFAULTS.maxInValues };
    this.maxWatchBytes = options.maxWatchBytes ?? DEFAULTS.maxWatchBytes;
    this.maxReadsInFlight = options.maxReadsInFlight ?? DEFAULTS.maxReadsInFlight;
    this.maxListBytes = options.maxListBytes ?? DEFAULTS.maxListBytes;
    this.authorize = options.authorize;
    this.features = options.features ?? ['ping'];
    this.logger = options.logger ?? silentLogger;
    this.coalesceWindowMs = options.coalesceWindowMs ?? 0;
    this.timers = options.timers ?? GLOBAL_TIMERS;
    for (const spec of this.registry.specs) {
      this.states.set(spec.name, new ChannelState(spec, (active) => this.channelActivity(spec.name, active)));
    }
    this.unsubscribeFeed = options.feed?.onChange((change) => this.publish(change));
  }

  /** Registers a listener for new connections (the seed's `server.on('connection')`). */
  onConnection(listener: (conn: HubConnection) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /**
   * Registers a listener called with `(channel, true)` when a channel gets its first watch (on any connection)
   * and `(channel, false)` when its last watch ends, so a feed can bind upstream only while someone listens.
   * `channel` is the canonical name. Returns the function that removes the listener.
   */
  onChannelActivity(listener: (channel: string, active: boolean) => void): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
  }

  /** Canonical names of the channels that have at least one watch right now. */
  activeChannels(): string[] {
    return [...this.states.values()].filter((s) => s.subs.size > 0).map((s) => s.spec.name);
  }

  private channelActivity(channel: string, active: boolean): void {
    for (const listener of this.activityListeners) {
      try {
        listener(channel, active);
      } catch (err) {
        this.logger.error('channel activity listener threw', { err, channel });
      }
    }
  }

  /** Takes a new socket. `info.channel` is the URL path or channel name. */
  accept(socket: HubSocket, info: AcceptInfo): HubConnection {
    // A known channel's name as the registry holds it: one string for all its connections, not one each.
    const name = this.registry.get(info.channel)?.name;
    const channel = name === info.channel ? name : info.channel;
    const conn = new HubConnection(randomId(), channel, socket, info.principal, info.remoteAddress, this.host);
    this.connections.set(conn.id, conn);
    if (socket.attach) socket.attach(conn);
    else {
      socket.onMessage((data, isBinary) => conn.receive(data, isBinary));
      socket.onClose((code, reason) => conn.ended(code, reason));
    }
    for (const listener of this.connectionListeners) {
      try {
        listener(conn);
      } catch (err) {
        this.logger.error('connection listener threw', { err });
      }
    }
    return conn;
  }

  /** Fans a change out to every connection it concerns. */
  publish(change: Change): void {
    const spec = this.registry.get(change.channel);
    if (!spec) {
      this.logger.warn('change for unknown channel dropped', { channel: change.channel });
      return;
    }
    this.counters.changes++;
    const state = this.states.get(spec.name)!;
    const logged = state.record(change);
    if (state.subs.size === 0) return;
    for (const sub of state.candidates(logged)) {
      // A connection with a snapshot in flight gets this change replayed right after that snapshot.
      if (sub.inflight > 0) continue;
      this.deliver(state, sub, logged);
    }
  }

  /** Sends data to every connection except those `skip` names. */
  broadcast(data: unknown, skip?: BroadcastSkip): number {
    const frame = new SharedFrame(typeof data === 'string' ? data : JSON.stringify(data));
    let skipped: (conn: HubConnection) => boolean = () => false;
    if (typeof skip === 'string') skipped = (c) => c.id === skip;
    else if (typeof skip === 'function') skipped = skip;
    else if (skip) {
      const ids = new Set(skip);
      skipped = (c) => ids.has(c.id);
    }
    let sent = 0;
    for (const conn of this.connections.values()) {
      let skip = false;
      try {
        skip = skipped(conn);
      } catch (err) {
        this.logger.error('broadcast skip predicate threw', { err });
      }
      if (skip) continue;
      conn.sendFrame(frame);
      sent++;
    }
    return sent;
  }

  /**
   * Re-sends a `list` snapshot for every watch on a channel (every channel when omitted), after changes may
   * have been missed (broker reconnect, source back after an outage).
   */
  resnapshot(channel?: string): void {
    // Reads in flight may have read the source before whatever made this necessary (a change lost while the broker
    // was away): they finish for those who joined them, but what follows starts new reads.
    const name = channel === undefined ? undefined : this.registry.get(channel)?.name;
    // A read still waiting for its coalescing window has not read anything yet: joining it is as good as a new one.
    for (const [key, read] of this.shared) {
      if ((name === undefined || read.state.spec.name === name) && read.timer === undefined) this.shared.delete(key);
    }
    for (const conn of this.connections.values()) {
      for (const sub of subscriptionsOf(conn)) {
        const { state } = sub;
        if (channel !== undefined && state.spec.name !== name) continue;
        state.forget();
        for (const filter of sub.watches) {
          const { params } = filter;
          this.snapshot(conn, sub, readKey(state, 'list', canonicalJson(params)), 'list', params, { handler: 'watch', params }, filter);
        }
      }
    }
  }

  /** Counters. */
  stats(): HubStats {
    let watches = 0;
    let watchBytes = 0;
    for (const conn of this.connections.values()) {
      watches += conn.watchCount;
      watchBytes += conn.watchBytes;
    }
    return { connections: this.connections.size, watches, watchBytes, ...this.counters };
  }

  /** The routing state of a channel (tests and benchmarks inspect it). */
  channelState(channel: string): ChannelState | undefined {
    const spec = this.registry.get(channel);
    return spec && this.states.get(spec.name);
  }

  /** Closes every connection (default 1001: clients reconnect, possibly elsewhere) and stops the feed. */
  close(code = 1001, reason = 'server shutting down'): void {
    this.unsubscribeFeed?.();
    // Reads still waiting for their window are not started: everyone waiting for them is leaving.
    for (const read of this.shared.values()) if (read.timer !== undefined) this.timers.clearTimeout(read.timer);
    for (const conn of [...this.connections.values()]) conn.close(code, reason);
  }

  private receive(conn: HubConnection, data: string, isBinary: boolean): void {
    if (conn.closed) return;
    let msg: ClientMessage;
    try {
      if (isBinary) throw new ProtocolError('bad-message', 'binary frames are not supported; send JSON text');
      msg = parseMessage(data, 'client', this.paramsLimits);
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError('bad-json', String(err));
      this.sendError(conn, e.code, e.message, e.request, e.request?.resource ?? (conn.channel || undefined));
      conn.emit('error', e);
      return;
    }
    conn.emit('message', msg);
    try {
      this.handle(conn, msg);
    } catch (err) {
      this.logger.error('handler failed', { err, handler: msg.handler, session: conn.id });
      this.sendError(conn, 'internal', 'the server failed to answer this message', echo(msg));
    }
  }

  private handle(conn: HubConnection, msg: ClientMessage): void {
    if (msg.handler === 'init') {
      conn.send(stringifyMessage({ handler: 'session', id: conn.id, features: [...this.features] }));
      return;
    }
    if (msg.handler === 'ping') {
      conn.send(stringifyMessage({ handler: 'pong' }));
      return;
    }
    const resource = msg.resource ?? conn.channel;
    const spec = this.registry.get(resource);
    const request = echo(msg);
    if (!spec) {
      const known = this.registry.specs.map((s) => s.name).join(', ');
      this.sendError(conn, 'unknown-channel', `unknown channel "${resource}"; channels: ${known}`, request, resource || undefined);
      return;
    }
    const params: Params = msg.handler === 'all' ? {} : msg.params;
    if (this.authorize && !this.authorize(conn.principal, spec.name, msg.handler, params)) {
      this.sendError(conn, 'forbidden', `${msg.handler} on "${resource}" is not allowed`, request, resource);
      return;
    }
    const state = this.states.get(spec.name)!;
    let sub = subscriptionOf(conn, resource);
    if (!sub) addSubscription(conn, (sub = subscription(resource, state, conn)));
    if (msg.handler === 'stop') {
      const filter = watchOf(sub, canonicalJson(params));
      if (filter) this.dropWatch(conn, sub, filter);
      return;
    }
    const kind = msg.handler === 'get' ? 'get' : 'list';
    // One canonical form per request: the watch's key and the shared read's key both derive from it.
    const canonical = canonicalJson(params);
    const key = readKey(state, kind, canonical);
    let watch = msg.handler === 'watch' ? watchOf(sub, canonical) : undefined;
    if (msg.handler === 'watch' && !watch) {
      if (conn.watchCount >= this.maxWatches) {
        this.sendError(conn, 'too-many-watches', `a connection may hold at most ${this.maxWatches} watches`, request, resource);
        return;
      }
      const filter = state.filterFor(canonical, params);
      if (conn.watchBytes + filter.bytes > this.maxWatchBytes) {
        this.sendError(
          conn,
          'too-many-watches',
          `this watch holds about ${filter.bytes.toLocaleString('en-US')} bytes and the connection's watches already ${conn.watchBytes.toLocaleString('en-US')}: over maxWatchBytes (${this.maxWatchBytes.toLocaleString('en-US')})`,
          request,
          resource,
        );
        return;
      }
      if (!this.mayRead(conn, key, request, resource)) return;
      watch = state.addWatch(sub, filter);
      conn.watchCount++;
      conn.watchBytes += filter.bytes;
    } else if (!watch && !this.mayRead(conn, key, request, resource)) return;
    // A watch the connection already holds is re-snapshotted without the check: refusing it would end it (a client
    // drops a refused watch), and it has at most one read in flight anyway (identical reads are shared).
    this.snapshot(conn, sub, key, kind, params, request, watch);
  }

  /**
   * Whether `conn` may read `key` now: joining a read already in flight always may (it starts no source read and
   * holds no result of its own), starting one only under `maxReadsInFlight`; refused: `too-many-reads`.
   */
  private mayRead(conn: HubConnection, key: string, request: ErrorRequest, resource: string): boolean {
    if (conn.readsInFlight < this.maxReadsInFlight || this.shared.has(key)) return true;
    this.sendError(
      conn,
      'too-many-reads',
      `a connection may have at most ${this.maxReadsInFlight.toLocaleString('en-US')} snapshot reads in flight (maxReadsInFlight); wait for their answers`,
      request,
      resource,
    );
    return false;
  }

  /** Ends the watch `filter` of `sub`: what it held is released, and a snapshot on its way is not sent. */
  private dropWatch(conn: HubConnection, sub: Subscription, filter: Filter): void {
    sub.state.removeWatch(sub, filter);
    conn.watchCount--;
    conn.watchBytes -= filter.bytes;
    stopped(sub, filter);
  }

  /** Starts (or joins) the snapshot read `key`; the reply and the changes held meanwhile follow when it completes. */
  private snapshot(
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
      state.beginRead(read.startSeq);
    } else {
      // The changes since now are kept for this read even if it starts later: replaying a few it already saw is
      // harmless (every change carries the whole record), missing one would not be.
      read = { key, starter: conn, kind, state, params, startSeq: state.beginRead(), joiners: [] };
      conn.readsInFlight++;
      this.shared.set(key, read);
      this.startWhenDue(read);
    }
    sub.inflight++;
    read.joiners.push({ conn, sub, params, request, watch, cancelled: false });
    if (watch) (sub.reads ??= new Map()).set(watch, read);
  }

  /** Starts a read now, or once the coalescing window of the previous identical read has ended. */
  private startWhenDue(read: SharedRead): void {
    const last = this.recentReads.get(read.key);
    const wait = last === undefined ? 0 : last + this.coalesceWindowMs - this.timers.now();
    if (wait <= 0) return this.startRead(read);
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
        if (this.coalesceWindowMs > 0) this.noteRead(key);
        return kind === 'list' ? this.source.read(state.spec.name, params, this.maxListItems) : this.source.get(state.spec.name, params);
      })
      .then(
        (result) => this.finish(read, result, undefined),
        (err: unknown) => this.finish(read, undefined, err),
      );
  }

  private noteRead(key: string): void {
    const startedAt = this.timers.now();
    this.recentReads.set(key, startedAt);
    // Forgotten well after the window (the lookup itself ignores ended windows), so the map stays small.
    this.timers.setTimeout(() => {
      if (this.recentReads.get(key) === startedAt) this.recentReads.delete(key);
    }, 2 * this.coalesceWindowMs);
  }

  private finish(read: SharedRead, result: Doc[] | Doc | undefined, error: unknown): void {
    if (this.shared.get(read.key) === read) this.shared.delete(read.key);
    read.starter.readsInFlight--;
    const { state } = read;
    if (error !== undefined) {
      const unavailable = error instanceof SourceUnavailableError;
      this.logger.warn('snapshot read failed', { channel: state.spec.name, err: error });
      for (const j of read.joiners) {
        if (!j.conn.closed) {
          this.sendError(
            j.conn,
            unavailable ? 'source-unavailable' : 'internal',
            unavailable ? `${state.spec.name} cannot be read right now: ${(error as Error).message}` : 'the read failed',
            j.request,
            j.sub.resource,
          );
        }
        this.release(read, j);
      }
      answered(read);
      return;
    }
    const items = read.kind === 'list' ? (result as Doc[]) : result === undefined ? [] : [result as Doc];
    if (read.kind === 'list' && items.length >= this.maxListItems) {
      this.logger.warn('list truncated at maxListItems', { channel: state.spec.name, maxListItems: this.maxListItems });
    }
    state.remember(items, read.startSeq);
    // The items serialised once for every joiner (only the envelope differs), when the first joiner needs them;
    // null when they are over maxListBytes.
    let itemsJson: string | null | undefined;
    for (const j of read.joiners) {
      if (!j.conn.closed) {
        if (read.kind === 'get') this.sendGet(j, state, result as Doc | undefined);
        else if (!j.watch || (!j.cancelled && j.sub.reads?.get(j.watch) === read)) {
          if (itemsJson === undefined) itemsJson = this.listJson(state, items);
          if (itemsJson === null) this.refuseList(j, state);
          else {
            j.conn.send(
              `{"handler":"list","resource":${JSON.stringify(j.sub.resource)},"params":${JSON.stringify(j.params)},"items":${itemsJson}}`,
            );
          }
        }
      }
      this.release(read, j);
    }
    answered(read);
  }

  /** The JSON of a list's items, or null when it is over `maxListBytes` (or over what a string can hold at all). */
  private listJson(state: ChannelState, items: readonly Doc[]): string | null {
    let json: string;
    try {
      json = JSON.stringify(items);
    } catch (err) {
      // Past V8's longest string (about 512 MiB): a RangeError, which must not escape from a promise callback.
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
    this.sendError(
      j.conn,
      'too-large',
      `the records matching these params are over maxListBytes (${this.maxListBytes.toLocaleString('en-US')} characters of JSON) on "${state.spec.name}"; ${j.watch ? 'watch' : 'query'} a narrower filter`,
      j.request,
      j.sub.resource,
    );
    if (j.watch) this.dropWatch(j.conn, j.sub, j.watch);
  }

  private sendGet(j: Joiner, state: ChannelState, doc: Doc | undefined): void {
    const resource = j.sub.resource;
    if (doc) {
      const id = String(doc[state.spec.idField]);
      j.conn.send(stringifyMessage({ handler: 'item', resource, id, data: doc }));
      return;
    }
    const id = j.params[state.spec.idField];
    j.conn.send(
      stringifyMessage(
        typeof id === 'string' || typeof id === 'number'
          ? { handler: 'remove', resource, id: String(id), params: j.params }
          : { handler: 'remove', resource, params: j.params },
      ),
    );
  }

  /** A joiner's read is done: replay what it held, then let live changes flow again. */
  private release(read: SharedRead, j: Joiner): void {
    const { state } = read;
    j.sub.inflight--;
    if (!j.conn.closed) {
      for (const change of state.changesSince(read.startSeq)) this.deliver(state, j.sub, change, true);
    }
    state.endRead(read.startSeq);
  }

  /** Sends a change to one subscription, if it concerns it. The hot path of fan-out: nothing here allocates per connection. */
  private deliver(state: ChannelState, sub: Subscription, change: LoggedChange, afterSnapshot = false): void {
    const kind = state.decide(sub, change, afterSnapshot);
    if (!kind) return;
    sub.conn.sendFrame(frameOf(change, kind, sub.resource));
  }

  private sendError(conn: HubConnection, code: ErrorCode, message: string, request?: ErrorRequest, resource?: string): void {
    conn.send(
      stringifyMessage({
        handler: 'error',
        ...(resource !== undefined ? { resource } : {}),
        params: request ? { code, message, request } : { code, message },
      }),
    );
  }

  private closed(conn: HubConnection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    for (const sub of subscriptionsOf(conn)) sub.state.dropSubscription(sub);
    conn.subs = undefined;
    this.connections.delete(conn.id);
    conn.emit('close', { code, reason });
  }
}

/** The frame of a change for one resource name and kind: serialised the first time a connection needs it, then shared. */
function frameOf(change: LoggedChange, kind: 'item' | 'remove', resource: string): SharedFrame {
  const frames = (change.frames ??= []);
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (f.kind === kind && f.resource === resource) return f.frame;
  }
  const frame = new SharedFrame(
    kind === 'item'
      ? stringifyMessage({ handler: 'item', resource, id: change.id, data: change.data! })
      : stringifyMessage({ handler: 'remove', resource, id: change.id }),
  );
  frames.push({ resource, kind, frame });
  return frame;
}

/** The key of a shared snapshot read: identical reads (channel, kind, canonical params) share one. */
function readKey(state: ChannelState, kind: 'list' | 'get', canonical: string): string {
  return `${state.spec.name}\0${kind}\0${canonical}`;
}

/**
 * A read has answered every joiner: the watches it was the latest read of forget it (and, through it, the requests
 * of everyone who joined it), so an idle watch keeps nothing of its last snapshot.
 */
function answered(read: SharedRead): void {
  for (const j of read.joiners) if (j.watch && j.sub.reads?.get(j.watch) === read) forgetRead(j.sub, j.watch);
}

/** A watch was stopped: the requests for it still waiting for a snapshot get none. */
function stopped(sub: Subscription, filter: Filter): void {
  const read = sub.reads?.get(filter) as SharedRead | undefined;
  if (!read) return;
  for (const j of read.joiners) if (j.sub === sub && j.watch === filter) j.cancelled = true;
  forgetRead(sub, filter);
}

/** The watch `watch` of `sub` has no read in flight any more; the map goes with its last entry. */
function forgetRead(sub: Subscription, watch: Filter): void {
  sub.reads!.delete(watch);
  if (sub.reads!.size === 0) sub.reads = undefined;
}

/** The subscription of `conn` under `resource`, if it has one (a connection rarely has more than one). */
function subscriptionOf(conn: HubConnection, resource: string): Subscription | undefined {
  const subs = conn.subs;
  if (!Array.isArray(subs)) return (subs as Subscription | undefined)?.resource === resource ? (subs as Subscription) : undefined;
  for (let i = 0; i < subs.length; i++) if (subs[i]!.resource === resource) return subs[i];
  return undefined;
}

/** Adds a subscription to `conn`: the first is held alone, more in an array replaced (never mutated) each time. */
function addSubscription(conn: HubConnection, sub: Subscription): void {
  const subs = conn.subs;
  conn.subs = subs === undefined ? sub : Array.isArray(subs) ? subs.concat(sub) : [subs as Subscription, sub];
}

/** Every subscription of `conn`. */
function subscriptionsOf(conn: HubConnection): readonly Subscription[] {
  const subs = conn.subs;
  return subs === undefined ? [] : Array.isArray(subs) ? subs : [subs as Subscription];
}

function echo(msg: ClientMessage): ErrorRequest {
  const request: ErrorRequest = { handler: msg.handler };
  if (msg.resource !== undefined) request.resource = msg.resource;
  if ('params' in msg) request.params = msg.params;
  return request;
}
