/**
 * The security and robustness options of `createServer`, in a file of their own so the public declarations do
 * not pull in `ws` types. Every default is safe; the numbers live in `DEFAULTS` (`protocol/codes.ts`).
 */
import type { Authenticate } from './auth.js';
import type { SlowConsumerLimits } from './backpressure.js';
import type { RateLimit } from './limits.js';

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
   * Serve `GET /debug/stats` (memory, hub counters, built-in prototype keys; `?gc=1` runs a full GC first when
   * the process has `--expose-gc`). It reveals internals to whoever reaches the port.
   * @default false
   */
  debugStats?: boolean;
}
