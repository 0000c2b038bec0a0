/**
 * The history that outlives an instance (docs/architecture.md "Positions and resume"): one RabbitMQ *stream* queue,
 * declared once and shared by every instance, bound to the RackHD exchanges and keys of every resumable channel.
 * Each instance reads it at its own pace through its own connection (`AmqpLink`), so the offsets of the changes —
 * the positions clients hold — are the same on every instance: a client that fails over, or comes back after a
 * restart, resumes wherever it lands.
 *
 * - Epochs are *markers*: small messages an instance publishes straight into the stream (default exchange, header
 *   `x-monorail-ws: marker`, a random epoch in the body) when it attaches, and whenever the stream has gone
 *   `markerIntervalMs` without one. Every instance reads the same markers at the same offsets, so they agree on
 *   which epoch governs an offset (`Timeline.epochAt`); a stream deleted and declared again has none of its
 *   predecessor's, so no old position passes. (A declare-time argument cannot carry it: RabbitMQ ignores arguments
 *   it does not know, and AMQP 0.9.1 cannot read a queue's arguments back.)
 * - An instance that starts reads the last `readBackMs` of the stream (`x-stream-offset` as a timestamp) into its
 *   histories before it listens: its attach marker is its barrier, read once it has caught up. After a lost
 *   connection it attaches again at the last offset it handled and checks that the message there is the one it
 *   handled (a digest): same stream, it goes on from there; not (the stream was deleted, or trimmed past it), it
 *   starts over from the stream's first message (`Timeline.reset`). Either way the histories are cut where it
 *   reattached, and watches are re-snapshotted: RackHD's writes while the broker was away were never published.
 * - `tail()` publishes a barrier (`x-monorail-ws: sync`) and resolves with its offset once read: the stream's end,
 *   which tells a position merely not reached yet from one beyond the stream.
 * Positions advance only once a message is handled in full (`Timeline.advance`), so a snapshot read that starts
 * while one is still being handled (a record looked up, say) replays its change after the snapshot.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { DEFAULTS } from '../../protocol/codes.js';
import type { Timers } from '../../protocol/timers.js';
import { randomId } from '../hub/ids.js';
import { silentLogger, type Logger } from '../hub/logger.js';
import type { Timeline } from '../hub/positions.js';
import { GLOBAL_TIMERS } from '../hub/timers.js';
import type { AmqpLink } from './amqp-link.js';

/** The stream's settings (`createServer({amqp: {stream}})`; the CLI's `--stream-*` flags); fields left out take `DEFAULTS.stream`. */
export interface StreamOptions {
  /**
   * The stream queue's name; the exchange prefix goes before it.
   * @default DEFAULTS.stream.name ('monorail-ws.changes')
   */
  name?: string;
  /**
   * Retention by age, the stream's `x-max-age` (`Y`, `M`, `D`, `h`, `m`, `s` units: `'1h'`, `'7D'`).
   * @default DEFAULTS.stream.maxAge ('1h')
   */
  maxAge?: string;
  /**
   * Retention by size, the stream's `x-max-length-bytes`.
   * @default DEFAULTS.stream.maxLengthBytes (256 MiB)
   */
  maxLengthBytes?: number;
  /**
   * The stream's segment size, `x-stream-max-segment-size-bytes`: the broker drops whole segments, so retention is
   * only as fine as this.
   * @default DEFAULTS.stream.maxSegmentSizeBytes (8 MiB)
   */
  maxSegmentSizeBytes?: number;
  /**
   * How much of the stream an instance reads into its histories when it starts, in ms back from now.
   * @default DEFAULTS.stream.readBackMs (300,000)
   */
  readBackMs?: number;
  /**
   * The longest the stream goes without an epoch marker while an instance runs.
   * @default DEFAULTS.stream.markerIntervalMs (60,000)
   */
  markerIntervalMs?: number;
  /**
   * Unacknowledged stream messages the broker may push ahead of the handler (a stream consumer needs one).
   * @default DEFAULTS.amqpPrefetch (256)
   */
  prefetch?: number;
}

