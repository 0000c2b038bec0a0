/**
 * The WebSocket side of the server: a `ws` WebSocketServer on the HTTP server's `upgrade` event, with admission
 * (origin, connections per address, authentication, channel authorization), the per-connection guards (message
 * rate, slow consumers), the heartbeat, and the bounded close. `createServer` wires it to the hub.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { channelFromUrl, DEFAULTS } from '../protocol/index.js';
import { admission } from './admission.js';
import type { Authenticate } from './auth.js';
import type { SlowConsumerLimits } from './backpressure.js';
import { startHeartbeat } from './heartbeat.js';
import type { Authorize, Hub } from './hub/hub.js';
import { checkRateLimit, ConnectionCounter, type RateLimit } from './limits.js';
import { silentLogger, type Logger } from './hub/logger.js';
import { isLoopbackHost, resolveOriginPolicy, type OriginCheck } from './origin.js';
import type { TransportOptions } from './transport-options.js';
import { ServerWebSocket, wsSocket, type WsSocketOptions } from './ws-adapter.js';
import { FrameWriter } from './ws-frames.js';

/** The WebSocket server attached to an HTTP server. */
export interface WsTransport {
  /**
   * Stops accepting (new upgrades get 503, the port is released), closes every client with 1001, and resolves
   * once every socket is gone — each within `closeTimeoutMs`.
   */
  close(): Promise<void>;
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
}

/**
 * Checks the options for the interface the server binds and applies the defaults. Called before anything is
 * created or listens, so an unsafe configuration fails with nothing to clean up.
 * @throws Error when the configuration would be unsafe (a non-loopback host without an Origin allowlist) or is
 *   invalid (a malformed origin pattern, a rate limit below 1).
 */
export function resolveTransport(host: string, options: TransportOptions, logger: Logger = silentLogger): ResolvedTransport {
  const origins = resolveOriginPolicy(host, options.origins, options.anyOrigin);
  const rateLimit = options.rateLimit === undefined ? DEFAULTS.rateLimit : options.rateLimit;
  if (rateLimit) checkRateLimit(rateLimit);
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
  };
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

/** Attaches a WebSocket server to `deps.http`, in front of `deps.hub`. */
export function attachWebSockets(deps: TransportDeps, config: ResolvedTransport): WsTransport {
  const { http, hub } = deps;
  const logger = deps.logger ?? silentLogger;
  const { rateLimit, slowConsumer } = config;
  const perAddress = new ConnectionCounter(config.maxConnectionsPerIp);
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
    // frames; see README "Performance".
    perMessageDeflate: false,
  });
  wss.on('error', (err) => logger.error('websocket server error', { err }));

  // Shared by every connection; the peer address is read from the socket when something asks for it.
  const socketOptions: WsSocketOptions = {
    rateLimit,
    slowConsumer,
    logger,
    frames,
    heartbeat,
    onError: (err) => logger.debug('socket error', { err }),
  };
  const accept = (ws: WebSocket, request: IncomingMessage, principal: unknown): void => {
    // The socket itself tells the heartbeat of messages, pongs and the close (ServerWebSocket.emit): no listeners.
    heartbeat.track(ws, false);
    hub.accept(wsSocket(ws as ServerWebSocket, socketOptions), { channel: channelFromUrl(request.url ?? '/'), principal });
  };
  http.on(
    'upgrade',
    admission({
      wss,
      origins: config.origins,
      authenticate: config.authenticate,
      authenticateTimeoutMs: config.authenticateTimeoutMs,
      authorize: deps.authorize,
      registry: hub.registry,
      perAddress,
      logger,
      accept,
    }),
  );

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        heartbeat.stop();
        // First, so an upgrade still in admission gets 503 instead of joining; resolves once every client is gone
        // (refused ones included, which are already closing), each within closeTimeoutMs.
        wss.close(() => resolve());
        hub.close();
      });
      return closing;
    },
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
