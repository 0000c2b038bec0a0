/**
 * The RabbitMQ change feed: RackHD's `on.waterline`, `on.events` and `on.logging` messages become `Change`s.
 * Bindings follow demand — a channel's bindings exist while it has a watcher — except for channels whose
 * records live in this instance's memory (`retained`), which must see every change, watched or not, or their
 * snapshots would go stale. After any binding becomes active (first watcher, or rebinding after the broker came
 * back) the feed asks for a re-snapshot of its channels: whatever changed before the binding existed is then in
 * the snapshot, and whatever changes after it arrives here.
 */
import type { Doc } from '../../protocol/index.js';
import type { AmqpLink } from './amqp-link.js';
import type { ChannelRegistry } from '../hub/channels.js';
import type { Hub } from '../hub/hub.js';
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
   * Reads a record by id. A graph event carries a workflow's new `_status` but not the workflow, so the feed reads
   * it and publishes it with that status. Without a lookup, graph events only reach the `events` channel.
   */
  lookup?: (channel: string, id: string) => Promise<Doc | undefined> | Doc | undefined;
  /** @default silent */
  logger?: Logger;
}

/** Counters of handled messages (tests, operators). */
export interface AmqpFeedStats {
  changes: number;
  ignored: number;
  malformed: number;
}

/** RackHD's RabbitMQ messages as a change feed. */
export class AmqpFeed implements ChangeFeed {
  readonly stats: AmqpFeedStats = { changes: 0, ignored: 0, malformed: 0 };
  private readonly link: AmqpLink;
  private readonly registry: ChannelRegistry;
  private readonly prefix: string;
  private readonly retained: ReadonlySet<string>;
  private readonly lookup: AmqpFeedOptions['lookup'];
  private readonly logger: Logger;
  /** Channels whose bindings are wanted: retained ones and watched ones. */
  private readonly active = new Set<string>();
  private readonly listeners = new Set<(change: Change) => void>();
  private readonly resyncListeners = new Set<(channels: string[]) => void>();

  constructor(options: AmqpFeedOptions) {
    this.link = options.link;
    this.registry = options.registry;
    this.prefix = options.exchangePrefix ?? '';
    this.lookup = options.lookup;
    this.logger = options.logger ?? silentLogger;
    for (const exchange of Object.keys(RACKHD_EXCHANGES) as RackhdExchange[]) {
      this.link.declare(this.exchangeName(exchange), 'topic', (key, content) => this.handle(exchange, key, content));
    }
    this.link.onBound((bindings) => this.bound(bindings));
    this.retained = new Set((options.retained ?? []).map((c) => this.registry.get(c)?.name ?? c));
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

  /** Registers a listener for channels whose watches should be re-snapshotted (changes may have been missed). */
  onResync(listener: (channels: string[]) => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** A channel got its first watcher (`true`) or lost its last (`false`). Retained channels stay bound. */
  setActive(channel: string, active: boolean): void {
    const name = this.registry.get(channel)?.name;
    if (!name || this.retained.has(name)) return;
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
    return () => {
      offActivity();
      offResync();
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

  /** Handles one message; never throws (the link acknowledges it either way). */
  private async handle(exchange: RackhdExchange, routingKey: string, content: Buffer): Promise<void> {
    let msg: RackhdMessage;
    try {
      msg = parseRackhdMessage(exchange, routingKey, content.toString('utf8'), this.registry);
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      this.stats.malformed++;
      this.logger.warn('malformed broker message dropped', {
        exchange: this.exchangeName(exchange),
        routingKey,
        reason: err.message,
        bytes: content.length,
      });
      return;
    }
    switch (msg.kind) {
      case 'ignored':
        this.stats.ignored++;
        this.logger.debug('broker message ignored', { exchange: this.exchangeName(exchange), routingKey, reason: msg.reason });
        return;
      case 'waterline':
        // A message can arrive for a channel nobody watches any more (it was queued before the unbind).
        if (!this.active.has(msg.channel)) return;
        this.emit({ channel: msg.channel, id: msg.id, data: msg.event === 'destroyed' ? null : msg.record });
        return;
      case 'log':
        if (this.active.has('logs')) this.emit({ channel: 'logs', id: msg.entry.id as string, data: msg.entry, prev: null });
        return;
      case 'event':
        if (this.active.has('events')) this.emit({ channel: 'events', id: msg.entry.id as string, data: msg.entry, prev: null });
        if (msg.graphStatus && this.active.has('workflows')) await this.graphStatus(msg.graphStatus.instanceId, msg.graphStatus.status);
        return;
    }
  }

  private async graphStatus(instanceId: string, status: string): Promise<void> {
    if (!this.lookup) return;
    let record: Doc | undefined;
    try {
      record = await this.lookup('workflows', instanceId);
    } catch (err) {
      this.logger.warn('graph event: workflow lookup failed', { err, instanceId });
      return;
    }
    if (!record) {
      this.logger.debug('graph event for an unknown workflow', { instanceId });
      return;
    }
    if (record._status === status) return;
    this.emit({ channel: 'workflows', id: instanceId, data: { ...record, _status: status } });
  }
}
