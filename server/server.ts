/**
 * `createServer`: an HTTP server with a `ws` WebSocketServer in front of the hub, on the embedded memory
 * backend by default. The seed's API: `server.on('connection')`, `server.broadcast(data, skip)`, `server.close()`.
 *
 * `ws`, `mongodb`, `amqplib` and `jose` are optional peer dependencies (a browser app installs none of them), so
 * nothing here imports them, or a module that does, statically: `createServer` loads what its options need first,
 * and a missing package fails the start with the command that installs it (`server/hub/optional-packages.ts`).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULTS, resolveInputBudget, type Doc, type InputBudget } from '../protocol/index.js';
import { AmqpFeed } from './feeds/amqp-feed.js';
import { AmqpLink, loadAmqplib, type ReconnectOptions } from './feeds/amqp-link.js';
import { AmqpStream, type StreamOptions } from './feeds/amqp-stream.js';
import { Broadcaster } from './feeds/broadcast.js';
import { ChannelRegistry, DEFAULT_CHANNELS, type ChannelSpec } from './hub/channels.js';
import type { TransportStats } from './ws/debug-stats.js';
import { demoFixtures } from './demo/fixtures.js';
import { Hub, type Authorize, type BroadcastSkip, type CostLimits, type ResumeOptions } from './hub/hub.js';
import { Timeline } from './hub/positions.js';
import type { HubConnection } from './hub/hub-connection.js';
import { randomId } from './hub/ids.js';
import { silentLogger, type Logger } from './hub/logger.js';
import { mqFromChange, type MqOptions } from './hub/mq.js';
import { MemoryBackend } from './sources/memory.js';
import { loadMongoDriver, MongoSource, type MongoOptions } from './sources/mongo.js';
import { loadAll, loadOptional } from './hub/optional-packages.js';
import type { Change, ChangeFeed, Source } from './hub/source.js';
import { prepareAuthenticate } from './security/auth.js';
import type { TransportOptions } from './ws/options.js';

/** The RabbitMQ settings of `createServer({amqp})` and `--amqp`. */
export interface AmqpOptions {
  /** `amqp://user:pass@host:5672/vhost`. */
  url: string;
  /**
   * Prefixed to every exchange name, so several deployments or test runs share one broker.
   * @default '' (RackHD's own `on.waterline`, `on.events`, `on.logging`)
   */
  exchangePrefix?: string;
  /**
   * Reconnect delays after the broker was lost.
   * @default { baseMs: 500, maxMs: 10000 }
   */
  reconnect?: ReconnectOptions;
  /**
   * Unacknowledged messages the broker may push ahead of the server.
   * @default 256
   */
  prefetch?: number;
  /**
   * With `resume`: the RabbitMQ stream every instance shares, whose offsets are the positions (its name and
   * retention: `StreamOptions`). `false`: no stream; each instance then numbers positions itself, and a client that
   * fails over to another instance gets a full `list`.
   * @default {} (`DEFAULTS.stream`)
   */
  stream?: StreamOptions | false;
}

/** `createServer({resume})`: the history's bounds, the progress interval and the wait (the timeline is the server's). */
export type ServerResumeOptions = Omit<ResumeOptions, 'timeline'>;

/**
 * Options of `createServer`; the security and robustness ones are documented on `TransportOptions`, the bounds on
 * what one connection's requests cost (`maxInValues`, `maxWatchBytes`, `maxReadsInFlight`, `maxReadBytes`, `maxListBytes`) on
 * `CostLimits`.
 */
