/**
 * The RabbitMQ change feed: RackHD's `on.waterline`, `on.events` and `on.logging` messages become `Change`s.
 * Bindings follow demand — a channel's bindings exist while it has a watcher — except for channels whose
 * records live in this instance's memory (`retained`), which must see every change, watched or not, or their
 * snapshots would go stale. After any binding becomes active (first watcher, or rebinding after the broker came
 * back) the feed asks for a re-snapshot of its channels: whatever changed before the binding existed is then in
 * the snapshot, and whatever changes after it arrives here.
 */
import type { Doc, JsonValue } from '../../protocol/index.js';
import type { AmqpLink } from './amqp-link.js';
import type { ChannelRegistry } from '../hub/channels.js';
import type { Hub } from '../hub/hub.js';
import type { MqMessage } from '../hub/mq.js';
import { silentLogger, type Logger } from '../hub/logger.js';
import {
  channelBindings,
  MalformedMessageError,
  parseRackhdMessage,
  RACKHD_EXCHANGES,
  type Binding,
  type RackhdExchange,
  type RackhdMessage,
} from './rackhd.js';
import type { Change, ChangeFeed } from '../hub/source.js';
import { UnplaceableLog } from './unplaceable.js';

/** Options of `AmqpFeed`. */
export interface AmqpFeedOptions {
  /** The instance's connection and queue. */
  link: AmqpLink;
  /** Channels and their waterline collection names. */
  registry: ChannelRegistry;
  /**
   * Prefixed to every exchange name (tests and parallel deployments on one broker).
   * @default '' (RackHD's own `on.waterline`, `on.events`, `on.logging`)
   */
  exchangePrefix?: string;
  /**
   * Channels bound for the feed's whole life, watched or not: those whose records this instance keeps in memory.
   * @default []
   */
  retained?: readonly string[];
  /**
   * Channels whose changes come from the shared RabbitMQ stream (`amqp-stream.ts`: the resumable ones, with `resume`)
   * rather than from this instance's queue: always followed, watched or not (a client may fail over to this instance
   * with a position), never bound to the queue, and their changes carry the stream's offset. The stream is bound to
   * `streamBindings()`.
   * @default [] (every channel through the queue)
   */
  streamed?: readonly string[];
  /**
   * Reads a record by id. A graph event carries a workflow's new `_status` but not the workflow, and the task-graph
   * store's partial `graphobjects` updates carry only `_status` and `error`, so the feed reads the record and
   * publishes it with those fields merged. Without a lookup, neither reaches the record's channel (they are counted
   * as `unknown`); graph events still reach the `events` channel.
   */
  lookup?: (channel: string, id: string) => Promise<Doc | undefined> | Doc | undefined;
  /**
   * Exchanges the `mq` channel may watch (RackHD's names, before the prefix): their messages go to `onMessage`
   * listeners as they come, and `mq` watches bind them on demand (`attach`).
   * @default [] (no mq)
   */
  mqExchanges?: readonly string[];
  /** @default silent */
  logger?: Logger;
  /**
   * Least time between two log lines about unplaceable messages of one kind.
   * @default DEFAULTS.unplaceableLogIntervalMs (60,000)
   */
  unplaceableLogIntervalMs?: number;
  /**
   * The clock of that throttle (tests inject one).
   * @default Date.now
   */
  now?: () => number;
}

/** Counters of handled messages (tests, operators). */
export interface AmqpFeedStats {
  changes: number;
  ignored: number;
  malformed: number;
  /** Partial records and statuses for a record the server could not find. */
  unknown: number;
}

/** RackHD's RabbitMQ messages as a change feed. */
export class AmqpFeed implements ChangeFeed {
  readonly stats: AmqpFeedStats = { changes: 0, ignored: 0, malformed: 0, unknown: 0 };
  /** Unplaceable messages per kind (`<exchange>:<what>`), logged once per kind per interval. */
  readonly unplaceable: UnplaceableLog;
  private readonly link: AmqpLink;
  private readonly registry: ChannelRegistry;
  private readonly prefix: string;
  private readonly retained: ReadonlySet<string>;
  private readonly streamed: ReadonlySet<string>;
  private readonly lookup: AmqpFeedOptions['lookup'];
  private readonly logger: Logger;
  /** Channels whose bindings are wanted: retained ones and watched ones. */
  private readonly active = new Set<string>();
  private readonly listeners = new Set<(change: Change) => void>();
  private readonly resyncListeners = new Set<(channels: string[]) => void>();
  private readonly messageListeners = new Set<(message: MqMessage) => void>();
  private readonly mqExchanges: ReadonlySet<string>;

