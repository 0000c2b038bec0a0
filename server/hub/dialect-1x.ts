/**
 * RackHD's 1.x dialect: the protocol of RackHD's own socket server (on-wss), which its 1.x web UI (on-web-ui's
 * Messenger and stores) speaks. A connection speaks it when its URL path starts with the 1.x prefix
 * (`DEFAULTS.legacyPath`, `/rackhd`: the UI's `RackHD_WSS: "host:9100/rackhd"` makes `ws://host:9100/rackhd/nodes`);
 * everywhere else the seed's protocol is unchanged. What differs, as on-wss did it (PROTOCOL.md "RackHD 1.x
 * dialect"):
 * - `watch` on a record channel follows every change of that channel whatever the params, with no initial `list`
 *   (that UI loads over REST); a change is `item {resource, id: [event, id], data}` with event `created` (the record
 *   did not exist before) or `updated`, a deletion `remove {resource, id, data: record}`.
 * - `stop` ends the connection's watches of that resource, whatever the params; `resource: null` and
 *   `params: null` (the UI's `stopMessenger`) mean the connection's own channel and no params.
 * - `mq`: `watch {exchange, routingKey}` sends each message as `item {resource: 'mq', id: <routing key>,
 *   data: <payload>}`; `query`/`all`/`get` on `mq` are logged.
 * - `get` of a missing record is `item {resource, id: null}` (on-wss sent what `findOne` found).
 * - No `error` frame ever: that UI has no listener for them, and an unlistened `error` event throws inside its
 *   socket handler. Every refusal is logged instead; the connection stays.
 * Browser-safe.
 */
import {
  canonicalJson,
  isPlainObject,
  parseMessage,
  ProtocolError,
  stringifyMessage,
  type ClientMessage,
  type ErrorCode,
  type ErrorRequest,
  type Params,
  type ParseLimits,
} from '../../protocol/index.js';
import type { ChannelRegistry } from './channels.js';
import { subscription, type ChannelState } from './channel-state.js';
import { addSubscription, readBytes, readRefusal, subscriptionOf, type ConnectionDialect, type HubConnection } from './hub-connection.js';
import type { Logger } from './logger.js';
import type { MqEntry, MqService } from './mq.js';
import { readKey, type SnapshotReads } from './reads.js';
import type { LoggedChange } from './record-memory.js';
import { SharedFrame } from './socket.js';
import type { Authorize } from './dispatch.js';
import { watchOf } from './watch-index.js';

/** The params a 1.x record watch stands for: everything of the channel. */
const EVERYTHING: Params = {};
const EVERYTHING_KEY = canonicalJson(EVERYTHING);

/** What the 1.x dialect works with (the hub's parts). */
export interface LegacyDialectOptions {
  readonly registry: ChannelRegistry;
  readonly states: ReadonlyMap<string, ChannelState>;
  readonly reads: SnapshotReads;
  readonly mq: MqService;
  readonly authorize: Authorize | undefined;
  readonly maxWatches: number;
  /** `HubOptions.maxWatchBytes`, as the seed's protocol applies it (`dispatch.ts`). */
  readonly maxWatchBytes: number;
  /** `HubOptions.maxReadsInFlight`, as the seed's protocol applies it. */
  readonly maxReadsInFlight: number;
  /** `HubOptions.maxReadBytes`, as the seed's protocol applies it. */
  readonly maxReadBytes: number;
  /** What every frame is parsed within (the hub's input budget and `maxInValues`). */
  readonly limits: ParseLimits;
  readonly logger: Logger;
}

