/**
 * The transport-agnostic protocol engine, as one object: it takes sockets (`accept`) and changes (`publish`), and
 * wires the parts that do the work. The ws server and the mock are thin adapters around it, which is why the client
 * behaves the same against both. Where to read on:
 * - a client message: `dispatch.ts` (parse within the input budget, authorize, route, the cost limits);
 * - a snapshot read and the ordering guarantee: `reads.ts`, with `recent-reads.ts` (the coalescing window);
 * - a change: `fanout.ts`, with `watch-index.ts` (who may care; what a watch costs: `watch-bytes.ts`) and
 *   `record-memory.ts` (item, remove or nothing);
 * - an answer that cannot be sent: `HubConnection.abandon` (1011, logged here), never an exception to the transport;
 * - a connection and the socket contract: `hub-connection.ts`, `socket.ts`; where data comes from: `source.ts`.
 * Browser-safe: no `node:*`, `ws`, `mongodb` or `amqplib`; imports nothing outside `protocol/` and this folder.
 */
import { canonicalJson, CloseCode, DEFAULTS, resolveInputBudget, type InputBudget } from '../../protocol/index.js';
import type { CostLimits } from './cost-limits.js';
import { ChannelRegistry, DEFAULT_CHANNELS, type ChannelSpec } from './channels.js';
import { ChannelState } from './channel-state.js';
import { Dispatcher, type Authorize } from './dispatch.js';
import { fanOut } from './fanout.js';
import { HubConnection, subscriptionsOf, type ConnectionHost } from './hub-connection.js';
import { randomId } from './ids.js';
import { silentLogger, type Logger } from './logger.js';
import { LegacyDialect } from './dialect-1x.js';
import { MqService, type MqOptions } from './mq.js';
import { readKey, SnapshotReads } from './reads.js';
import { Resumer, type ResumeOptions } from './resume.js';
import { GLOBAL_TIMERS, type HubTimers } from './timers.js';
import { Timeline } from './positions.js';
import { SharedFrame, type HubSocket } from './socket.js';
import type { Change, ChangeFeed, Source } from './source.js';

export type { Authorize } from './dispatch.js';
export type { CostLimits } from './cost-limits.js';
export type { ResumeOptions } from './resume.js';
export type { HubTimers } from './timers.js';

/** Who `broadcast` leaves out: a session id, several, or a predicate over connections. */
export type BroadcastSkip = string | readonly string[] | ((conn: HubConnection) => boolean);

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
   * The parse-time budget of every client frame (depth, keys and elements, string and key lengths), checked before
   * anything else reads it; over it: `error` `too-large`, the connection stays open. Fields left out keep their
   * default.
   * @default DEFAULTS.inputBudget (`{maxDepth: 32, maxNodes: 20,000, maxStringLength: 65,536, maxKeyLength: 1,024}`)
   */
  inputBudget?: Partial<InputBudget>;
  /**
   * Per-request authorization; a refusal is an `error` with code `forbidden`.
   * @default allow everything
   */
  authorize?: Authorize;
  /**
   * Protocol extensions announced in `session.features` (`"resume"` is added when `resume` is on).
   * @default ['ping']
   */
  features?: readonly string[];
  /**
   * Positions and resume (docs/architecture.md "Positions and resume"): `list`, `item` and `remove` frames carry a
   * position, a quiet watch gets `progress`, and a `watch` that brings the last position it applied is answered with
   * what it missed and `resumed` instead of a full `list`, on every channel whose spec does not turn it off. `true`
   * takes `DEFAULTS.resume`; an object sets the history's bounds, the progress interval, the wait and the timeline.
   * @default false (frames are what they were before resume existed)
   */
  resume?: boolean | ResumeOptions;
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
  /**
   * The `mq` channel: which exchanges it opens, how many recent messages a new watch lists.
   * @default DEFAULTS.mqExchanges, DEFAULTS.historyLimit
   */
  mq?: MqOptions;
  /** @default silent */
  logger?: Logger;
}

/** What the adapter knows about a new connection. */
export interface AcceptInfo {
  /** Request path (`/nodes`); the channel is its last segment. */
  channel: string;
  /** What authentication returned. */
  principal?: unknown;
  remoteAddress?: string;
  /**
   * The dialect the connection speaks: the seed's protocol, or RackHD 1.x (`dialect-1x.ts`; the transport
   * chooses it by path).
   * @default the seed's protocol
   */
  dialect?: '1.x';
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
  /** Watches answered by a replay and `resumed` instead of a snapshot (`resume`). */
  resumes: number;
  /** Watches that brought a position and got a full `list` (malformed, another epoch, trimmed, …). */
  resumesRefused: number;
  /** Changes published. */
  changes: number;
}