/** Options of `AmqpStream`. */
export interface AmqpStreamOptions extends StreamOptions {
  /** The instance's link: the stream is consumed on its connection, and its messages handled in its order. */
  link: AmqpLink;
  /** The hub's external timeline, which this drives. */
  timeline: Timeline;
  /** The stream's bindings: RackHD exchanges (full names) and routing-key patterns. */
  bindings: ReadonlyArray<{ readonly exchange: string; readonly pattern: string }>;
  /** Prefixed to the stream's name. @default '' */
  exchangePrefix?: string;
  /**
   * Called after the stream was attached again following a lost connection (or started over): what RackHD wrote
   * meanwhile may never have been published, so the server cuts the histories and re-snapshots watches.
   */
  onGap?: () => void;
  /** How long an attach waits to read its own marker before it goes on without it. @default 10,000 */
  attachTimeoutMs?: number;
  /** @default the global timers, unreferenced (a pending marker never keeps a process alive) */
  timers?: Timers;
  /** @default Date.now */
  now?: () => number;
  /** @default silent */
  logger?: Logger;
}

/** The header that tells monorail-ws's own messages in the stream (markers, barriers) from RackHD's. */
export const STREAM_HEADER = 'x-monorail-ws';

/** A digest of a message, to tell after a reconnect whether the message at an offset is the one handled. */
function digest(msg: ConsumeMessage): string {
  let h = 0x811c9dc5;
  const text = `${msg.fields.exchange}\u0000${msg.fields.routingKey}\u0000`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  const c = msg.content;
  for (let i = 0; i < c.length; i++) h = Math.imul(h ^ c[i]!, 0x01000193);
  return `${c.length}:${(h >>> 0).toString(36)}`;
}

/** The stream, one per instance. */
export class AmqpStream {
  /** The stream queue's name (with the prefix). */
  readonly name: string;
  /** Counters for tests and operators. */
  readonly stats = { attaches: 0, messages: 0, markers: 0, markersPublished: 0, resets: 0 };
  private readonly o: AmqpStreamOptions;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly logger: Logger;
  private ch: Channel | undefined;
  private conn: ChannelModel | undefined;
  /**
   * The last message handled: where a reattach starts, and what must be found there. The message itself is kept (one
   * at a time) and digested only when a reattach checks it, rather than every message digested as it is handled.
   */
  private last: { offset: number; msg: ConsumeMessage } | undefined;
  /** Set after a reattach until its first message shows whether it is the same stream. */
  private verifying = false;
  /** The stream's consumer was cancelled (the stream deleted): the next attach starts over. */
  private lost = false;
  /** Barriers waiting to be read, by nonce. */
  private readonly barriers = new Map<string, (offset: number) => void>();
  private lastMarkerAt = 0;
  private markerTimer: unknown;
  private tailing: Promise<number> | undefined;
  private closed = false;

  constructor(options: AmqpStreamOptions) {
    this.o = options;
    this.name = `${options.exchangePrefix ?? ''}${options.name ?? DEFAULTS.stream.name}`;
    this.timers = options.timers ?? GLOBAL_TIMERS;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    options.link.addSetup((conn) => this.attach(conn));
    options.timeline.tail = () => this.tail();
  }

  /** Stops the marker timer and forgets barriers (the server closes; the link closes the channel). */
  close(): void {
    this.closed = true;
    if (this.markerTimer !== undefined) this.timers.clearTimeout(this.markerTimer);
    this.markerTimer = undefined;
    this.barriers.clear();
  }

  /**
   * The stream's last offset: a barrier published now and read back. Several callers at once share one barrier.
   * @throws when the link is down or the barrier is not read within the attach timeout.
   */
  tail(): Promise<number> {
    this.tailing ??= this.barrier('sync').finally(() => (this.tailing = undefined));
    return this.tailing;
  }

