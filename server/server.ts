/**
 * `createServer`: an HTTP server with a `ws` WebSocketServer in front of the hub, on the embedded memory
 * backend by default. The seed's API: `server.on('connection')`, `server.broadcast(data, skip)`, `server.close()`.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULTS, type Doc } from '../protocol/index.js';
import { DEFAULT_CHANNELS, type ChannelSpec } from './channels.js';
import { debugStats } from './debug-stats.js';
import { demoFixtures } from './fixtures.js';
import { Hub, type Authorize, type BroadcastSkip } from './hub.js';
import type { HubConnection } from './hub-connection.js';
import { silentLogger, type Logger } from './logger.js';
import { MemoryBackend } from './memory.js';
import type { ChangeFeed, Source } from './source.js';
import type { TransportOptions } from './transport-options.js';
import { attachWebSockets, resolveTransport } from './ws-transport.js';

/** Options of `createServer`; the security and robustness ones are documented on `TransportOptions`. */
export interface ServerOptions extends TransportOptions {
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
  /** Snapshot source other than the memory backend (MongoDB). */
  source?: Source;
  /** Change feeds besides the backend's own writes (RabbitMQ). */
  feeds?: readonly ChangeFeed[];
  /**
   * Largest accepted frame in bytes; larger frames close the connection with 1009.
   * @default DEFAULTS.maxPayload (1 MiB)
   */
  maxPayload?: number;
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
   * Authorization: `authorize(principal, channel, handler, params)` for every request (a refusal is an `error`
   * with code `forbidden`), and once per connection with handler `'connect'` and params `{}` for the channel in
   * the URL (a refusal closes it with 4403).
   * @default allow everything
   */
  authorize?: Authorize;
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
  /** The memory backend, when the server runs on it. */
  readonly backend: MemoryBackend | undefined;
  /** Registers a connection listener (the seed's `server.on('connection', conn => …)`). */
  on(event: 'connection', listener: (conn: HubConnection) => void): this;
  /** Sends `data` to every connection except those `skip` names (a session id, ids, or a predicate). */
  broadcast(data: unknown, skip?: BroadcastSkip): void;
  /** Closes every client with 1001, stops listening and releases resources. */
  close(): Promise<void>;
}

/** Starts a server and resolves once it listens. */
export async function createServer(options: ServerOptions = {}): Promise<MonorailServer> {
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  // First: an unsafe configuration (another host without an Origin allowlist) fails before anything is created.
  const security = resolveTransport(host, options, logger);
  const channels = options.resources ?? DEFAULT_CHANNELS;
  const backend = options.source ? options.backend : (options.backend ?? new MemoryBackend({ channels, seed: options.seed ?? demoFixtures() }));
  const source = options.source ?? backend!;
  const hub = new Hub({
    source,
    channels,
    logger,
    ...(backend ? { feed: backend } : {}),
    ...(options.maxListItems !== undefined ? { maxListItems: options.maxListItems } : {}),
    ...(options.maxWatches !== undefined ? { maxWatches: options.maxWatches } : {}),
    ...(options.authorize ? { authorize: options.authorize } : {}),
  });
  const unsubscribers = (options.feeds ?? []).map((feed) => feed.onChange((change) => hub.publish(change)));

  const http: HttpServer = createHttpServer((req, res) => {
    if (options.debugStats && req.url?.startsWith('/debug/stats')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(debugStats(hub, req.url.endsWith('?gc=1'))));
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, connections: hub.connections.size }));
      return;
    }
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('monorail-ws: connect with a WebSocket to ws://host:port/<channel>\n');
  });
  const transport = attachWebSockets(
    { http, hub, logger, maxPayload: options.maxPayload ?? DEFAULTS.maxPayload, authorize: options.authorize },
    security,
  );
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 9100, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  const server: MonorailServer = {
    url: `ws://${urlHost}:${port}`,
    host,
    port,
    hub,
    backend,
    on(event, listener) {
      if (event === 'connection') hub.onConnection(listener);
      return server;
    },
    broadcast(data, skip) {
      hub.broadcast(data, skip);
    },
    close() {
      closing ??= (async () => {
        for (const off of unsubscribers) off();
        // Stop listening first (the callback waits for every connection), then 1001 to every client.
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        await transport.close();
        http.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
  return server;
}
