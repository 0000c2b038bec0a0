/**
 * Client messages, from frame to answer: a frame is parsed (a refused one gets an `error` reply with a stable code
 * and the connection stays open), `init` and `ping` are answered at once, and every other message is resolved to a
 * channel, authorized, and handed on: `query`, `all`, `get` and `watch` to the snapshot reads (`reads.ts`), `watch`
 * and `stop` to the channel's watches (`channel-state.ts`). A frame is held to the input budget and its params to
 * `maxInValues` before anything else reads it (`parseMessage`); a new watch to `maxWatches` and `maxWatchBytes`, a new
 * read to `maxReadsInFlight` and `maxReadBytes`. A handler that throws is logged and answered `internal`; a reply that cannot be built or
 * sent at all abandons that one connection (1011, logged), so nothing thrown here reaches the transport.
 * Browser-safe.
 */
import {
  canonicalJson,
  parseMessage,
  ProtocolError,
  stringifyMessage,
  type ClientMessage,
  type ErrorRequest,
  type Params,
  type ParseLimits,
} from '../../protocol/index.js';
import type { ChannelRegistry } from './channels.js';
import { subscription, type ChannelState, type Subscription } from './channel-state.js';
import { addSubscription, readBytes, readRefusal, subscriptionOf, type HubConnection } from './hub-connection.js';
import type { Logger } from './logger.js';
import type { MqService } from './mq.js';
import { readKey, type SnapshotReads } from './reads.js';
import { echo, sendError } from './replies.js';
import type { Resumer } from './resume.js';
import { watchOf, type Filter } from './watch-index.js';

/** Decides whether a principal may run `handler` with `params` on `channel`. */
export type Authorize = (principal: unknown, channel: string, handler: string, params: Params) => boolean;

/** What the dispatcher works with (the hub's parts and options). */
export interface DispatcherOptions {
  readonly registry: ChannelRegistry;
  /** Routing state per canonical channel name. */
  readonly states: ReadonlyMap<string, ChannelState>;
  readonly reads: SnapshotReads;
  /** `HubOptions.authorize`. */
  readonly authorize: Authorize | undefined;
  /** `HubOptions.features`. */
  readonly features: readonly string[];
  /** `HubOptions.maxWatches`. */
  readonly maxWatches: number;
  /** `HubOptions.maxWatchBytes`. */
  readonly maxWatchBytes: number;
  /** `HubOptions.maxReadsInFlight`. */
  readonly maxReadsInFlight: number;
  /** `HubOptions.maxReadBytes`. */
  readonly maxReadBytes: number;
  /** What every frame is parsed within (`HubOptions.inputBudget` resolved, and `maxInValues`). */
  readonly limits: ParseLimits;
  readonly logger: Logger;
  /** The `mq` channel, which streams messages instead of serving records (`mq.ts`). */
  readonly mq?: MqService;
  /** Resume (`HubOptions.resume`), when it is on. */
  readonly resume?: Resumer | undefined;
}

/** Answers the client messages of every connection of a hub. */
export class Dispatcher {
  private readonly registry: ChannelRegistry;
  private readonly states: ReadonlyMap<string, ChannelState>;
  private readonly reads: SnapshotReads;
  private readonly authorize: Authorize | undefined;
  private readonly features: readonly string[];
  private readonly maxWatches: number;
  private readonly maxWatchBytes: number;
  private readonly maxReadsInFlight: number;
  private readonly maxReadBytes: number;
  private readonly limits: ParseLimits;
  private readonly logger: Logger;
  private readonly mq: MqService | undefined;
  private readonly resume: Resumer | undefined;

  constructor(options: DispatcherOptions) {
    this.registry = options.registry;
    this.states = options.states;
    this.reads = options.reads;
    this.authorize = options.authorize;
    this.features = options.features;
    this.maxWatches = options.maxWatches;
    this.maxWatchBytes = options.maxWatchBytes;
    this.maxReadsInFlight = options.maxReadsInFlight;
    this.maxReadBytes = options.maxReadBytes;
    this.limits = options.limits;
    this.logger = options.logger;
    this.mq = options.mq;
    this.resume = options.resume;
  }

  /**
   * A frame from `conn`, answered. Nothing thrown here may escape: it would unwind into the transport (ws's event
   * emitter, where it ends the process). An exception while building or sending a reply, an error reply included,
   * abandons this one connection (`HubConnection.abandon`: 1011, logged).
   */
  receive(conn: HubConnection, data: string, isBinary: boolean): void {
    if (conn.closed) return;
    try {
      this.answer(conn, data, isBinary);
    } catch (err) {
      conn.abandon('answering a frame failed', err);
    }
  }

  private answer(conn: HubConnection, data: string, isBinary: boolean): void {
    let msg: ClientMessage;
    try {
      if (isBinary) throw new ProtocolError('bad-message', 'binary frames are not supported; send JSON text');
      // The budget first: nothing after the parser (echo, matches, the watch index) sees a value over it.
      msg = parseMessage(data, 'client', this.limits);
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError('bad-json', String(err));
      sendError(conn, e.code, e.message, e.request, e.request?.resource ?? (conn.channel || undefined));
      conn.emit('error', e);
      return;
    }
    conn.emit('message', msg);
    this.run(conn, msg, false);
  }

  /** Handles a parsed message (`waited`: a `watch` that waited for its position); a handler that throws is `internal`. */
  private run(conn: HubConnection, msg: ClientMessage, waited: boolean): void {
    try {
      this.handle(conn, msg, waited);
    } catch (err) {
      this.logger.error('handler failed', { err, handler: msg.handler, session: conn.id });
      sendError(conn, 'internal', 'the server failed to answer this message', echo(msg));
    }
  }

