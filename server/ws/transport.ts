/**
 * The WebSocket side of the server: a `ws` WebSocketServer on the HTTP server's `upgrade` event, with admission
 * (origin, connection caps, connections per address, authentication, channel authorization), the per-connection
 * guards (message rate, slow consumers, the server-wide queued-bytes budget), the heartbeat, the unfinished-message
 * sweep, the bounded close, and the plain HTTP endpoints. `createServer` wires it to the hub.
 */
import type { Server as HttpServer, ServerOptions as HttpServerOptions, IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { channelFromUrl, DEFAULTS } from '../../protocol/index.js';
import { admission } from '../security/admission.js';
import type { Authenticate } from '../security/auth.js';
import type { SlowConsumerLimits } from './backpressure.js';
import { ConnectionCaps, httpTimeouts } from '../security/connection-caps.js';
import type { TransportStats } from './debug-stats.js';
import { fragmentSweep } from './fragment-timeout.js';
import { startHeartbeat } from './heartbeat.js';
import { httpEndpoints } from './http-endpoints.js';
import type { Authorize, Hub } from '../hub/hub.js';
import { isLegacyPath } from '../hub/dialect-1x.js';
import { checkRateLimit, ConnectionCounter, type RateLimit } from '../security/limits.js';
import { silentLogger, type Logger } from '../hub/logger.js';
import { isLoopbackHost, resolveOriginPolicy, type OriginCheck } from '../security/origin.js';
import { QueuedBytesBudget, type BudgetedSocket } from './queue-budget.js';
import type { TransportOptions } from './options.js';
import { ServerWebSocket, wsSocket, type WsSocketOptions } from './adapter.js';
import { FrameWriter } from './frames.js';

/** The WebSocket server attached to an HTTP server. */
export interface WsTransport {
  /**
   * Stops accepting (new upgrades get 503, the port is released), closes every client with 1001, and resolves
   * once every socket is gone — each within `closeTimeoutMs`.
   */
  close(): Promise<void>;
  stats(): TransportStats;
}

/** `TransportOptions` checked, with every default applied (`resolveTransport`). */
export interface ResolvedTransport {
  readonly origins: OriginCheck;
  readonly authenticate: Authenticate | undefined;
  readonly authenticateTimeoutMs: number;
  readonly rateLimit: RateLimit | false;
  readonly maxConnectionsPerIp: number;
  readonly slowConsumer: SlowConsumerLimits;
  readonly heartbeatMs: number;
  readonly closeTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly fragmentTimeoutMs: number;
  readonly maxPendingUpgrades: number;
  readonly maxConnections: number;
  readonly maxQueuedBytes: number;
  readonly debugStats: boolean;
  /** The 1.x dialect's path prefix and whether it skips `authenticate`; undefined: the dialect is off. */
  readonly rackhd1x: { readonly path: string; readonly unauthenticated: boolean } | undefined;
}

/** The options of the transport that are counts or durations: whole numbers, 0 or more (0 turns them off). */
const BOUNDS = ['handshakeTimeoutMs', 'fragmentTimeoutMs', 'maxPendingUpgrades', 'maxConnections', 'maxQueuedBytes'] as const;

/**
 * Checks the options for the interface the server binds and applies the defaults. Called before anything is
 * created or listens, so an unsafe configuration fails with nothing to clean up.
 * @throws Error when the configuration would be unsafe (a non-loopback host without an Origin allowlist) or is
 *   invalid (a malformed origin pattern, a rate limit below 1); RangeError when a timeout or cap is not a whole
 *   number >= 0.
 */
export function resolveTransport(host: string, options: TransportOptions, logger: Logger = silentLogger): ResolvedTransport {
  const origins = resolveOriginPolicy(host, options.origins, options.anyOrigin);
  const rateLimit = options.rateLimit === undefined ? DEFAULTS.rateLimit : options.rateLimit;
  if (rateLimit) checkRateLimit(rateLimit);
  const bounds = {} as Record<(typeof BOUNDS)[number], number>;
  for (const name of BOUNDS) {
    const value = options[name] ?? DEFAULTS[name];
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a whole number >= 0 (0 turns it off), got ${String(value)}`);
    bounds[name] = value;
  }
  if (!options.authenticate && !isLoopbackHost(host)) {
    warnLoudly(
      logger,
      `monorail-ws listens on ${host} without authentication: anyone who can reach it reads every channel. ` +
        'Set authenticate (e.g. jwtVerifier) or bind 127.0.0.1 behind an authenticating proxy.',
    );
  }
  return {
    origins,
    authenticate: options.authenticate,
    authenticateTimeoutMs: options.authenticateTimeoutMs ?? DEFAULTS.authenticateTimeoutMs,
    rateLimit,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? DEFAULTS.maxConnectionsPerIp,
    slowConsumer: { ...DEFAULTS.slowConsumer, ...options.slowConsumer },
    heartbeatMs: options.heartbeatMs ?? DEFAULTS.heartbeatMs,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
    ...bounds,
    debugStats: options.debugStats === true,
    rackhd1x:
      options.rackhd1x === false
        ? undefined
        : { path: options.rackhd1x?.path ?? DEFAULTS.legacyPath, unauthenticated: options.rackhd1x?.unauthenticated === true },
  };
}

/** The options of the HTTP server the transport is attached to (`handshakeTimeoutMs`: Node's request timeouts). */
export function httpServerOptions(config: ResolvedTransport): HttpServerOptions {
  return httpTimeouts(config.handshakeTimeoutMs);
}

/** What `attachWebSockets` wires together. */
export interface TransportDeps {
  http: HttpServer;
  hub: Hub;
  maxPayload: number;
  authorize: Authorize | undefined;
  logger?: Logger;
}

/** Picks our subprotocol when offered; never echoes a `bearer.<token>` back. */
function handleProtocols(protocols: Set<string>): string | false {
  return protocols.has(DEFAULTS.subprotocol) ? DEFAULTS.subprotocol : false;
}

/** The admitted connections' sockets among the WebSocket server's clients (refused ones have none). */
function* hubSockets(wss: WebSocketServer): Iterable<BudgetedSocket> {
  for (const ws of wss.clients) {
    const socket = (ws as ServerWebSocket).hubSocket;
    if (socket !== undefined) yield socket;
  }
}

/**
 * Attaches a WebSocket server to `deps.http` (created with `httpServerOptions(config)`), in front of `deps.hub`,
 * and answers its plain HTTP requests (`/healthz`, `/debug/stats`, 426 for the rest).
 */
export function attachWebSockets(deps: TransportDeps, config: ResolvedTransport): WsTransport {
  const { http, hub } = deps;
  const logger = deps.logger ?? silentLogger;
  const { rateLimit, slowConsumer } = config;
  const perAddress = new ConnectionCounter(config.maxConnectionsPerIp);
  const caps = new ConnectionCaps(config.maxPendingUpgrades, config.maxConnections, () => hub.connections.size, logger);
  const heartbeat = startHeartbeat(config.heartbeatMs, logger);
  const frames = new FrameWriter();

  const wss = new WebSocketServer({
    noServer: true,
    // Our subclass, with a field for the adapter: the listeners of every connection are shared functions.
    WebSocket: ServerWebSocket,
    maxPayload: deps.maxPayload,
    handleProtocols,
    // ws 8.18+ reads this; @types/ws does not list it yet.
    ...({ closeTimeout: config.closeTimeoutMs } as object),
    // Compression costs server CPU per message and per client, and RackHD records compress poorly in small
    // frames; see bench/README.md "Why no perMessageDeflate".
    perMessageDeflate: false,
  });
  wss.on('error', (err) => logger.error('websocket server error', { err }));
  const unfinished = fragmentSweep(config.fragmentTimeoutMs, () => wss.clients, logger);
  const queuedBytes = config.maxQueuedBytes > 0 ? new QueuedBytesBudget(config.maxQueuedBytes, () => hubSockets(wss)) : undefined;

  // Shared by every connection; the peer address is read from the socket when something asks for it.
  const socketOptions: WsSocketOptions = {
    rateLimit,
    slowConsumer,
    ...(queuedBytes ? { queuedBytes } : {}),
    logger,
    frames,
    heartbeat,
    onError: (err) => logger.debug('socket error', { err }),
  };
  const accept = (ws: WebSocket, request: IncomingMessage, principal: unknown): void => {
    // The socket itself tells the heartbeat of messages, pongs and the close (ServerWebSocket.emit): no listeners.
    heartbeat.track(ws, false);
    unfinished.start();
    const url = request.url ?? '/';
    const dialect = config.rackhd1x && isLegacyPath(url, config.rackhd1x.path) ? ('1.x' as const) : undefined;
    hub.accept(wsSocket(ws as ServerWebSocket, socketOptions), {
      channel: channelFromUrl(url),
      principal,
      ...(dialect ? { dialect } : {}),
    });
  };
  const stats = (): TransportStats => ({
    ...caps.stats(),
    ...(queuedBytes?.stats() ?? { queuedBytes: 0, budgetScans: 0, closedOverBudget: 0 }),
    webSockets: wss.clients.size,
    unfinishedMessages: unfinished.closed,
  });

  http.on('connection', caps.connection);
  http.on(
    'upgrade',
    admission({
      wss,
      origins: config.origins,
      authenticate: config.authenticate,
      authenticateTimeoutMs: config.authenticateTimeoutMs,
      rackhd1x: config.rackhd1x,
      authorize: deps.authorize,
      registry: hub.registry,
      perAddress,
      caps,
      logger,
      accept,
    }),
  );
  http.on('request', httpEndpoints({ hub, config, logger, stats }));

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        heartbeat.stop();
        unfinished.stop();
        // First, so an upgrade still in admission gets 503 instead of joining; resolves once every client is gone
        // (refused ones included, which are already closing), each within closeTimeoutMs.
        wss.close(() => resolve());
        hub.close();
      });
      return closing;
    },
    stats,
  };
}

/**
 * A warning an operator must see. Through the logger when one was given; without one (the API's silent default)
 * through `process.emitWarning`, which Node prints to stderr.
 */
function warnLoudly(logger: Logger, message: string): void {
  if (logger === silentLogger) process.emitWarning(message, { code: 'MONORAIL_WS_UNAUTHENTICATED' });
  else logger.warn(message);
}
