/**
 * `server.broadcast` across instances: every instance binds its queue to one fanout exchange, publishes what it
 * broadcasts there, and delivers what other instances publish to its own connections. Session ids to skip
 * travel with the message (ids are global); a predicate cannot travel, so it only applies where it was given.
 */
import type { AmqpLink } from './amqp-link.js';
import type { BroadcastSkip, Hub } from '../hub/hub.js';
import { silentLogger, type Logger } from '../hub/logger.js';

/** The fanout exchange's name without the prefix. */
export const BROADCAST_EXCHANGE = 'monorail-ws.broadcast';

/** What travels between instances. */
interface BroadcastEnvelope {
  /** Instance that broadcast it (it already delivered locally and ignores its own copy). */
  origin: string;
  /** The frame, as text. */
  data: string;
  /** Session ids to leave out. */
  skip: string[];
}

/** Options of `Broadcaster`. */
export interface BroadcasterOptions {
  link: AmqpLink;
  hub: Hub;
  /** This instance's id (`origin` of what it publishes). */
  instanceId: string;
  /** @default '' */
  exchangePrefix?: string;
  /** @default silent */
  logger?: Logger;
}

/** Cross-instance broadcast over a fanout exchange. */
export class Broadcaster {
  readonly exchange: string;
  private readonly logger: Logger;

  constructor(private readonly options: BroadcasterOptions) {
    this.exchange = (options.exchangePrefix ?? '') + BROADCAST_EXCHANGE;
    this.logger = options.logger ?? silentLogger;
    options.link.declare(this.exchange, 'fanout', (_key, content) => this.receive(content));
    options.link.bind(this.exchange, '');
  }

  /** Delivers locally (with any skip) and publishes for every other instance (with the ids of `skip`). */
  broadcast(data: unknown, skip?: BroadcastSkip): void {
    const frame = typeof data === 'string' ? data : JSON.stringify(data);
    this.options.hub.broadcast(frame, skip);
    const ids = typeof skip === 'string' ? [skip] : Array.isArray(skip) ? [...(skip as readonly string[])] : [];
    const envelope: BroadcastEnvelope = { origin: this.options.instanceId, data: frame, skip: ids };
    if (!this.options.link.publish(this.exchange, '', Buffer.from(JSON.stringify(envelope)))) {
      this.logger.warn('broadcast reached this instance only: the broker is not connected');
    }
  }

  private receive(content: Buffer): void {
    let envelope: BroadcastEnvelope;
    try {
      envelope = JSON.parse(content.toString('utf8')) as BroadcastEnvelope;
    } catch {
      this.logger.warn('malformed broadcast dropped', { bytes: content.length });
      return;
    }
    if (typeof envelope?.origin !== 'string' || typeof envelope.data !== 'string' || !Array.isArray(envelope.skip)) {
      this.logger.warn('malformed broadcast dropped', { bytes: content.length });
      return;
    }
    if (envelope.origin === this.options.instanceId) return;
    this.options.hub.broadcast(
      envelope.data,
      envelope.skip.filter((s): s is string => typeof s === 'string'),
    );
  }
}