/** Whether a request path is on the 1.x prefix (`/rackhd/nodes` for prefix `/rackhd`; the query is ignored). */
export function isLegacyPath(url: string, prefix: string): boolean {
  const path = url.split(/[?#]/)[0]!;
  const p = prefix.replace(/\/+$/, '');
  return p !== '' && path.startsWith(`${p}/`);
}

/** The 1.x frame of an `mq` message: the routing key as id, the payload as data. */
export function renderLegacyMq(entry: MqEntry, resource: string): string {
  return JSON.stringify({ handler: 'item', resource, id: entry.routingKey, data: entry.payload });
}

/** The 1.x dialect of one hub; every connection on the 1.x path has it as its `dialect`. */
export class LegacyDialect implements ConnectionDialect {
  constructor(private readonly o: LegacyDialectOptions) {}

  /**
   * A frame from a 1.x client: answered as on-wss did, or logged. Nothing thrown here may reach the transport (as in
   * `Dispatcher.receive`): a reply that cannot be built or sent abandons this one connection (1011, logged).
   */
  receive(conn: HubConnection, data: string, isBinary: boolean): void {
    if (conn.closed) return;
    try {
      this.answer(conn, data, isBinary);
    } catch (err) {
      conn.abandon('answering a 1.x frame failed', err);
    }
  }

  private answer(conn: HubConnection, data: string, isBinary: boolean): void {
    let msg: ClientMessage;
    try {
      msg = parseLegacy(data, isBinary, this.o.limits);
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError('bad-json', String(err));
      this.refused(conn, e.code, e.message, e.request);
      conn.emit('error', e);
      return;
    }
    conn.emit('message', msg);
    try {
      this.handle(conn, msg);
    } catch (err) {
      this.o.logger.error('1.x handler failed', { err, handler: msg.handler, session: conn.id });
    }
  }

  /** What would be an `error` frame: logged, never sent (the 1.x UI would throw on it). */
  refused(conn: HubConnection, code: ErrorCode, message: string, request?: ErrorRequest): void {
    this.o.logger.info('1.x request refused (no error frame in the 1.x dialect)', {
      session: conn.id,
      code,
      message,
      handler: request?.handler,
      resource: request?.resource,
    });
  }

  /** The 1.x frame of a change: `item` with `[created|updated, id]`, or `remove` with the record as it was. */
  frame(state: ChannelState, change: LoggedChange, kind: 'item' | 'remove', resource: string): SharedFrame {
    change.frames ??= [];
    const frames = change.frames;
    const key = `\u00001.x\u0000${resource}`;
    for (const f of frames) if (f.kind === kind && f.resource === key) return f.frame;
    // Never positioned: the 1.x dialect has no positions (nor resume).
    let text: string;
    if (kind === 'item') {
      const event = change.prev.kind === 'absent' ? 'created' : 'updated';
      text = JSON.stringify({ handler: 'item', resource, id: [event, change.id], data: change.data });
    } else {
      // The record as it was when the memory knows it whole; else what identifies it (MongoDB deletions).
      const prev = change.prev.kind === 'doc' && !change.prev.fields ? change.prev.doc : { id: change.id, [state.spec.idField]: change.id };
      text = JSON.stringify({ handler: 'remove', resource, id: change.id, data: prev });
    }
    const frame = new SharedFrame(text);
    frames.push({ resource: key, kind, positioned: false, frame });
    return frame;
  }

  /** A `get` that found nothing: on-wss sent `findOne`'s null as the item. */
  notFound(resource: string): string {
    return JSON.stringify({ handler: 'item', resource, id: null });
  }

  private handle(conn: HubConnection, msg: ClientMessage): void {
    if (msg.handler === 'init' || msg.handler === 'ping') {
      conn.send(stringifyMessage(msg.handler === 'init' ? { handler: 'session', id: conn.id } : { handler: 'pong' }));
      return;
    }
    const resource = msg.resource ?? conn.channel;
    const request: ErrorRequest = { handler: msg.handler, resource, ...('params' in msg ? { params: msg.params } : {}) };
    const spec = this.o.registry.get(resource);
    const params: Params = msg.handler === 'all' || !('params' in msg) ? {} : msg.params;
    if (!spec) this.refused(conn, 'unknown-channel', `unknown channel "${resource}"`, request);
    else if (this.o.authorize && !this.o.authorize(conn.principal, spec.name, msg.handler, params)) {
      this.refused(conn, 'forbidden', `${msg.handler} on "${resource}" is not allowed`, request);
    } else if (spec.name === 'mq') this.handleMq(conn, msg.handler, params, resource, request);
    else this.handleRecords(conn, msg.handler, this.o.states.get(spec.name)!, params, resource, request);
  }

  private handleRecords(
    conn: HubConnection,
    handler: string,
    state: ChannelState,
    params: Params,
    resource: string,
    request: ErrorRequest,
  ): void {
    let sub = subscriptionOf(conn, resource);
    if (!sub) {
      sub = subscription(resource, state, conn);
      addSubscription(conn, sub);
    }
    if (handler === 'query' || handler === 'all' || handler === 'get') {
      const kind = handler === 'get' ? 'get' : 'list';
      const key = readKey(state, kind, canonicalJson(params));
      // maxReadsInFlight and maxReadBytes as in the seed's protocol: joining a read in flight is free, starting one is counted.
      const refusal = this.o.reads.joinable(key)
        ? undefined
        : readRefusal(conn, readBytes(key, params), this.o.maxReadsInFlight, this.o.maxReadBytes);
      if (refusal !== undefined) {
        this.refused(conn, 'too-many-reads', refusal, request);
        return;
      }
      this.o.reads.snapshot(conn, sub, key, kind, params, request);
    } else if (handler === 'watch') {
      // on-wss subscribed to every change of the collection, whatever the params, and sent no snapshot.
      if (watchOf(sub, EVERYTHING_KEY)) return;
      if (conn.watchCount >= this.o.maxWatches) {
        this.refused(conn, 'too-many-watches', `at most ${this.o.maxWatches} watches`, request);
        return;
      }
      const filter = state.filterFor(EVERYTHING_KEY, EVERYTHING);
      if (conn.watchBytes + filter.bytes > this.o.maxWatchBytes) {
        this.refused(conn, 'too-many-watches', `the connection's watches would pass maxWatchBytes (${this.o.maxWatchBytes})`, request);
        return;
      }
      // addWatch charges the connection (watchCount, watchBytes); removeWatch gives it back.
      state.addWatch(sub, filter);
    } else if (handler === 'stop') {
      const filter = watchOf(sub, EVERYTHING_KEY);
      if (filter) state.removeWatch(sub, filter);
    }
  }

  private handleMq(conn: HubConnection, handler: string, params: Params, resource: string, request: ErrorRequest): void {
    if (handler === 'watch') {
      const refusal = this.o.mq.watch(conn, params, resource, renderLegacyMq, false);
      if (refusal) this.refused(conn, refusal.code, refusal.message, request);
    } else if (handler === 'stop') {
      // `stop` with no params (the UI's stopMessenger sends null) ends every mq watch of the connection.
      const refusal = Object.keys(params).length > 0 ? this.o.mq.stop(conn, params) : this.o.mq.stopAll(conn);
      if (refusal) this.refused(conn, refusal.code, refusal.message, request);
    } else {
      this.refused(conn, 'not-supported', `mq does not support ${handler}`, request);
    }
  }
}

/**
 * Parses a 1.x frame: `resource: null` and `params: null` (what the UI's `exec` sends for "none") are dropped, then
 * the message is checked like any other, within the hub's limits (input budget, `maxInValues`, params allowlist).
 */
function parseLegacy(data: string, isBinary: boolean, limits: ParseLimits): ClientMessage {
  if (isBinary) throw new ProtocolError('bad-message', 'binary frame');
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new ProtocolError('bad-json', 'the frame is not JSON');
  }
  if (isPlainObject(value)) {
    const cleaned: Record<string, unknown> = { ...value };
    if (cleaned.resource === null) delete cleaned.resource;
    if (cleaned.params === null) delete cleaned.params;
    return parseMessage(cleaned, 'client', limits);
  }
  return parseMessage(value, 'client', limits);
}
