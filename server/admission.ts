/**
 * Who gets in: the HTTP upgrade handler. In order — Origin allowlist (1008), connections per address (1013),
 * `authenticate` (4401; 1011 when it fails or times out), `authorize(principal, channel, 'connect', {})` for the
 * channel in the URL (4403). Every refusal completes the upgrade and at once closes with its code, before
 * anything is read or sent: a browser sees any failed handshake as 1006 and could not tell a bad token from a
 * dead server, and would retry a 1006 forever.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { channelFromUrl, CloseCode } from '../protocol/index.js';
import type { Authenticate } from './auth.js';
import type { ChannelRegistry } from './hub/channels.js';
import type { Authorize } from './hub/hub.js';
import type { ConnectionCounter } from './limits.js';
import type { Logger } from './hub/logger.js';
import type { OriginCheck } from './origin.js';

/** What the upgrade handler needs. */
export interface AdmissionOptions {
  wss: WebSocketServer;
  origins: OriginCheck;
  authenticate: Authenticate | undefined;
  authenticateTimeoutMs: number;
  authorize: Authorize | undefined;
  registry: ChannelRegistry;
  perAddress: ConnectionCounter;
  logger: Logger;
  /** Hands an admitted connection over (to the hub). */
  accept(ws: WebSocket, request: IncomingMessage, principal: unknown): void;
}

type Decision = { principal: unknown } | { code: CloseCode; reason: string };

const TIMED_OUT = Symbol('timed out');

/** The `upgrade` listener for the HTTP server. */
export function admission(options: AdmissionOptions): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { wss, logger } = options;

  const decide = async (request: IncomingMessage): Promise<Decision> => {
    let principal: unknown;
    if (options.authenticate) {
      const authenticate = options.authenticate;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const result = await Promise.race([
          Promise.resolve().then(() => authenticate(request)),
          new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), options.authenticateTimeoutMs))),
        ]);
        if (result === TIMED_OUT) {
          logger.error('authenticate did not settle in time', { timeoutMs: options.authenticateTimeoutMs });
          return { code: CloseCode.InternalError, reason: 'authentication unavailable' };
        }
        // `false` as well: returning it by mistake must not let anyone in.
        if (result === null || result === undefined || result === false) return { code: CloseCode.Unauthenticated, reason: 'unauthenticated' };
        principal = result;
      } catch (err) {
        logger.error('authenticate threw', { err });
        return { code: CloseCode.InternalError, reason: 'authentication unavailable' };
      } finally {
        clearTimeout(timer);
      }
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
    const refuse = (code: CloseCode, reason: string): void => {
      logger.info('connection refused', { code, reason, address: request.socket.remoteAddress ?? '', origin: origin(request), path: request.url });
      upgrade((ws) => {
        ws.on('error', (err) => logger.debug('socket error on a refused connection', { err }));
        ws.close(code, reason);
      });
    };

    if (!options.origins(origin(request))) return refuse(CloseCode.OriginNotAllowed, 'origin not allowed');
    if (!options.perAddress.acquire(address)) return refuse(CloseCode.Overloaded, 'too many connections from this address');
    if (options.perAddress.counting) releaseOnClose(socket, options.perAddress, address);

    void decide(request).then((decision) => {
      if ('code' in decision) refuse(decision.code, decision.reason);
      else upgrade((ws) => options.accept(ws, request, decision.principal));
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