  private handle(conn: HubConnection, msg: ClientMessage, waited: boolean): void {
    if (msg.handler === 'init') {
      if (Array.isArray(msg.features) && msg.features.includes('resume')) conn.resumeAware = true;
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
      sendError(conn, 'unknown-channel', `unknown channel "${resource}"; channels: ${known}`, request, resource || undefined);
      return;
    }
    const params: Params = msg.handler === 'all' ? {} : msg.params;
    if (this.authorize && !this.authorize(conn.principal, spec.name, msg.handler, params)) {
      sendError(conn, 'forbidden', `${msg.handler} on "${resource}" is not allowed`, request, resource);
      return;
    }
    if (spec.name === 'mq' && this.mq) {
      this.mq.handle(conn, msg.handler, params, resource, request);
      return;
    }
    const state = this.states.get(spec.name)!;
    let sub = subscriptionOf(conn, resource);
    if (!sub) addSubscription(conn, (sub = subscription(resource, state, conn)));
    // One canonical form per request: the watch's key and the shared read's key both derive from it.
    const canonical = canonicalJson(params);
    if (msg.handler === 'stop' || msg.handler === 'watch') this.resume?.cancel(sub, canonical);
    if (msg.handler === 'stop') {
      const filter = watchOf(sub, canonical);
      if (filter) {
        state.removeWatch(sub, filter);
        this.reads.stopped(sub, filter);
      }
      return;
    }
    const kind = msg.handler === 'get' ? 'get' : 'list';
    const key = readKey(state, kind, canonical);
    let watch: Filter | undefined;
    if (msg.handler === 'watch') {
      const from = 'position' in msg ? this.resumeFrom(conn, sub, msg, canonical, waited) : undefined;
      if (from === null) return;
      // A watch the connection already holds is re-snapshotted without the checks: refusing it would end it (a client
      // drops a refused watch), and it has at most one read in flight anyway (identical reads are shared).
      const held = watchOf(sub, canonical);
      watch = held ?? this.newWatch(conn, sub, canonical, params, key, request, from === undefined);
      if (!watch) return;
      if (from !== undefined) {
        this.resume!.replay(sub, from, params, held ? undefined : watch);
        return;
      }
    } else if (!this.mayRead(conn, key, params, request, resource)) return;
    this.reads.snapshot(conn, sub, key, kind, params, request, watch);
  }

  /**
   * Where a `watch` with a position resumes from: the offset to replay from, undefined for a full `list` (a position
   * resume cannot use: logged at `debug`, never an error), or null when it waits for this instance to read up to its
   * position (it runs again then, as waited).
   */
  private resumeFrom(
    conn: HubConnection,
    sub: Subscription,
    msg: ClientMessage,
    canonical: string,
    waited: boolean,
  ): number | null | undefined {
    conn.resumeAware = true;
    const position = (msg as { position?: unknown }).position;
    const { state } = sub;
    if (!this.resume) {
      this.logger.debug('resume refused, sending a full list', { session: conn.id, channel: state.spec.name, reason: 'resume is off' });
      return undefined;
    }
    const verdict = this.resume.check(state, position, waited);
    if (verdict.kind === 'resume') return verdict.from;
    if (
      verdict.kind === 'wait' &&
      this.resume.defer(conn, sub, canonical, verdict.offset, this.maxWatches, () => this.run(conn, msg, true))
    )
      return null;
    this.resume.refused(conn, state, position, verdict.kind === 'list' ? verdict.reason : 'too many watches waiting for their position');
    return undefined;
  }

  /**
   * A watch `sub` does not hold yet, within `maxWatches`, `maxWatchBytes`, and, when it `reads` a snapshot (a resumed
   * watch does not), `maxReadsInFlight` and `maxReadBytes`; undefined if refused.
   */
  private newWatch(
    conn: HubConnection,
    sub: Subscription,
    canonical: string,
    params: Params,
    key: string,
    request: ErrorRequest,
    reads: boolean,
  ): Filter | undefined {
    const { resource, state } = sub;
    if (conn.watchCount >= this.maxWatches) {
      sendError(conn, 'too-many-watches', `a connection may hold at most ${this.maxWatches} watches`, request, resource);
      return undefined;
    }
    // What it would cost is known before it is added: a filter nobody holds yet is only made, not registered.
    const filter = state.filterFor(canonical, params);
    if (conn.watchBytes + filter.bytes > this.maxWatchBytes) {
      const [bytes, held, max] = [filter.bytes, conn.watchBytes, this.maxWatchBytes].map((n) => n.toLocaleString('en-US'));
      const message = `this watch holds about ${bytes} bytes and the connection's watches already ${held}: over maxWatchBytes (${max})`;
      sendError(conn, 'too-many-watches', message, request, resource);
      return undefined;
    }
    if (reads && !this.mayRead(conn, key, params, request, resource)) return undefined;
    return state.addWatch(sub, filter);
  }

  /**
   * Whether `conn` may read `key` now: joining a read already in flight always may (it starts no source read and
   * holds no result of its own), starting one only under `maxReadsInFlight` and `maxReadBytes`; refused:
   * `too-many-reads`.
   */
  private mayRead(conn: HubConnection, key: string, params: Params, request: ErrorRequest, resource: string): boolean {
    if (this.reads.joinable(key)) return true;
    const message = readRefusal(conn, readBytes(key, params), this.maxReadsInFlight, this.maxReadBytes);
    if (message === undefined) return true;
    sendError(conn, 'too-many-reads', message, request, resource);
    return false;
  }
}
