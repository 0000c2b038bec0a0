/**
 * One named RabbitMQ connection per server instance, with one channel and one exclusive auto-delete queue, and
 * the set of bindings that queue should have. It keeps that state true across broker restarts: when the
 * connection drops it reconnects with backoff, redeclares the queue and binds everything again, then reports
 * the bindings as new so whoever owns them can re-snapshot what may have been missed.
 *
 * Messages are handled one at a time, in delivery order, and acknowledged after their handler settles, whatever
 * it did: a message that cannot be handled is the handler's to log, never a reason to redeliver it forever.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { backoffDelay, type BackoffPolicy } from '../../protocol/backoff.js';
import { DEFAULTS } from '../../protocol/codes.js';
import { GLOBAL_TIMERS, type Timers } from '../../protocol/timers.js';
import { silentLogger, type Logger } from '../hub/logger.js';
import { loadOptional } from '../hub/optional-packages.js';
import { UnplaceableLog } from './unplaceable.js';

type Amqplib = typeof import('amqplib');
/** amqplib, once `loadAmqplib` has loaded it (as `loadMongoDriver` keeps the driver). */
let loaded: Amqplib | undefined;

/**
 * Loads amqplib (once): an optional package, absent from a browser app's install. `AmqpLink.start` and
 * `createServer({amqp})` call it before anything connects.
 * @throws MissingPackageError naming `npm install amqplib@…` when it is not installed.
 */
export async function loadAmqplib(): Promise<Amqplib> {
  loaded ??= await loadOptional('amqplib', () => import('amqplib'));
  return loaded;
}

/**
 * Reconnect delays, the shared `backoffDelay` policy: missing fields take `DEFAULTS.amqpBackoff`
 * (`{baseMs: 500, maxMs: 10000, factor: 2, jitter: 0.5}`: `min(maxMs, baseMs * 2 ** attempt)`, each delay
 * randomised into the upper half of that).
 */
export type ReconnectOptions = Partial<BackoffPolicy>;

/** Options of `AmqpLink`. */
export interface AmqpLinkOptions {
  /** `amqp://user:pass@host:port/vhost`. */
  url: string;
  /** Shown by the broker (`rabbitmqctl list_connections name`), so an operator can find exactly this instance. */
  connectionName: string;
  /** The instance's queue (exclusive, auto-delete: the broker removes it when the connection ends). */
  queue: string;
  /**
   * Reconnect delays after the broker was lost, over `DEFAULTS.amqpBackoff`.
   * @default `DEFAULTS.amqpBackoff`: `{baseMs: 500, maxMs: 10000, factor: 2, jitter: 0.5}`
   */
  reconnect?: ReconnectOptions;
  /**
   * Timers of the reconnect delay (injected by tests).
   * @default the global `setTimeout`/`clearTimeout` (`GLOBAL_TIMERS`)
   */
  timers?: Timers;
  /**
   * Randomness of the reconnect delay, a number in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /**
   * Unacknowledged messages the broker may push ahead of the handler.
   * @default 256 (`DEFAULTS.amqpPrefetch`)
   */
  prefetch?: number;
  /** @default silent */
  logger?: Logger;
}

/**
 * A handler of one exchange's messages; the message is acknowledged when the returned promise settles. `offset`: the
 * message came from the shared RabbitMQ stream (`amqp-stream.ts`), at that offset; undefined from the instance's queue.
 */
export type MessageHandler = (routingKey: string, content: Buffer, offset?: number) => void | Promise<void>;

/**
 * Something more a connection sets up once it is made (the stream consumer, `amqp-stream.ts`): run after the queue
 * is consumed and before the link is up; a setup that throws fails the attempt, which is retried.
 */
export type SessionSetup = (conn: ChannelModel) => Promise<void>;

interface Declared {
  readonly type: 'topic' | 'fanout';
  readonly handler: MessageHandler;
}

interface BindingKey {
  readonly exchange: string;
  readonly pattern: string;
}

/** What belongs to one live connection; replaced wholesale on reconnect so stale callbacks cannot touch the next. */
interface Session {
  readonly conn: ChannelModel;
  readonly ch: Channel;
  readonly bound: Set<string>;
}

/** Link state, for logs and tests. */
export type LinkState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

const keyOf = (exchange: string, pattern: string) => `${exchange}\u0000${pattern}`;

