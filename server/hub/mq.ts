/**
 * The `mq` channel: a live view of RabbitMQ topics, as RackHD's 1.x socket server offered it. `watch {exchange,
 * routingKey}` streams every message of that exchange whose routing key matches the topic pattern, until `stop`
 * with the same params. Exchanges come from an allowlist (`DEFAULTS.mqExchanges`), the pattern is validated (topic
 * syntax, at most `DEFAULTS.maxRoutingKeyLength`), and what is watched drives what is bound upstream (`onDemand`).
 *
 * In the SDK dialect `mq` is append-only like `logs`: a watch answers a `list` of the recent matching messages,
 * then each message is an `item` whose id derives from its content (a routing key repeats: on `on.logging` it is
 * the level) and whose data is `{id, exchange, routingKey, payload}`. `query`/`all`/`get` are `not-supported`.
 * Messages come from the broker (server with `--amqp`) or, offline, from the memory backend's own logs and events
 * in RackHD's formats (`mqFromChange`), so the mock and the demo show the same stream. Browser-safe.
 */
import {
  canonicalJson,
  DEFAULTS,
  stringifyMessage,
  type Doc,
  type ErrorRequest,
  type JsonValue,
  type Params,
  topicMatches,
} from '../../protocol/index.js';
import type { HubConnection } from './hub-connection.js';
import { contentId } from './ids.js';
import type { Logger } from './logger.js';
import { sendError } from './replies.js';
import type { Change } from './source.js';

/** One message of an exchange, as the `mq` channel sees it (exchange names without any deployment prefix). */
export interface MqMessage {
  readonly exchange: string;
  readonly routingKey: string;
  readonly payload: JsonValue;
}

/** An `mq` entry in the SDK dialect: the message and its content-derived id. */
export interface MqEntry extends MqMessage {
  readonly id: string;
}

/** Options of the `mq` channel (`HubOptions.mq`). */
export interface MqOptions {
  /**
   * Exchanges that may be watched.
   * @default DEFAULTS.mqExchanges (`on.logging`, `on.events`)
   */
  exchanges?: readonly string[];
  /**
   * Recent messages kept for the `list` a new watch gets.
   * @default DEFAULTS.historyLimit (1000)
   */
  historyLimit?: number;
}

/** Turns an entry into the frame one watch sends (the dialects differ). */
export type MqRender = (entry: MqEntry, resource: string) => string;

/** The SDK dialect's frame: `item {resource, id, data: {id, exchange, routingKey, payload}}`. */
export const renderSdk: MqRender = (entry, resource) =>
  stringifyMessage({ handler: 'item', resource, id: entry.id, data: entry as unknown as Doc });

interface MqWatch {
  readonly exchange: string;
  readonly words: readonly string[];
  readonly pattern: string;
  readonly resource: string;
  readonly render: MqRender;
}

/** Why an `mq` request was refused, with the error code the SDK dialect answers. */
export interface MqRefusal {
  readonly code: 'bad-params' | 'forbidden' | 'not-supported' | 'too-many-watches';
  readonly message: string;
}