/** The protocol engine. One per server (or mock); no module-level state. */
export class Hub {
  readonly registry: ChannelRegistry;
  readonly connections = new Map<string, HubConnection>();
  /** The `mq` channel: feed it messages (`publish`), bind upstream what it asks for (`onDemand`). */
  readonly mq: MqService;
  /** @internal Snapshot reads and the change logs kept for them (tests inspect them). */
  readonly reads: SnapshotReads;
  /** Resume, when `resume` is on: its `timeline` is what a stream feed drives. */
  readonly resume: Resumer | undefined;
  private readonly states = new Map<string, ChannelState>();
  private readonly dispatcher: Dispatcher;
  private readonly legacy: LegacyDialect;
  private readonly logger: Logger;
  private readonly connectionListeners = new Set<(conn: HubConnection) => void>();
  private readonly activityListeners = new Set<(channel: string, active: boolean) => void>();
  private readonly unsubscribeFeed?: () => void;
  private readonly counters = { changes: 0 };
  /** Where every connection reports its frames, its end and a failure: one object, not closures per connection. */
  private readonly host: ConnectionHost = {
    receive: (conn, data, isBinary) =>
      conn.dialect ? conn.dialect.receive(conn, data, isBinary) : this.dispatcher.receive(conn, data, isBinary),
    closed: (conn, code, reason) => this.closed(conn, code, reason),
    abandoned: (conn, what, err) => {
      this.logger.error(`${what}, closing the connection`, { err, session: conn.id, code: CloseCode.InternalError });
    },
  };

  constructor(options: HubOptions) {
    this.registry = new ChannelRegistry(options.channels ?? DEFAULT_CHANNELS);
    this.logger = options.logger ?? silentLogger;
    for (const spec of this.registry.specs) {
      this.states.set(spec.name, new ChannelState(spec, (active) => this.channelActivity(spec.name, active)));
    }
    const timers = options.timers ?? GLOBAL_TIMERS;
    const resume = options.resume === true ? {} : options.resume || undefined;
    const timeline = resume && (resume.timeline ?? new Timeline({ external: false, maxMarkers: DEFAULTS.resume.maxMarkers }));
    this.reads = new SnapshotReads({
      source: options.source,
      maxListItems: options.maxListItems ?? DEFAULTS.maxListItems,
      maxListBytes: options.maxListBytes ?? DEFAULTS.maxListBytes,
      coalesceWindowMs: options.coalesceWindowMs ?? 0,
      timers,
      logger: this.logger,
      timeline,
    });
    this.resume = resume && timeline && new Resumer({ ...resume, timeline }, this.states.values(), this.reads, timers, this.logger);
    const maxWatches = options.maxWatches ?? DEFAULTS.maxWatches;
    const maxWatchBytes = options.maxWatchBytes ?? DEFAULTS.maxWatchBytes;
    const maxReadsInFlight = options.maxReadsInFlight ?? DEFAULTS.maxReadsInFlight;
    const maxReadBytes = options.maxReadBytes ?? DEFAULTS.maxReadBytes;
    const limits = {
      budget: resolveInputBudget(options.inputBudget),
      params: { maxInValues: options.maxInValues ?? DEFAULTS.maxInValues },
    };
    this.mq = new MqService(options.mq ?? {}, maxWatches, this.logger);
    // Both dialects answer with the same state and under the same bounds.
    const shared = {
      registry: this.registry,
      states: this.states,
      reads: this.reads,
      mq: this.mq,
      authorize: options.authorize,
      maxWatches,
      maxWatchBytes,
      maxReadsInFlight,
      maxReadBytes,
      limits,
      logger: this.logger,
    };
    const features = options.features ?? ['ping'];
    this.dispatcher = new Dispatcher({
      ...shared,
      features: this.resume && !features.includes('resume') ? [...features, 'resume'] : features,
      resume: this.resume,
    });
    this.legacy = new LegacyDialect(shared);
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
    if (info.dialect === '1.x') conn.dialect = this.legacy;
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
    fanOut(this.states.get(spec.name)!, change, this.reads);
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
    this.reads.stopSharing(name);
    for (const conn of this.connections.values()) {
      // A 1.x watch has no snapshot to redo: that dialect never sends one.
      if (conn.dialect) continue;
      for (const sub of subscriptionsOf(conn)) {
        const { state } = sub;
        if (channel !== undefined && state.spec.name !== name) continue;
        state.forget();
        for (const filter of sub.watches) {
          const { params } = filter;
          const key = readKey(state, 'list', canonicalJson(params));
          this.reads.snapshot(conn, sub, key, 'list', params, { handler: 'watch', params }, filter);
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
    const { sourceReads, coalescedReads } = this.reads.counters;
    const { changes } = this.counters;
    const { resumes, refused: resumesRefused } = this.resume?.counters ?? { resumes: 0, refused: 0 };
    return { connections: this.connections.size, watches, watchBytes, sourceReads, coalescedReads, changes, resumes, resumesRefused };
  }

  /** The routing state of a channel (tests and benchmarks inspect it). */
  channelState(channel: string): ChannelState | undefined {
    const spec = this.registry.get(channel);
    return spec && this.states.get(spec.name);
  }

  /** Closes every connection (default 1001: clients reconnect, possibly elsewhere) and stops the feed. */
  close(code = 1001, reason = 'server shutting down'): void {
    this.unsubscribeFeed?.();
    this.reads.cancelWaiting();
    this.resume?.close();
    for (const conn of [...this.connections.values()]) conn.close(code, reason);
  }

  private closed(conn: HubConnection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    for (const sub of subscriptionsOf(conn)) sub.state.dropSubscription(sub);
    this.mq.dropConnection(conn);
    conn.subs = undefined;
    this.connections.delete(conn.id);
    conn.emit('close', { code, reason });
  }
}