/** The instance's RabbitMQ connection, queue and bindings. */
export class AmqpLink {
  state: LinkState = 'idle';
  /** Counters for tests and operators. */
  readonly stats = { connects: 0, received: 0, acked: 0, unexpected: 0 };
  private readonly exchanges = new Map<string, Declared>();
  /** Wanted bindings with a reference count each (two channels may want the same one). */
  private readonly desired = new Map<string, { binding: BindingKey; refs: number }>();
  private readonly boundListeners = new Set<(bindings: BindingKey[]) => void>();
  private readonly upListeners = new Set<() => void>();
  private readonly setups: SessionSetup[] = [];
  private readonly logger: Logger;
  /** Messages from exchanges nobody declared: counted, logged once per exchange per minute. */
  private readonly unplaceable: UnplaceableLog;
  private session: Session | undefined;
  /** amqplib, loaded by `start`. */
  private amqplib: Amqplib | undefined;
  private attempt = 0;
  private readonly timers: Timers;
  private timer: unknown;
  /** Bind/unbind operations, one at a time. */
  private ops: Promise<void> = Promise.resolve();
  /** Message handling, one at a time, in delivery order. */
  private handling: Promise<void> = Promise.resolve();

  constructor(private readonly options: AmqpLinkOptions) {
    this.logger = options.logger ?? silentLogger;
    this.unplaceable = new UnplaceableLog({ logger: this.logger });
    this.timers = options.timers ?? GLOBAL_TIMERS;
  }

  /** Declares an exchange (before `start`) and the handler of the messages that reach the queue through it. */
  declare(exchange: string, type: 'topic' | 'fanout', handler: MessageHandler): void {
    this.exchanges.set(exchange, { type, handler });
  }

  /** Adds a step to every connection's setup (before `start`). */
  addSetup(setup: SessionSetup): void {
    this.setups.push(setup);
  }

  /** The handler of a declared exchange's messages, if any. */
  handlerOf(exchange: string): MessageHandler | undefined {
    return this.exchanges.get(exchange)?.handler;
  }

  /**
   * Runs `task` after every message handled so far and before the next, so that messages from another consumer (the
   * stream) are handled one at a time with the queue's. A task that throws is logged.
   */
  enqueue(task: () => void | Promise<void>): void {
    this.handling = this.handling.then(task).catch((err: unknown) => this.logger.error('amqp message handling failed', { err }));
  }

  /** Wants a binding (reference-counted); bound as soon as the link is up. */
  bind(exchange: string, pattern: string): void {
    const key = keyOf(exchange, pattern);
    const entry = this.desired.get(key);
    if (entry) {
      entry.refs++;
      return;
    }
    this.desired.set(key, { binding: { exchange, pattern }, refs: 1 });
    void this.reconcile();
  }

  /** Releases one reference to a binding; the last release unbinds it. */
  unbind(exchange: string, pattern: string): void {
    const key = keyOf(exchange, pattern);
    const entry = this.desired.get(key);
    if (!entry) return;
    if (--entry.refs > 0) return;
    this.desired.delete(key);
    void this.reconcile();
  }

  /** Resolves once every bind/unbind requested so far reached the broker (or failed with the connection). */
  settled(): Promise<void> {
    return this.ops;
  }

  /** Registers a listener for bindings that just became active (first bind, or rebind after a reconnect). */
  onBound(listener: (bindings: BindingKey[]) => void): () => void {
    this.boundListeners.add(listener);
    return () => this.boundListeners.delete(listener);
  }

  /** Registers a listener called every time the link is (re)connected and bound. */
  onUp(listener: () => void): () => void {
    this.upListeners.add(listener);
    return () => this.upListeners.delete(listener);
  }

