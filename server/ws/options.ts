/**
 * The security and robustness options of `createServer`, in a file of their own so the public declarations do
 * not pull in `ws` types. Every default is safe; the numbers live in `DEFAULTS` (`protocol/codes.ts`).
 */
import type { Authenticate } from '../security/auth.js';
import type { SlowConsumerLimits } from './backpressure.js';
import type { RateLimit } from '../security/limits.js';

/** The security and robustness options of `createServer` (all optional; every default is safe). */
export interface TransportOptions {
  /**
   * Decides who connects, from the upgrade request (see `jwtVerifier`, `bearerVerifier`, `bearerToken`): returns
   * the principal, or `null`/`undefined`/`false` to close with 4401; throwing or not settling within
   * `authenticateTimeoutMs` closes with 1011 (the client retries).
   * @default none: every connection is anonymous (principal `undefined`); a warning is logged on a non-loopback host
   */
  authenticate?: Authenticate;
  /**
   * RackHD's 1.x dialect (PROTOCOL.md "RackHD 1.x dialect"), for RackHD's own 1.x web UI: `path` is the URL prefix
   * that selects it. That UI cannot send a token, so with `authenticate` set the 1.x path is closed (4401) unless
   * `unauthenticated: true` opens it: then its connections skip `authenticate` (principal `undefined`); Origins and
   * `authorize` apply to them as to every connection. `false` turns the dialect off (the prefix is then an ordinary
   * path: `/rackhd/nodes` is the channel `nodes` in the seed's protocol).
   * @default {path: DEFAULTS.legacyPath ('/rackhd'), unauthenticated: false}
   */
  rackhd1x?: { path?: string; unauthenticated?: boolean } | false;
  /**
   * How long `authenticate` may take.
   * @default DEFAULTS.authenticateTimeoutMs (10 s)
   */
  authenticateTimeoutMs?: number;
  /**
   * Origins whose pages may connect (`Origin` header), e.g. `['https://rackhd.example.com', 'https://*.lab.example.com',
   * 'http://localhost:*']`; others are closed with 1008 right after the upgrade. Requests without `Origin`
   * (non-browser clients) are let in. Replaces the loopback default when given.
   * @default on a loopback host: `LOOPBACK_ORIGINS` (localhost, 127.0.0.1, [::1], any port); on any other host
   *   there is no default: `createServer` refuses to start without `origins` or `anyOrigin`
   */
  origins?: readonly string[];
  /**
   * Accept every Origin (only when every client is authenticated or trusted).
   * @default false
   */
  anyOrigin?: boolean;
  /**
   * Messages per connection (token bucket); over it the connection is closed with 4429. `false` turns it off.
   * @default DEFAULTS.rateLimit: `{perSecond: 100, burst: 1200}`
   */
  rateLimit?: RateLimit | false;
  /**
   * Open connections per remote address; more are closed with 1013 right after the upgrade. 0 turns it off.
   * @default DEFAULTS.maxConnectionsPerIp (0: off, because clients behind a proxy or NAT share one address)
   */
  maxConnectionsPerIp?: number;
  /**
   * Slow-consumer thresholds; missing fields take the defaults.
   * @default DEFAULTS.slowConsumer: `{softBytes: 8 MiB, hardBytes: 32 MiB, graceMs: 5000}`
   */
  slowConsumer?: Partial<SlowConsumerLimits>;
  /**
   * Interval of the server's ws ping frames; a connection that missed the previous pong is terminated. 0 turns
   * the heartbeat off.
   * @default DEFAULTS.heartbeatMs (15 s)
   */
  heartbeatMs?: number;
  /**
   * How long to wait for a client's answer to a close frame (after 1001, 1013, 4429, …) before cutting the TCP
   * connection; bounds how long a closed slow consumer's buffer is held and how long `close()` takes.
   * @default DEFAULTS.closeTimeoutMs (5 s)
   */
  closeTimeoutMs?: number;
  /**
   * How long a TCP connection may take to send its whole HTTP request (an upgrade's request line and headers, or a
   * plain request); one that has not by then is answered 408 and cut — a socket that never sends a byte as well as
   * one that stops in the middle of a header. Node's own `headersTimeout`/`requestTimeout`, checked every fifth of
   * this (at most every second). `authenticate`, which runs once the headers are in, has its own bound
   * (`authenticateTimeoutMs`). 0 turns it off (Node's checks are then off too).
   * @default DEFAULTS.handshakeTimeoutMs (5 s)
   */
  handshakeTimeoutMs?: number;
  /**
   * How long a message may stay unfinished: a connection that has sent part of a message (a first fragment
   * without the last one, or part of a frame) and not completed it within this is closed with 1008 (policy
   * violation). Checked every quarter of it, so an unfinished message is cut after 1 to 1.25 times this; a message
   * that completes within it never is. 0 turns it off.
   * @default DEFAULTS.fragmentTimeoutMs (10 s)
   */
  fragmentTimeoutMs?: number;
  /**
   * TCP connections that are not (yet) admitted WebSocket connections: upgrades in progress (headers arriving,
   * `authenticate` running), refused connections until they are gone, plain HTTP requests. A connection beyond it
   * is destroyed as soon as it is accepted, before anything is read. 0 turns it off.
   * @default DEFAULTS.maxPendingUpgrades (1,000)
   */
  maxPendingUpgrades?: number;
  /**
   * Admitted WebSocket connections in total; more are closed with 1013 right after the upgrade (a refused
   * connection then counts as pending until it is gone). With `maxPendingUpgrades`, it bounds the sockets the
   * process holds: size the file-descriptor limit (`ulimit -n`) above their sum. 0 turns it off.
   * @default DEFAULTS.maxConnections (10,000)
   */
  maxConnections?: number;
  /**
   * Bytes queued to clients, summed over every connection (what `slowConsumer` bounds for one). When the sum
   * passes it, the connections holding the most are closed with 1013, largest first, until it is back under it;
   * checked once per event-loop turn after the sum passes it. 0 turns it off.
   * @default DEFAULTS.maxQueuedBytes (256 MiB)
   */
  maxQueuedBytes?: number;
  /**
   * Serve `GET /debug/stats` (memory, hub and transport counters, built-in prototype keys; `?gc=1` runs a full GC
   * first when the process has `--expose-gc`). With `authenticate`, a request must pass it like an upgrade does
   * (`Authorization: Bearer <token>`): 401 when refused, 503 when it throws or times out. Without, it reveals
   * internals to whoever reaches the port.
   * @default false
   */
  debugStats?: boolean;
}