  /** Declares, binds and consumes the stream on a new connection, and waits until it has caught up (a setup step). */
  private async attach(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    ch.on('error', (err: Error) => this.logger.warn('amqp stream channel error', { err, stream: this.name }));
    // Without its stream channel the link would go on, reading nothing: start over on a new connection instead.
    ch.on('close', () => {
      if (this.ch === ch && !this.closed) void conn.close().catch(() => undefined);
    });
    await this.declare(conn, ch);
    for (const b of this.o.bindings) await ch.bindQueue(this.name, b.exchange, b.pattern);
    await ch.prefetch(this.o.prefetch ?? DEFAULTS.amqpPrefetch);
    const { timeline } = this.o;
    const reattach = this.last !== undefined && !this.lost;
    let start: unknown;
    if (this.lost) {
      // Another stream than the one read before (deleted and declared again), or trimmed past where this instance
      // was: everything known of it goes, and what the stream holds now is read from its start — all of it unread.
      timeline.reset();
      this.stats.resets++;
      this.last = undefined;
      start = 'first';
    } else if (reattach) start = this.last!.offset;
    else start = { '!': 'timestamp', value: Math.floor((this.now() - (this.o.readBackMs ?? DEFAULTS.stream.readBackMs)) / 1000) };
    const gap = this.stats.attaches > 0;
    this.lost = false;
    this.verifying = reattach;
    this.ch = ch;
    this.conn = conn;
    this.stats.attaches++;
    await ch.consume(this.name, (msg) => this.receive(conn, ch, msg), { noAck: false, arguments: { 'x-stream-offset': start } });
    try {
      await this.barrier('marker');
    } catch (err) {
      if (this.verifying) {
        // Nothing at the offset it handled last: a new, shorter stream. Start over on a new connection.
        this.lost = true;
        throw new Error(`stream ${this.name}: nothing read from offset ${this.last!.offset} on reattaching; starting over`);
      }
      this.logger.warn('amqp stream: not caught up within the attach timeout; going on', { err, stream: this.name });
    }
    this.scheduleMarker();
    this.logger.info('amqp stream attached', { stream: this.name, head: timeline.head, markers: timeline.markerCount });
    if (gap) this.o.onGap?.();
  }