  constructor(options: AmqpFeedOptions) {
    this.link = options.link;
    this.registry = options.registry;
    this.prefix = options.exchangePrefix ?? '';
    this.lookup = options.lookup;
    this.logger = options.logger ?? silentLogger;
    this.unplaceable = new UnplaceableLog({ logger: this.logger, intervalMs: options.unplaceableLogIntervalMs, now: options.now });
    this.mqExchanges = new Set(options.mqExchanges ?? []);
    const rackhd = new Set<string>(Object.values(RACKHD_EXCHANGES));
    for (const exchange of Object.keys(RACKHD_EXCHANGES) as RackhdExchange[]) {
      this.link.declare(this.exchangeName(exchange), 'topic', (key, content, offset) => {
        // mq follows what the queue is bound to; the stream's copy of a message is for the streamed channels.
        if (offset === undefined) this.tap(RACKHD_EXCHANGES[exchange], key, content);
        return this.handle(exchange, key, content, offset);
      });
    }
    // Other exchanges opened to mq carry nothing the channels map: their messages only go to mq.
    for (const exchange of this.mqExchanges) {
      if (!rackhd.has(exchange)) this.link.declare(this.prefix + exchange, 'topic', (key, content) => this.tap(exchange, key, content));
    }
    this.link.onBound((bindings) => this.bound(bindings));
    const names = (list: readonly string[] | undefined) => new Set((list ?? []).map((c) => this.registry.get(c)?.name ?? c));
    this.streamed = names(options.streamed);
    for (const channel of this.streamed) this.active.add(channel);
    this.retained = new Set([...names(options.retained)].filter((c) => !this.streamed.has(c)));
    for (const channel of this.retained) this.bindChannel(channel);
  }

  /** The broker's name of one of RackHD's exchanges, with the prefix. */
  exchangeName(exchange: RackhdExchange): string {
    return this.prefix + RACKHD_EXCHANGES[exchange];
  }