  /**
   * Connects for the first time. Resolves when the link is up, or after the first attempt failed; in that case it
   * keeps retrying in the background (the broker may simply start later than this server).
   * @throws MissingPackageError when the `amqplib` package is not installed (nothing is retried then).
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.amqplib ??= await loadAmqplib();
    if (this.state !== 'idle') return;
    await this.connect();
  }

  /** Resolves when the link is up (at once if it is). */
  whenUp(): Promise<void> {
    if (this.state === 'up') return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onUp(() => {
        off();
        resolve();
      });
    });
  }

  /** Publishes when up; returns false when the message could not be handed to the broker. */
  publish(exchange: string, routingKey: string, content: Buffer): boolean {
    const s = this.session;
    if (!s || this.state !== 'up') return false;
    try {
      s.ch.publish(exchange, routingKey, content, { contentType: 'application/json' });
      return true;
    } catch (err) {
      this.logger.warn('amqp publish failed', { err, exchange });
      return false;
    }
  }

  /** Closes the connection for good; the broker deletes the queue. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimer();
    const s = this.session;
    this.session = undefined;
    await this.handling;
    if (s) await s.conn.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const amqplib = this.amqplib;
    if (this.state === 'closed' || amqplib === undefined) return;
    this.state = 'connecting';
    let conn: ChannelModel | undefined;
    try {
      conn = await amqplib.connect(this.options.url, {
        clientProperties: { connection_name: this.options.connectionName },
        timeout: DEFAULTS.amqpConnectTimeoutMs,
      });
      const c = conn;
      c.on('error', (err: Error) => this.logger.warn('amqp connection error', { err }));
      c.on('close', () => this.lost(c));
      for (const [name, { type }] of this.exchanges) await this.ensureExchange(c, name, type);
      const ch = await c.createChannel();
      ch.on('error', (err: Error) => this.logger.warn('amqp channel error', { err }));
      // The channel is the link: if the broker closes it (a failed bind, say), start over on a new connection.
      ch.on('close', () => void c.close().catch(() => undefined));
      await ch.assertQueue(this.options.queue, { exclusive: true, autoDelete: true, durable: false });
      await ch.prefetch(this.options.prefetch ?? DEFAULTS.amqpPrefetch);
      const session: Session = { conn: c, ch, bound: new Set() };
      await ch.consume(this.options.queue, (msg) => this.deliver(session, msg), { noAck: false });
      for (const setup of this.setups) await setup(c);
      if (this.state !== 'connecting') {
        // Closed while connecting.
        await c.close().catch(() => undefined);
        return;
      }
      this.session = session;
      this.state = 'up';
      this.stats.connects++;
      this.attempt = 0;
      this.logger.info('amqp connected', { connection: this.options.connectionName, queue: this.options.queue });
      await this.reconcile();
      for (const listener of this.upListeners) listener();
    } catch (err) {
      this.logger.warn('amqp connect failed', { err, attempt: this.attempt });
      if (conn) await conn.close().catch(() => undefined);
      if (this.state === 'connecting') this.retry();
    }
  }

  private lost(conn: ChannelModel): void {
    if (this.session?.conn !== conn) return;
    this.session = undefined;
    if (this.state === 'closed') return;
    this.state = 'down';
    this.logger.warn('amqp connection lost; reconnecting');
    this.retry();
  }

  private retry(): void {
    if (this.state === 'closed') return;
    this.state = 'down';
    const policy = { ...DEFAULTS.amqpBackoff, ...this.options.reconnect };
    const delay = backoffDelay(this.attempt, policy, this.options.random);
    this.attempt++;
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Makes sure an exchange exists without redeclaring one that does (RackHD declares its own; a declare with
   * other properties would be refused and close the channel). Each check runs on a throwaway channel because a
   * failed check closes the channel it ran on.
   */
  private async ensureExchange(conn: ChannelModel, name: string, type: 'topic' | 'fanout'): Promise<void> {
    const probe = await conn.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkExchange(name);
      await probe.close();
      return;
    } catch {
      // 404: it does not exist yet; the probe channel is closed by the broker.
    }
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(name, type, { durable: true, autoDelete: false });
    await ch.close();
  }

  private deliver(session: Session, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted): the session is useless, start over.
      void session.conn.close().catch(() => undefined);
      return;
    }
    this.stats.received++;
    const declared = this.exchanges.get(msg.fields.exchange);
    if (!declared) {
      // Sent straight to the queue (default exchange) or through a binding someone else added: not ours to read.
      this.stats.unexpected++;
      this.unplaceable.note('warn', `unexpected:${msg.fields.exchange}`, 'broker message from an unexpected exchange dropped', {
        exchange: msg.fields.exchange,
        routingKey: msg.fields.routingKey,
      });
    }
    this.handling = this.handling
      .then(() => declared?.handler(msg.fields.routingKey, msg.content))
      .catch((err: unknown) => this.logger.error('amqp message handler failed', { err, exchange: msg.fields.exchange }))
      .then(() => {
        try {
          session.ch.ack(msg);
          this.stats.acked++;
        } catch {
          // The channel is gone; the broker requeues nothing (the queue dies with the connection).
        }
      });
  }

  private reconcile(): Promise<void> {
    this.ops = this.ops.then(() => this.reconcileNow()).catch((err: unknown) => this.logger.warn('amqp binding failed', { err }));
    return this.ops;
  }

  private async reconcileNow(): Promise<void> {
    const s = this.session;
    if (!s || this.state !== 'up') return;
    const added: BindingKey[] = [];
    for (const [key, { binding }] of this.desired) {
      if (s.bound.has(key)) continue;
      await s.ch.bindQueue(this.options.queue, binding.exchange, binding.pattern);
      s.bound.add(key);
      added.push(binding);
    }
    for (const key of [...s.bound]) {
      if (this.desired.has(key)) continue;
      const [exchange = '', pattern = ''] = key.split('\u0000');
      await s.ch.unbindQueue(this.options.queue, exchange, pattern);
      s.bound.delete(key);
    }
    if (added.length > 0) {
      for (const listener of this.boundListeners) {
        try {
          listener(added);
        } catch (err) {
          this.logger.error('amqp bound listener threw', { err });
        }
      }
    }
  }
}
