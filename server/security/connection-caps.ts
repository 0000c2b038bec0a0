/**
 * What bounds the sockets one server holds (issue 10: silent connections were never closed, and 1,100 of them
 * under `ulimit -n 1024` made every new client fail).
 *
 * - **Handshake timeout**: Node's HTTP server already cuts a connection whose request has not fully arrived in
 *   `headersTimeout` (408, then destroyed) — a socket that never sends a byte as well as one that stops in the
 *   middle of a header line, and for an upgrade as for a plain request; it stops watching a socket once the
 *   upgrade request's headers are in (`upgrade` event). Its defaults are 60 s, checked every 30 s; `httpTimeouts`
 *   sets both from `handshakeTimeoutMs`. What follows the headers is the server's own work (`authenticate`, bound
 *   by `authenticateTimeoutMs`), so no timer of ours is needed per socket.
 * - **Pending sockets** (`maxPendingUpgrades`): every accepted TCP connection counts as pending until it is admitted
 *   as a WebSocket connection, or gone — upgrades in progress, refused connections still closing, plain HTTP. One
 *   beyond the cap is destroyed as soon as it is accepted, before anything is read.
 * - **Connections** (`maxConnections`): admitted WebSocket connections; one more is closed with 1013 right after
 *   its upgrade (and then counts as pending until it is gone). So the sockets of a server are at most the sum of
 *   the two caps, however fast an attacker reopens them.
 */
import type { ServerOptions as HttpServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../hub/logger.js';

/** Node's own request timeouts: how often it checks them (ms), at most. */
const MAX_CHECK_INTERVAL_MS = 1000;

/**
 * The options of the HTTP server that enforce `handshakeTimeoutMs`: `headersTimeout` and `requestTimeout` (a
 * request carrying a body has no more time than one without: nothing here reads bodies), checked every fifth of
 * the timeout, at most every second. 0 turns both off.
 */
export function httpTimeouts(
  handshakeTimeoutMs: number,
): Pick<HttpServerOptions, 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'> {
  if (!(handshakeTimeoutMs > 0)) return { headersTimeout: 0, requestTimeout: 0 };
  return {
    headersTimeout: handshakeTimeoutMs,
    requestTimeout: handshakeTimeoutMs,
    connectionsCheckingInterval: Math.max(1, Math.min(MAX_CHECK_INTERVAL_MS, Math.ceil(handshakeTimeoutMs / 5))),
  };
}

/** Counters of `ConnectionCaps`, for `/debug/stats`. */
export interface ConnectionCapsStats {
  /** TCP connections accepted and not (yet) admitted WebSocket connections. */
  pendingUpgrades: number;
  /** Connections destroyed on accept because `maxPendingUpgrades` were pending. */
  refusedSockets: number;
  /** Connections closed with 1013 after the upgrade because `maxConnections` were open. */
  refusedConnections: number;
}

/** The two caps of one server. */
export class ConnectionCaps {
  private readonly pending = new Set<Duplex>();
  /** One listener for every pending socket (`this` is the socket): no closure per connection. */
  private readonly forget: (this: Duplex) => void;
  private refusedSockets = 0;
  private refusedConnections = 0;
  /** Whether the pending cap has been reached since it was last logged (one line per episode, not per socket). */
  private saturated = false;

  /**
   * @param maxPending `maxPendingUpgrades` (0: no cap).
   * @param maxConnections `maxConnections` (0: no cap).
   * @param open Admitted connections now open.
   */
  constructor(
    private readonly maxPending: number,
    private readonly maxConnections: number,
    private readonly open: () => number,
    private readonly logger: Logger,
  ) {
    const pending = this.pending;
    this.forget = function (this: Duplex) {
      pending.delete(this);
    };
  }

  /** The HTTP server's `connection` listener: counts the socket as pending, or destroys it over the cap. */
  readonly connection = (socket: Socket): void => {
    if (this.maxPending > 0 && this.pending.size >= this.maxPending) {
      this.refusedSockets++;
      if (!this.saturated) {
        this.saturated = true;
        this.logger.warn('too many connections waiting for their upgrade, refusing new ones', { maxPendingUpgrades: this.maxPending });
      }
      socket.destroy();
      return;
    }
    if (this.saturated && this.pending.size < this.maxPending / 2) this.saturated = false;
    this.pending.add(socket);
    socket.on('close', this.forget);
  };

  /** Whether `maxConnections` admitted connections are open (one more is refused with 1013). */
  get full(): boolean {
    return this.maxConnections > 0 && this.open() >= this.maxConnections;
  }

  /** Counts a connection refused with 1013 because the server was full (it stays pending until it is gone). */
  refused(): void {
    this.refusedConnections++;
  }

  /** The socket is now an admitted WebSocket connection: no longer pending. */
  admitted(socket: Duplex): void {
    if (this.pending.delete(socket)) socket.off('close', this.forget);
  }

  stats(): ConnectionCapsStats {
    return { pendingUpgrades: this.pending.size, refusedSockets: this.refusedSockets, refusedConnections: this.refusedConnections };
  }
}