export interface ServerOptions extends TransportOptions, CostLimits {
  /**
   * TCP port; 0 picks a free one.
   * @default 9100
   */
  port?: number;
  /**
   * Interface to bind. The default accepts only local connections.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Channels served (RackHD's by default).
   * @default DEFAULT_CHANNELS
   */
  resources?: readonly ChannelSpec[];
  /**
   * The embedded memory backend to use; one is created (seeded with `seed`) when no `source` is given.
   */
  backend?: MemoryBackend;
  /**
   * Initial records for the created memory backend.
   * @default demoFixtures() (RackHD-shaped demo nodes, workflows, SKUs, catalogs, pollers, logs, events)
   */
  seed?: Readonly<Record<string, readonly Doc[]>>;
  /** Snapshot source other than the memory backend and MongoDB (then `mongo` is ignored). */
  source?: Source;
  /**
   * Read RackHD's collections from MongoDB: every channel with a `collection` (nodes, catalogs, skus, workflows
   * = `graphobjects`, pollers = `workitems`, graph and task definitions, templates, profiles, files, lookups).
   * `logs` and `events` stay in memory (the last N per subject), filled from RabbitMQ.
   * @default none: everything from the memory backend
   */
  mongo?: MongoOptions;
  /**
   * Follow RackHD's RabbitMQ exchanges (`on.waterline`, `on.events`, `on.logging`) and broadcast across instances.
   * @default none: changes come only from the memory backend's own writes
   */
  amqp?: AmqpOptions;
  /**
   * This instance's id: names its RabbitMQ connection (`monorail-ws <id>`) and queue.
   * @default 12 random hex digits
   */
  instanceId?: string;
  /** Change feeds besides the backend's own writes (RabbitMQ). */
  feeds?: readonly ChangeFeed[];
  /**
   * Largest accepted frame in bytes; larger frames close the connection with 1009.
   * @default DEFAULTS.maxPayload (1 MiB)
   */
  maxPayload?: number;
  /**
   * The parse-time budget of every client frame: nesting depth, keys plus array elements, string and key
   * lengths. Checked right after `JSON.parse`, before anything else reads the frame; over it: `error` `too-large`,
   * the connection stays open. Fields left out keep their default.
   * @default DEFAULTS.inputBudget (`{maxDepth: 32, maxNodes: 20,000, maxStringLength: 65,536, maxKeyLength: 1,024}`)
   */
  inputBudget?: Partial<InputBudget>;
  /**
   * Most items per `list`.
   * @default DEFAULTS.maxListItems (10,000)
   */
  maxListItems?: number;
  /**
   * Most watches per connection.
   * @default DEFAULTS.maxWatches (100)
   */
  maxWatches?: number;
  /**
   * Identical snapshot reads (same channel and params) reach the source at most once per this many ms; requests
   * in between wait for and share the next read (a reconnect storm costs one read per distinct params per
   * window). 0 shares only reads already in flight.
   * @default DEFAULTS.coalesceWindowMs (50)
   */
  coalesceWindowMs?: number;
  /**
   * Authorization: `authorize(principal, channel, handler, params)` for every request (a refusal is an `error`
   * with code `forbidden`), and once per connection with handler `'connect'` and params `{}` for the channel in
   * the URL (a refusal closes it with 4403).
   * @default allow everything
   */
  authorize?: Authorize;
  /**
   * The `mq` channel: `exchanges` open to it (RackHD's names; any other is `forbidden`), `historyLimit` recent
   * messages listed to a new watch.
   * @default {exchanges: DEFAULTS.mqExchanges, historyLimit: DEFAULTS.historyLimit}
   */
  mq?: MqOptions;
  /**
   * Positions and resume (PROTOCOL.md "Positions and resume"): frames carry positions, a quiet watch gets `progress`,
   * and a client that re-watches with its last position gets what it missed instead of a new `list` — from this
   * instance's history, or with `amqp`, from the RabbitMQ stream every instance shares (`amqp.stream`), so on any
   * instance. Channels whose spec says `resume: false` (pollers, lookups) always re-snapshot.
   * @default false
   */
  resume?: boolean | ServerResumeOptions;
  /** Structured logger. @default silent */
  logger?: Logger;
}

/** A running server. */
export interface MonorailServer {
  /** `ws://host:port` (no channel). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly hub: Hub;
  /** The memory backend, when the server runs on it (with MongoDB: it holds `logs` and `events`). */
  readonly backend: MemoryBackend | undefined;
  /** This instance's id (RabbitMQ connection `monorail-ws <id>`). */
  readonly instanceId: string;
  /** The MongoDB source, when `mongo` was given. */
  readonly mongo: MongoSource | undefined;
  /** The RabbitMQ link and feed, when `amqp` was given, and the stream with `resume`. */
  readonly amqp: { readonly link: AmqpLink; readonly feed: AmqpFeed; readonly stream: AmqpStream | undefined } | undefined;
  /**
   * The transport's counters: sockets waiting for their upgrade, WebSocket connections, bytes queued to clients,
   * and what each bound closed (`/debug/stats` serves them with the hub's).
   */
  transportStats(): TransportStats;
  /** Registers a connection listener (the seed's `server.on('connection', conn => …)`). */
  on(event: 'connection', listener: (conn: HubConnection) => void): this;
  /**
   * Sends `data` to every connection except those `skip` names (a session id, ids, or a predicate). With `amqp`
   * it reaches the connections of every instance (a fanout exchange); session ids are skipped everywhere, a
   * predicate only applies to this instance's connections.
   */
  broadcast(data: unknown, skip?: BroadcastSkip): void;
  /** Closes every client with 1001, stops listening and releases resources (RabbitMQ, MongoDB). */
  close(): Promise<void>;
}