/** Whether a word has a space, a control character or DEL (never part of a routing key a UI means). */
function hasControlOrSpace(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Checks `mq` params: `{exchange, routingKey?}` (routingKey defaults to `#`), exchange allowed, pattern well-formed. */
export function checkMqParams(params: Params, allowed: ReadonlySet<string>): MqRefusal | { exchange: string; pattern: string } {
  const extra = Object.keys(params).filter((k) => k !== 'exchange' && k !== 'routingKey');
  if (extra.length > 0) return { code: 'bad-params', message: `mq params are {exchange, routingKey}; unexpected: ${extra.join(', ')}` };
  const { exchange, routingKey = '#' } = params;
  if (typeof exchange !== 'string' || exchange === '') return { code: 'bad-params', message: 'mq needs params.exchange, a string' };
  if (typeof routingKey !== 'string') return { code: 'bad-params', message: 'mq params.routingKey must be a string (a topic pattern)' };
  if (routingKey.length === 0 || routingKey.length > DEFAULTS.maxRoutingKeyLength) {
    return { code: 'bad-params', message: `mq params.routingKey must have 1 to ${DEFAULTS.maxRoutingKeyLength} characters` };
  }
  // Words of visible characters; `*` and `#` only as whole words (AMQP topic syntax).
  const bad = routingKey.split('.').find((w) => w === '' || hasControlOrSpace(w) || (/[*#]/.test(w) && w !== '*' && w !== '#'));
  if (bad !== undefined)
    return {
      code: 'bad-params',
      message: `mq params.routingKey "${routingKey}" is not a topic pattern (words separated by dots, * and # as whole words)`,
    };
  if (!allowed.has(exchange))
    return { code: 'forbidden', message: `exchange "${exchange}" is not open to mq; open: ${[...allowed].join(', ')}` };
  return { exchange, pattern: routingKey };
}

/**
 * What the memory backend's own writes look like on RackHD's exchanges, in the order on-core publishes them: a log
 * line on `on.logging` (routing key = level); an event on `on.events` (`<type>.<action>.<severity>.<typeId>[.<nodeId>]`),
 * without the entry's local id — preceded, for a graph that started or finished, by the 1.x message on-core still
 * publishes right before it (`graph.<started|finished>.<graphId>` with `{graphId, graphName, status}`, on-core
 * `lib/protocol/events.js` publishGraphStarted/publishGraphFinished), which the 1.x UI's WorkflowMonitor reads.
 */
export function mqFromChange(change: Change): MqMessage[] {
  if (!change.data) return [];
  const { id: _id, ...payload } = change.data;
  if (change.channel === 'logs') return [{ exchange: 'on.logging', routingKey: String(payload.level ?? 'info'), payload }];
  if (change.channel !== 'events') return [];
  const words = [payload.type, payload.action, payload.severity, payload.typeId].map(String);
  if (typeof payload.nodeId === 'string' && payload.nodeId !== '') words.push(payload.nodeId);
  const event: MqMessage = { exchange: 'on.events', routingKey: words.join('.'), payload };
  if (payload.type !== 'graph' || (payload.action !== 'started' && payload.action !== 'finished')) return [event];
  const data = (payload.data ?? {}) as Doc;
  const status = data.status ?? (payload.action === 'started' ? 'running' : undefined);
  const legacy = { graphId: payload.typeId, graphName: data.graphName ?? null, status: status ?? null } as Doc;
  return [{ exchange: 'on.events', routingKey: `graph.${payload.action}.${String(payload.typeId)}`, payload: legacy }, event];
}

/** The `mq` channel of one hub. */
export class MqService {
  /** The exchanges open to `mq`. */
  readonly exchanges: readonly string[];
  private readonly allowed: ReadonlySet<string>;
  private readonly historyLimit: number;
  private readonly history: MqEntry[] = [];
  private readonly watches = new Map<HubConnection, Map<string, MqWatch>>();
  /** References per `exchange \0 pattern`, for what is bound upstream. */
  private readonly refs = new Map<string, number>();
  private readonly demandListeners = new Set<(exchange: string, pattern: string, active: boolean) => void>();

  constructor(
    options: MqOptions,
    private readonly maxWatches: number,
    private readonly logger: Logger,
  ) {
    this.exchanges = [...(options.exchanges ?? DEFAULTS.mqExchanges)];
    this.allowed = new Set(this.exchanges);
    this.historyLimit = options.historyLimit ?? DEFAULTS.historyLimit;
  }

  /** The SDK dialect: answers one client message on the `mq` channel (already authorized with channel `mq`). */
  handle(conn: HubConnection, handler: string, params: Params, resource: string, request: ErrorRequest): void {
    if (handler === 'watch' || handler === 'stop') {
      const refusal = handler === 'watch' ? this.watch(conn, params, resource, renderSdk, true) : this.stop(conn, params);
      if (refusal) sendError(conn, refusal.code, refusal.message, request, resource);
      return;
    }
    sendError(
      conn,
      'not-supported',
      `${handler} on "${resource}": mq is a live stream; use watch {exchange, routingKey} and stop`,
      request,
      resource,
    );
  }

  /**
   * Adds a watch (idempotent per canonical params); with `list`, answers the recent matching messages first.
   * @returns why it was refused, or undefined.
   */
  watch(conn: HubConnection, params: Params, resource: string, render: MqRender, list: boolean): MqRefusal | undefined {
    const checked = checkMqParams(params, this.allowed);
    if ('code' in checked) return checked;
    const key = canonicalJson(params);
    let mine = this.watches.get(conn);
    if (!mine?.has(key)) {
      if (conn.watchCount >= this.maxWatches)
        return { code: 'too-many-watches', message: `a connection may hold at most ${this.maxWatches} watches` };
      if (!mine) {
        mine = new Map();
        this.watches.set(conn, mine);
      }
      const words = checked.pattern.split('.');
      mine.set(key, { exchange: checked.exchange, words, pattern: checked.pattern, resource, render });
      conn.watchCount++;
      this.ref(checked.exchange, checked.pattern, 1);
    }
    if (list) {
      const watch = mine.get(key)!;
      const items = this.history.filter((e) => this.concerns(watch, e)) as unknown as Doc[];
      conn.send(stringifyMessage({ handler: 'list', resource, params, items }));
    }
    return undefined;
  }

  /** Ends the watch with these params, if the connection holds one. Bad params are refused like in `watch`. */
  stop(conn: HubConnection, params: Params): MqRefusal | undefined {
    const checked = checkMqParams(params, this.allowed);
    if ('code' in checked && checked.code === 'bad-params') return checked;
    const key = canonicalJson(params);
    const mine = this.watches.get(conn);
    const watch = mine?.get(key);
    if (!mine || !watch) return undefined;
    mine.delete(key);
    if (mine.size === 0) this.watches.delete(conn);
    conn.watchCount--;
    this.ref(watch.exchange, watch.pattern, -1);
    return undefined;
  }

  /** Ends every `mq` watch of the connection (the 1.x UI's `stop` without params). */
  stopAll(conn: HubConnection): undefined {
    const mine = this.watches.get(conn);
    if (!mine) return undefined;
    conn.watchCount -= mine.size;
    this.dropConnection(conn);
    return undefined;
  }

  /** A connection ended: its watches go, and with the last watcher of a binding, the binding. */
  dropConnection(conn: HubConnection): void {
    const mine = this.watches.get(conn);
    if (!mine) return;
    this.watches.delete(conn);
    for (const w of mine.values()) this.ref(w.exchange, w.pattern, -1);
  }

  /** A message arrived on an exchange: kept for later lists, sent to every watch it matches. */
  publish(message: MqMessage): void {
    if (!this.allowed.has(message.exchange)) return;
    const entry: MqEntry = {
      id: contentId({ exchange: message.exchange, routingKey: message.routingKey, payload: message.payload }),
      ...message,
    };
    this.history.push(entry);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    const key = message.routingKey.split('.');
    for (const [conn, mine] of this.watches) {
      let sent = false;
      for (const w of mine.values()) {
        // One frame per connection and message, however many of its watches match (as for record channels).
        if (sent || w.exchange !== message.exchange || !topicMatches(w.words, key)) continue;
        sent = true;
        try {
          conn.send(w.render(entry, w.resource));
        } catch (err) {
          this.logger.error('mq frame failed', { err, exchange: message.exchange });
        }
      }
    }
  }

  /** Registers a listener told when an `(exchange, pattern)` gets its first watcher and loses its last. */
  onDemand(listener: (exchange: string, pattern: string, active: boolean) => void): () => void {
    this.demandListeners.add(listener);
    return () => this.demandListeners.delete(listener);
  }

  /** Every `(exchange, pattern)` watched right now. */
  demand(): Array<{ exchange: string; pattern: string }> {
    return [...this.refs.keys()].map((k) => {
      const [exchange = '', pattern = ''] = k.split('\u0000');
      return { exchange, pattern };
    });
  }

  private concerns(w: MqWatch, e: MqMessage): boolean {
    return w.exchange === e.exchange && topicMatches(w.words, e.routingKey.split('.'));
  }

  private ref(exchange: string, pattern: string, delta: 1 | -1): void {
    const key = `${exchange}\u0000${pattern}`;
    const n = (this.refs.get(key) ?? 0) + delta;
    if (n > 0) this.refs.set(key, n);
    else this.refs.delete(key);
    if ((delta === 1 && n === 1) || (delta === -1 && n === 0)) {
      for (const listener of this.demandListeners) {
        try {
          listener(exchange, pattern, delta === 1);
        } catch (err) {
          this.logger.error('mq demand listener threw', { err, exchange, pattern });
        }
      }
    }
  }
}
