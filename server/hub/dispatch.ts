/**
 * Client messages, from frame to answer: a frame is parsed (a refused one gets an `error` reply with a stable code
 * and the connection stays open), `init` and `ping` are answered at once, and every other message is resolved to a
 * channel, authorized, and handed on: `query`, `all`, `get` and `watch` to the snapshot reads (`reads.ts`), `watch`
 * and `stop` to the channel's watches (`channel-state.ts`). A frame is held to the input budget before anything else
 * reads it (`parseMessage`). A handler that throws is logged and answered `internal`; a reply that cannot be built or
 * sent at all abandons that one connection (1011, logged), so nothing thrown here reaches the transport.
 * Browser-safe.
 */
import {
  canonicalJson,
  parseMessage,
  ProtocolError,
  stringifyMessage,
  type ClientMessage,
  type Params,
  type ParseLimits,
} from '../../protocol/index.js';
import type { ChannelRegistry } from './channels.js';
import { subscription, type ChannelState } from './channel-state.js';
import { addSubscription, subscriptionOf, type HubConnection } from './hub-connection.js';
import type { Logger } from './logger.js';
import type { SnapshotReads } from './reads.js';
import { echo, sendError } from './replies.js';
import { watchOf } from './watch-index.js';

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
  /** What every frame is parsed within (`HubOptions.inputBudget`, resolved). */
  readonly limits: ParseLimits;
  readonly logger: Logger;
}

/** Answers the client messages of every connection of a hub. */
export class Dispatcher {
  private readonly registry: ChannelRegistry;
  private readonly states: ReadonlyMap<string, ChannelState>;
  private readonly reads: SnapshotReads;
  private readonly authorize: Authorize | undefined;
  private readonly features: readonly string[];
  private readonly maxWatches: number;
  private readonly limits: ParseLimits;
  private readonly logger: Logger;

  constructor(options: DispatcherOptions) {
    this.registry = options.registry;
    this.states = options.states;
    this.reads = options.reads;
    this.authorize = options.authorize;
    this.features = options.features;
    this.maxWatches = options.maxWatches;
    this.limits = options.limits;
    this.logger = options.logger;
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
    try {
      this.handle(conn, msg);
    } catch (err) {
      this.logger.error('handler failed', { err, handler: msg.handler, session: conn.id });
      sendError(conn, 'internal', 'the server failed to answer this message', echo(msg));
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
      sendError(conn, 'unknown-channel', `unknown channel "${resource}"; channels: ${known}`, request, resource || undefined);
      return;
    }
    const params: Params = msg.handler === 'all' ? {} : msg.params;
    if (this.authorize && !this.authorize(conn.principal, spec.name, msg.handler, params)) {
      sendError(conn, 'forbidden', `${msg.handler} on "${resource}" is not allowed`, request, resource);
      return;
    }
    const state = this.states.get(spec.name)!;
    let sub = subscriptionOf(conn, resource);
    if (!sub) addSubscription(conn, (sub = subscription(resource, state, conn)));
    switch (msg.handler) {
      case 'query':
      case 'all':
        this.reads.snapshot(conn, sub, 'list', params, request);
        return;
      case 'get':
        this.reads.snapshot(conn, sub, 'get', params, request);
        return;
      case 'watch': {
        const key = canonicalJson(params);
        let watch = watchOf(sub, key);
        if (!watch) {
          if (conn.watchCount >= this.maxWatches) {
            sendError(conn, 'too-many-watches', `a connection may hold at most ${this.maxWatches} watches`, request, resource);
            return;
          }
          watch = state.addWatch(sub, key, params);
          conn.watchCount++;
        }
        this.reads.snapshot(conn, sub, 'list', params, request, watch);
        return;
      }
      case 'stop': {
        const filter = state.removeWatch(sub, canonicalJson(params));
        if (filter) {
          conn.watchCount--;
          this.reads.stopped(sub, filter);
        }
        return;
      }
    }
  }
}
