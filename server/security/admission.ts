/**
 * Who gets in: the HTTP upgrade handler. In order — Origin allowlist (1008), the server's connection cap
 * (`maxConnections`, 1013), connections per address (1013), `authenticate` (4401; 1011 when it fails or times
 * out), `authorize(principal, channel, 'connect', {})` for the channel in the URL (4403); the connection cap once
 * more when the upgrade completes (authentication is asynchronous: others may have got in meanwhile). Every refusal
 * completes the upgrade and at once closes with its code, before anything is read or sent: a browser sees any
 * failed handshake as 1006 and could not tell a bad token from a dead server, and would retry a 1006 forever.
 * Refusals are logged without the query string's values (`redactUrl`): a client may have put its token there.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { channelFromUrl, CloseCode } from '../../protocol/index.js';
import type { Authenticate } from './auth.js';
import type { ChannelRegistry } from '../hub/channels.js';
import { isLegacyPath } from '../hub/dialect-1x.js';
import type { ConnectionCaps } from './connection-caps.js';
import type { Authorize } from '../hub/hub.js';
import type { ConnectionCounter } from './limits.js';
import type { Logger } from '../hub/logger.js';
import type { OriginCheck } from './origin.js';
import { redactUrl, truncate } from './redact.js';

/** What the upgrade handler needs. */
export interface AdmissionOptions {
  wss: WebSocketServer;
  origins: OriginCheck;
  authenticate: Authenticate | undefined;
  authenticateTimeoutMs: number;
  /** The 1.x dialect's path prefix, and whether its connections skip `authenticate` (they cannot send a token). */
  rackhd1x: { readonly path: string; readonly unauthenticated: boolean } | undefined;
  authorize: Authorize | undefined;
  registry: ChannelRegistry;
  perAddress: ConnectionCounter;
  /** The server's caps: full at `maxConnections`; a socket admitted is no longer pending. */
  caps: ConnectionCaps;
  logger: Logger;
  /** Hands an admitted connection over (to the hub). */
  accept(ws: WebSocket, request: IncomingMessage, principal: unknown): void;
}

type Decision = { principal: unknown } | { code: CloseCode; reason: string };

/** What `authenticate` said of a request: a principal, a refusal, or nothing in time (it threw or hung). */
export type Authentication = { principal: unknown } | 'refused' | 'unavailable';

const TIMED_OUT = Symbol('timed out');

/**
 * Runs `authenticate` on a request within `timeoutMs`: the upgrade's check, and `/debug/stats`'s. `null`,
 * `undefined` and `false` refuse; throwing, rejecting or not settling in time is `unavailable` (logged).
 */
export async function authenticateRequest(
  authenticate: Authenticate,
  request: IncomingMessage,
  timeoutMs: number,
  logger: Logger,
): Promise<Authentication> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const result = await Promise.race([
      Promise.resolve().then(() => authenticate(request)),
      new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs))),
    ]);
    if (result === TIMED_OUT) {
      logger.error('authenticate did not settle in time', { timeoutMs });
      return 'unavailable';
    }
    // `false` as well: returning it by mistake must not let anyone in.
    if (result === null || result === undefined || result === false) return 'refused';
    return { principal: result };
  } catch (err) {
    logger.error('authenticate threw', { err });
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

/** The `upgrade` listener for the HTTP server. */
export function admission(options: AdmissionOptions): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { wss, logger, caps } = options;
  const refuseFull = (refuse: (code: CloseCode, reason: string) => void): void => {
    caps.refused();
    refuse(CloseCode.Overloaded, 'server overloaded');
  };

  const decide = async (request: IncomingMessage): Promise<Decision> => {
    let principal: unknown;
    const legacy = options.rackhd1x && isLegacyPath(request.url ?? '/', options.rackhd1x.path) ? options.rackhd1x : undefined;
    // RackHD's 1.x UI cannot send a token: with authentication on, its path stays closed unless opened explicitly.
    if (legacy && options.authenticate && !legacy.unauthenticated)
      return { code: CloseCode.Unauthenticated, reason: 'the RackHD 1.x path is closed' };
    if (options.authenticate && !legacy) {
      const result = await authenticateRequest(options.authenticate, request, options.authenticateTimeoutMs, logger);
      if (result === 'refused') return { code: CloseCode.Unauthenticated, reason: 'unauthenticated' };
      if (result === 'unavailable') return { code: CloseCode.InternalError, reason: 'authentication unavailable' };
      principal = result.principal;
    }
    const spec = options.registry.get(channelFromUrl(request.url ?? '/'));
    // An unknown channel is let in: each request on it gets `unknown-channel`, and `resource` may name others.
    if (options.authorize && spec) {
      try {
        if (!options.authorize(principal, spec.name, 'connect', {})) return { code: CloseCode.Forbidden, reason: 'channel forbidden' };
      } catch (err) {
        logger.error('authorize threw', { err });
        return { code: CloseCode.InternalError, reason: 'authorization unavailable' };
      }
    }
    return { principal };
  };

  return (request, socket, head) => {
    // Until ws takes the socket over, a reset while `authenticate` runs must not become an uncaught error.
    const early = (err: Error): void => logger.debug('socket error before the upgrade', { err });
    socket.on('error', early);
    // Read only when needed: Node keeps the address it read on the socket for the connection's life.
    const address = options.perAddress.counting ? (request.socket.remoteAddress ?? '') : '';
    const upgrade = (then: (ws: WebSocket) => void): void => {
      socket.off('error', early);
      // ws answers 400 for a malformed handshake and 503 once the server is closing; `then` runs only on success.
      wss.handleUpgrade(request, socket, head, then);
    };
    const closeRefused = (ws: WebSocket, code: CloseCode, reason: string): void => {
      const from = origin(request);
      logger.info('connection refused', {
        code,
        reason,
        address: request.socket.remoteAddress ?? '',
        origin: from === undefined ? undefined : truncate(from),
        path: redactUrl(request.url),
      });
      ws.on('error', (err) => logger.debug('socket error on a refused connection', { err }));
      ws.close(code, reason);
    };
    const refuse = (code: CloseCode, reason: string): void => upgrade((ws) => closeRefused(ws, code, reason));

    if (!options.origins(origin(request))) return refuse(CloseCode.OriginNotAllowed, 'origin not allowed');
    if (caps.full) return refuseFull(refuse);
    if (!options.perAddress.acquire(address)) return refuse(CloseCode.Overloaded, 'too many connections from this address');
    if (options.perAddress.counting) releaseOnClose(socket, options.perAddress, address);

    void decide(request).then((decision) => {
      if ('code' in decision) return refuse(decision.code, decision.reason);
      upgrade((ws) => {
        // Checked again: others may have been admitted while `authenticate` ran.
        if (caps.full) return refuseFull((code, reason) => closeRefused(ws, code, reason));
        caps.admitted(socket);
        options.accept(ws, request, decision.principal);
      });
    });
  };
}

/**
 * Counts the connection out when the TCP connection ends, whichever way: refused, closed, or gone while
 * authenticating. A function of its own so the listener, which lives as long as the connection, holds only the
 * address and not the upgrade request with its headers.
 */
function releaseOnClose(socket: Duplex, counter: ConnectionCounter, address: string): void {
  socket.once('close', () => counter.release(address));
}

/** The request's origin: `Origin`, or `Sec-WebSocket-Origin` from version-8 clients (as ws reads it). */
function origin(request: IncomingMessage): string | undefined {
  const header = request.headers['sec-websocket-version'] === '8' ? request.headers['sec-websocket-origin'] : request.headers.origin;
  return Array.isArray(header) ? header[0] : header;
}