  onChange(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers a listener for every message of an `mq` exchange, as it came (`mqExchanges`). */
  onMessage(listener: (message: MqMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** Registers a listener for channels whose watches should be re-snapshotted (changes may have been missed). */
  onResync(listener: (channels: string[]) => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** The bindings of the streamed channels, exchange names with the prefix: what the stream is bound to. */
  streamBindings(): Array<{ exchange: string; pattern: string }> {
    const out = new Map<string, { exchange: string; pattern: string }>();
    for (const channel of this.streamed) {
      for (const b of this.bindingsOf(channel))
        out.set(`${b.exchange}\u0000${b.pattern}`, { exchange: this.exchangeName(b.exchange), pattern: b.pattern });
    }
    return [...out.values()];
  }

  /** A channel got its first watcher (`true`) or lost its last (`false`). Retained and streamed channels stay followed. */
  setActive(channel: string, active: boolean): void {
    const name = this.registry.get(channel)?.name;
    if (!name || this.retained.has(name) || this.streamed.has(name)) return;
    if (active && !this.active.has(name)) this.bindChannel(name);
    else if (!active && this.active.has(name)) {
      this.active.delete(name);
      for (const b of this.bindingsOf(name)) this.link.unbind(this.exchangeName(b.exchange), b.pattern);
    }
  }

  /**
   * Wires the feed to a hub: bindings follow the hub's channel activity, and re-sync requests become
   * `hub.resnapshot`. Changes are not wired here (the server routes them, e.g. into its memory backend).
   * @returns the function that unwires it.
   */
  attach(hub: Hub): () => void {
    const offActivity = hub.onChannelActivity((channel, active) => this.setActive(channel, active));
    const offResync = this.onResync((channels) => {
      for (const channel of channels) hub.resnapshot(channel);
    });
    for (const channel of hub.activeChannels()) this.setActive(channel, true);
    // mq watches bind exactly their (exchange, pattern) while watched; the link counts references, so a pattern
    // a channel binds too (`#` on on.logging for logs) stays bound until both let go.
    const bindMq = (exchange: string, pattern: string, active: boolean) => {
      if (!this.mqExchanges.has(exchange)) return;
      if (active) this.link.bind(this.prefix + exchange, pattern);
      else this.link.unbind(this.prefix + exchange, pattern);
    };
    const offMq = hub.mq.onDemand(bindMq);
    for (const { exchange, pattern } of hub.mq.demand()) bindMq(exchange, pattern, true);
    const offMessages = this.onMessage((message) => hub.mq.publish(message));
    return () => {
      offActivity();
      offResync();
      offMq();
      offMessages();
      for (const { exchange, pattern } of hub.mq.demand()) bindMq(exchange, pattern, false);
    };
  }

  /** Channels whose bindings are currently wanted. */
  activeChannels(): string[] {
    return [...this.active];
  }

  private bindChannel(name: string): void {
    this.active.add(name);
    for (const b of this.bindingsOf(name)) this.link.bind(this.exchangeName(b.exchange), b.pattern);
  }

  private bindingsOf(channel: string): Binding[] {
    const spec = this.registry.get(channel);
    return spec ? channelBindings(spec) : [];
  }

  private bound(bindings: ReadonlyArray<{ exchange: string; pattern: string }>): void {
    const channels: string[] = [];
    for (const channel of this.active) {
      // A streamed channel's bindings are the stream's; the queue's (an mq watch's, say) say nothing about it.
      if (this.streamed.has(channel)) continue;
      const mine = this.bindingsOf(channel);
      if (bindings.some((x) => mine.some((b) => this.exchangeName(b.exchange) === x.exchange && b.pattern === x.pattern))) {
        channels.push(channel);
      }
    }
    if (channels.length === 0) return;
    for (const listener of this.resyncListeners) {
      try {
        listener(channels);
      } catch (err) {
        this.logger.error('resync listener threw', { err });
      }
    }
  }

  private emit(change: Change): void {
    this.stats.changes++;
    for (const listener of this.listeners) listener(change);
  }

  /** Hands a message of an mq exchange to the `onMessage` listeners; a payload that is not JSON goes as text. */
  private tap(exchange: string, routingKey: string, content: Buffer): void {
    if (!this.mqExchanges.has(exchange) || this.messageListeners.size === 0) return;
    const text = content.toString('utf8');
    let payload: JsonValue;
    try {
      payload = JSON.parse(text) as JsonValue;
    } catch {
      payload = text;
    }
    for (const listener of this.messageListeners) listener({ exchange, routingKey, payload });
  }

  /**
   * Whether a message that arrived through the queue (`offset` undefined) or the stream feeds `channel`: the channel
   * is followed, and this is the path its changes take (a message can come both ways: a streamed channel's binding
   * and an mq watch's on the queue).
   */
  private feeds(channel: string, offset: number | undefined): boolean {
    return this.active.has(channel) && this.streamed.has(channel) === (offset !== undefined);
  }

  /** Handles one message; never throws (the link acknowledges it either way). */
  private async handle(exchange: RackhdExchange, routingKey: string, content: Buffer, offset?: number): Promise<void> {
    const where = { exchange: this.exchangeName(exchange), routingKey };
    const at = offset === undefined ? {} : { offset };
    let msg: RackhdMessage;
    try {
      msg = parseRackhdMessage(exchange, routingKey, content.toString('utf8'), this.registry);
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      this.stats.malformed++;
      this.unplaceable.note('warn', `${exchange}:${err.kind}`, 'malformed broker message dropped', {
        ...where,
        reason: err.message,
        bytes: content.length,
      });
      return;
    }
    switch (msg.kind) {
      case 'ignored':
        this.stats.ignored++;
        this.unplaceable.note('debug', `${exchange}:ignored:${msg.key}`, 'broker message ignored', { ...where, reason: msg.reason });
        return;
      case 'waterline':
        // A message can arrive for a channel nobody watches any more (it was queued before the unbind).
        if (!this.feeds(msg.channel, offset)) return;
        if (msg.partial) await this.merge(msg.channel, msg.id, msg.record, where, offset, true);
        // A created record did not exist before (`prev: null`): the 1.x dialect words it `created`, not `updated`.
        else
          this.emit({
            channel: msg.channel,
            id: msg.id,
            data: msg.event === 'destroyed' ? null : msg.record,
            ...(msg.event === 'created' ? { prev: null } : {}),
            ...at,
          });
        return;
      case 'log':
        if (this.feeds('logs', offset)) this.emit({ channel: 'logs', id: msg.entry.id as string, data: msg.entry, prev: null, ...at });
        return;
      case 'event':
        if (this.feeds('events', offset)) this.emit({ channel: 'events', id: msg.entry.id as string, data: msg.entry, prev: null, ...at });
        if (msg.graphStatus && this.feeds('workflows', offset))
          await this.merge('workflows', msg.graphStatus.instanceId, { _status: msg.graphStatus.status }, where, offset);
        return;
      case 'status':
        if (this.feeds('workflows', offset)) await this.merge('workflows', msg.instanceId, { _status: msg.status }, where, offset);
        return;
    }
  }

  /**
   * Merges fields into the record the server knows (read by id from the source: MongoDB, where on-core already
   * wrote them, or this instance's memory) and publishes the whole record. A partial waterline record is always
   * published (MongoDB already holds its fields, so nothing looks changed there); a status only when it changes
   * the record, so on-core's two messages per finished graph (1.x and 2016+) make one change.
   */
  private async merge(
    channel: string,
    id: string,
    fields: Doc,
    where: { exchange: string; routingKey: string },
    offset: number | undefined,
    always = false,
  ): Promise<void> {
    const spec = this.registry.get(channel)!;
    let known: Doc | undefined;
    try {
      known = this.lookup ? await this.lookup(spec.name, id) : undefined;
    } catch (err) {
      this.unplaceable.note('warn', `${spec.name}:lookup-failed`, 'partial update: record lookup failed', { ...where, id, err });
      return;
    }
    if (!known) {
      this.stats.unknown++;
      this.unplaceable.note('debug', `${spec.name}:unknown-record`, 'partial update for a record the server does not know', {
        ...where,
        id,
      });
      return;
    }
    // A partial graphobjects record's `id` is its Mongo `_id`, which the known record already has in its own terms.
    const changed = Object.entries(fields).filter(
      ([k, v]) => (k !== 'id' || spec.idField === 'id') && JSON.stringify(known[k]) !== JSON.stringify(v),
    );
    if (changed.length === 0 && !always) return;
    this.emit({ channel: spec.name, id, data: { ...known, ...Object.fromEntries(changed) }, ...(offset === undefined ? {} : { offset }) });
  }
}