/**
 * The ws transport, loaded when a server starts: it imports `ws`, so `ws` is looked for first, by name, for an
 * error that says how to install it.
 */
async function loadTransport(): Promise<typeof import('./ws/transport.js')> {
  await loadOptional('ws', () => import('ws'));
  return import('./ws/transport.js');
}

/**
 * Starts a server and resolves once it listens.
 * @throws MissingPackageError naming every package the options need that is not installed (`ws` always, `mongodb`
 *   with `mongo`, `amqplib` with `amqp`, `jose` with a `jwtVerifier`), with one command, before anything is created.
 */
export async function createServer(options: ServerOptions = {}): Promise<MonorailServer> {
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  // First: a missing package, or an unsafe configuration (another host without an Origin allowlist), fails before
  // anything is created.
  let wsTransport: typeof import('./ws/transport.js') | undefined;
  await loadAll([
    async () => (wsTransport = await loadTransport()),
    ...(options.mongo && !options.source ? [loadMongoDriver] : []),
    ...(options.amqp ? [loadAmqplib] : []),
    () => prepareAuthenticate(options.authenticate),
  ]);
  const { attachWebSockets, httpServerOptions, resolveTransport } = wsTransport!;
  const security = resolveTransport(host, options, logger);
  const inputBudget = resolveInputBudget(options.inputBudget);
  const channels = options.resources ?? DEFAULT_CHANNELS;
  const registry = new ChannelRegistry(channels);
  const instanceId = options.instanceId ?? randomId(6);
  const mongo = options.mongo && !options.source ? new MongoSource({ ...options.mongo, channels, logger }) : undefined;
  // With MongoDB the memory backend only holds what MongoDB does not (logs, events), so no demo seed.
  const backend = options.source
    ? options.backend
    : (options.backend ?? new MemoryBackend({ channels, seed: options.seed ?? (mongo ? {} : demoFixtures()) }));
  /** Whether this instance's memory is the source of truth of a channel (then broker changes are applied to it). */
  const inMemory = (channel: string) => backend !== undefined && !options.source && !mongo?.serves(channel);
  const source: Source = options.source ?? (mongo ? routedSource((c) => (mongo.serves(c) ? mongo : backend!)) : backend!);
  if (mongo) await mongo.connect();
  const resume = options.resume === true ? {} : options.resume || undefined;
  // With a broker, the positions are the shared stream's offsets (the same on every instance).
  const streamOptions = resume && options.amqp && options.amqp.stream !== false ? (options.amqp.stream ?? {}) : undefined;
  const timeline = streamOptions ? new Timeline({ external: true, maxMarkers: DEFAULTS.resume.maxMarkers }) : undefined;
  const hub = new Hub({
    source,
    channels,
    logger,
    ...(backend ? { feed: backend } : {}),
    ...(options.maxListItems !== undefined ? { maxListItems: options.maxListItems } : {}),
    ...(options.maxWatches !== undefined ? { maxWatches: options.maxWatches } : {}),
    inputBudget,
    ...costLimits(options),
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.mq ? { mq: options.mq } : {}),
    coalesceWindowMs: options.coalesceWindowMs ?? DEFAULTS.coalesceWindowMs,
    ...(resume ? { resume: { ...resume, ...(timeline ? { timeline } : {}) } } : {}),
  });
  const unsubscribers = (options.feeds ?? []).map((feed) => feed.onChange((change) => hub.publish(change)));
  if (mongo)
    unsubscribers.push(
      mongo.onRecover((affected) => {
        for (const c of affected) hub.resnapshot(c);
      }),
    );

  let amqp: { link: AmqpLink; feed: AmqpFeed; stream: AmqpStream | undefined } | undefined;
  let broadcaster: Broadcaster | undefined;
  if (options.amqp) {
    const prefix = options.amqp.exchangePrefix ?? '';
    const link = new AmqpLink({
      url: options.amqp.url,
      connectionName: `monorail-ws ${instanceId}`,
      queue: `${prefix}monorail-ws.${instanceId}`,
      logger,
      ...(options.amqp.reconnect ? { reconnect: options.amqp.reconnect } : {}),
      ...(options.amqp.prefetch !== undefined ? { prefetch: options.amqp.prefetch } : {}),
    });
    // The resumable channels come through the stream (docs/architecture.md "Positions and resume").
    const streamed = timeline ? registry.specs.filter((s) => hub.channelState(s.name)?.history).map((s) => s.name) : [];
    const feed = new AmqpFeed({
      link,
      registry,
      exchangePrefix: prefix,
      streamed,
      retained: registry.specs.map((s) => s.name).filter(inMemory),
      lookup: (channel, id) => source.get(channel, { [registry.get(channel)!.idField]: id }),
      mqExchanges: hub.mq.exchanges,
      logger,
    });
    // Broker changes to channels held in memory update the memory (which tells the hub); the others, read from
    // MongoDB or a custom source, carry the new record and go to the hub as they are.
    unsubscribers.push(
      feed.onChange((change) => (inMemory(change.channel) ? applyToMemory(backend!, registry, change) : hub.publish(change))),
    );
    unsubscribers.push(feed.attach(hub));
    let stream: AmqpStream | undefined;
    if (timeline && streamOptions) {
      // After a lost connection the broker may have missed RackHD's writes (never published): positions from before
      // cannot be trusted, and watches are re-read.
      const resync = () => {
        hub.resume?.cut();
        for (const channel of streamed) hub.resnapshot(channel);
      };
      stream = new AmqpStream({
        ...streamOptions,
        link,
        timeline,
        bindings: feed.streamBindings(),
        exchangePrefix: prefix,
        onGap: resync,
        logger,
      });
      unsubscribers.push(timeline.onReset(() => resync()));
    }
    broadcaster = new Broadcaster({ link, hub, instanceId, exchangePrefix: prefix, logger });
    amqp = { link, feed, stream };
    await link.start();
  } else if (backend) {
    // No broker: mq streams the memory backend's own logs and events, in RackHD's formats.
    unsubscribers.push(
      backend.onChange((change) => {
        for (const message of mqFromChange(change)) hub.mq.publish(message);
      }),
    );
  }

  // The transport answers its plain HTTP requests too (/healthz, /debug/stats) and sets its request timeouts.
  const http: HttpServer = createHttpServer(httpServerOptions(security));
  const transport = attachWebSockets(
    { http, hub, logger, maxPayload: options.maxPayload ?? DEFAULTS.maxPayload, authorize: options.authorize },
    security,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 9100, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // Port taken, say: release the broker connection and the driver, or they would keep the process alive.
    for (const off of unsubscribers) off();
    await amqp?.link.close();
    await mongo?.close();
    throw err;
  }
  const port = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  const server: MonorailServer = {
    url: `ws://${urlHost}:${port}`,
    host,
    port,
    hub,
    backend,
    instanceId,
    mongo,
    amqp,
    transportStats: () => transport.stats(),
    on(event, listener) {
      if (event === 'connection') hub.onConnection(listener);
      return server;
    },
    broadcast(data, skip) {
      if (broadcaster) broadcaster.broadcast(data, skip);
      else hub.broadcast(data, skip);
    },
    close() {
      closing ??= (async () => {
        for (const off of unsubscribers) off();
        // Stop listening first (the callback waits for every connection), then 1001 to every client.
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        await transport.close();
        http.closeAllConnections();
        await stopped;
        // The backends last: clients were told to go first, and nothing new can arrive for them any more.
        amqp?.stream?.close();
        await amqp?.link.close();
        await mongo?.close();
      })();
      return closing;
    },
  };
  return server;
}

/** The `CostLimits` among `options` that are set (the hub applies `DEFAULTS` to the others). */
function costLimits(options: CostLimits): CostLimits {
  const out: CostLimits = {};
  for (const name of ['maxInValues', 'maxWatchBytes', 'maxReadsInFlight', 'maxReadBytes', 'maxListBytes'] as const) {
    if (options[name] !== undefined) out[name] = options[name];
  }
  return out;
}

/** A source that answers each channel from the source `pick` names for it. */
function routedSource(pick: (channel: string) => Source): Source {
  return {
    read: (channel, params, limit) => pick(channel).read(channel, params, limit),
    get: (channel, params) => pick(channel).get(channel, params),
  };
}

/**
 * Applies a broker change to the memory backend, which then notifies the hub like any of its own writes (with the
 * change's stream offset, when it came through the stream).
 */
function applyToMemory(backend: MemoryBackend, registry: ChannelRegistry, change: Change): void {
  const spec = registry.get(change.channel)!;
  const at = { offset: change.offset };
  if (change.data === null) backend.remove(spec.name, change.id, at);
  else if (spec.appendOnly) backend.append(spec.name, change.data, at);
  else backend.upsert(spec.name, change.data, at);
}
