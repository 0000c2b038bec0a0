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
import { DEFAULTS, resolveInputBudget } from '../protocol/index.js';
import { AmqpFeed } from './feeds/amqp-feed.js';
import { AmqpLink, loadAmqplib } from './feeds/amqp-link.js';
import { AmqpStream } from './feeds/amqp-stream.js';
import { Broadcaster } from './feeds/broadcast.js';
import { ChannelRegistry, DEFAULT_CHANNELS } from './hub/channels.js';
import type { TransportStats } from './ws/debug-stats.js';
import { demoFixtures } from './demo/fixtures.js';
import { Hub, type BroadcastSkip } from './hub/hub.js';
import { Timeline } from './hub/positions.js';
import type { HubConnection } from './hub/hub-connection.js';
import { randomId } from './hub/ids.js';
import { silentLogger } from './hub/logger.js';
import { mqFromChange } from './hub/mq.js';
import { MemoryBackend } from './sources/memory.js';
import { loadMongoDriver, MongoSource } from './sources/mongo.js';
import { loadAll, loadOptional } from './hub/optional-packages.js';
import type { Change, Source } from './hub/source.js';
import { prepareAuthenticate } from './security/auth.js';
import { hubOptions, type ServerOptions } from './options.js';

export type { AmqpOptions, ServerOptions, ServerResumeOptions } from './options.js';

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
    inputBudget,
    ...hubOptions(options),
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