  /** Declares the stream with its retention; one that exists with other arguments is used as it is (and said so). */
  private async declare(conn: ChannelModel, ch: Channel): Promise<void> {
    const long = (value: number) => ({ '!': 'long', value });
    const args = {
      'x-queue-type': 'stream',
      'x-max-age': this.o.maxAge ?? DEFAULTS.stream.maxAge,
      'x-max-length-bytes': long(this.o.maxLengthBytes ?? DEFAULTS.stream.maxLengthBytes),
      'x-stream-max-segment-size-bytes': long(this.o.maxSegmentSizeBytes ?? DEFAULTS.stream.maxSegmentSizeBytes),
    };
    const probe = await conn.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.assertQueue(this.name, { durable: true, arguments: args });
      await probe.close();
    } catch (err) {
      // 406: declared before with other retention (another instance's options, or an operator's). A stream's
      // retention cannot be changed by declaring it again; it is an operator's call (a policy, or delete it).
      this.logger.warn('amqp stream exists with other arguments; using it as it is', { stream: this.name, err: String(err) });
      await ch.checkQueue(this.name);
    }
  }

  /** A stream message: handled in the link's order, then acknowledged and the timeline advanced. */
  private receive(conn: ChannelModel, ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // Cancelled by the broker: the stream was deleted. Start over on a new connection.
      this.lost = true;
      void conn.close().catch(() => undefined);
      return;
    }
    this.o.link.enqueue(() => this.handle(ch, msg));
  }

  private async handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    if (ch !== this.ch) return;
    const offset = Number(msg.properties.headers?.['x-stream-offset']);
    try {
      if (this.verifying) {
        this.verifying = false;
        const last = this.last!;
        // Digested only here, on the first message after a reattach, not for every message handled.
        if (offset === last.offset && digest(msg) === digest(last.msg)) return; // handled before the connection was lost
        this.logger.warn('amqp stream: not the message handled at the last offset; reading it again from its start', {
          stream: this.name,
          expected: last.offset,
          got: offset,
        });
        this.lost = true;
        this.ch = undefined;
        void this.conn?.close().catch(() => undefined);
        return;
      }
      this.stats.messages++;
      const kind = msg.fields.exchange === '' ? msg.properties.headers?.[STREAM_HEADER] : undefined;
      if (kind !== undefined) this.control(String(kind), offset, msg);
      else await this.o.link.handlerOf(msg.fields.exchange)?.(msg.fields.routingKey, msg.content, offset);
    } finally {
      if (ch === this.ch) {
        this.last = { offset, msg };
        this.o.timeline.advance(offset);
        try {
          ch.ack(msg);
        } catch {
          // The channel is gone; the next attach starts at `last`.
        }
      }
    }
  }

  /** A marker or a barrier read back. */
  private control(kind: string, offset: number, msg: ConsumeMessage): void {
    let body: { epoch?: unknown; nonce?: unknown } = {};
    try {
      body = JSON.parse(msg.content.toString('utf8')) as typeof body;
    } catch {
      // Not ours after all: nothing to learn from it.
    }
    if (kind === 'marker' && typeof body.epoch === 'string') {
      this.o.timeline.mark(offset, body.epoch);
      this.stats.markers++;
      this.lastMarkerAt = this.now();
    }
    if (typeof body.nonce === 'string') {
      const resolve = this.barriers.get(body.nonce);
      this.barriers.delete(body.nonce);
      // Read before the timeline advances past it; resolved after, so a waiter sees this offset as reached.
      if (resolve) queueMicrotask(() => resolve(offset));
    }
  }

  /** Publishes a marker (a new epoch) or a sync barrier and resolves with its offset once this instance has read it. */
  private barrier(kind: 'marker' | 'sync'): Promise<number> {
    const ch = this.ch;
    if (!ch || this.closed) return Promise.reject(new Error('the stream is not attached'));
    const nonce = randomId(8);
    const body = kind === 'marker' ? { epoch: randomId(6), nonce } : { nonce };
    return new Promise<number>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.barriers.delete(nonce);
        reject(new Error(`stream ${this.name}: ${kind} not read back within the attach timeout`));
      }, this.o.attachTimeoutMs ?? 10_000);
      this.barriers.set(nonce, (offset) => {
        this.timers.clearTimeout(timer);
        resolve(offset);
      });
      try {
        ch.sendToQueue(this.name, Buffer.from(JSON.stringify(body)), {
          headers: { [STREAM_HEADER]: kind },
          contentType: 'application/json',
        });
        if (kind === 'marker') this.stats.markersPublished++;
      } catch (err) {
        this.timers.clearTimeout(timer);
        this.barriers.delete(nonce);
        reject(err);
      }
    });
  }

  /** Publishes a marker whenever the stream has gone `markerIntervalMs` without one (whoever published it). */
  private scheduleMarker(): void {
    if (this.closed || this.markerTimer !== undefined) return;
    const interval = this.o.markerIntervalMs ?? DEFAULTS.stream.markerIntervalMs;
    if (interval <= 0) return;
    // Jittered, so that instances started together do not all publish one.
    const wait = Math.max(1, this.lastMarkerAt + interval - this.now()) + Math.floor(Math.random() * interval * 0.1);
    this.markerTimer = this.timers.setTimeout(() => {
      this.markerTimer = undefined;
      if (this.now() - this.lastMarkerAt >= interval && this.ch) {
        this.barrier('marker').catch((err: unknown) => this.logger.debug('amqp stream marker not read back', { err }));
      }
      this.scheduleMarker();
    }, wait);
  }
}
