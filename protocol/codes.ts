/**
 * The tables every part of monorail-ws cites: close codes, error codes and defaults.
 * Code, tests and docs (PROTOCOL.md, docs/*.md) read these constants; a test checks the docs list
 * every entry, so they cannot drift apart.
 */

/** WebSocket close codes used by monorail-ws. */
export const CloseCode = {
  /** Normal closure: the client's own `disconnect()` or a clean shutdown it asked for. */
  Normal: 1000,
  /** The server is going away (shutdown, restart); clients reconnect, possibly elsewhere. */
  GoingAway: 1001,
  /** Abnormal closure: no close frame was received (network lost, process killed). Never sent, only observed. */
  Abnormal: 1006,
  /** The `Origin` header is not on the allowlist. */
  OriginNotAllowed: 1008,
  /**
   * RFC 6455's policy violation, the same code as `OriginNotAllowed`: a message whose fragments did not all arrive
   * within `DEFAULTS.fragmentTimeoutMs`.
   */
  PolicyViolation: 1008,
  /** A frame was larger than `maxPayload`. */
  TooBig: 1009,
  /** The server hit an unexpected condition, or could not check the credentials (`authenticate` failed). */
  InternalError: 1011,
  /** Slow consumer, too many connections from one address, or overloaded: the client reconnects and re-snapshots. */
  Overloaded: 1013,
  /** Authentication failed or missing. The client stops retrying until `connect()` is called. */
  Unauthenticated: 4401,
  /** The channel is forbidden for this principal. The client stops retrying until `connect()` is called. */
  Forbidden: 4403,
  /** Too many messages per second (the token bucket of `DEFAULTS.rateLimit` ran empty). */
  RateLimited: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** What each close code means and whether the client reconnects after it. */
export const CLOSE_CODES: Readonly<Record<CloseCode, { readonly meaning: string; readonly retry: boolean }>> = {
  1000: { meaning: 'normal closure', retry: true },
  1001: { meaning: 'server going away (shutdown or restart)', retry: true },
  1006: { meaning: 'abnormal closure, no close frame (network lost, server killed)', retry: true },
  1008: { meaning: 'origin not allowed, or a message left unfinished (policy violation)', retry: true },
  1009: { meaning: 'message too big (over maxPayload)', retry: true },
  1011: { meaning: 'internal server error, or the credentials could not be checked', retry: true },
  1013: { meaning: 'slow consumer, too many connections from one address, or server overloaded', retry: true },
  4401: { meaning: 'unauthenticated', retry: false },
  4403: { meaning: 'channel forbidden', retry: false },
  4429: { meaning: 'rate limited (too many messages per second)', retry: true },
};

/**
 * The close codes after which the client stops reconnecting: exactly the `retry: false` rows of `CLOSE_CODES`
 * (a test keeps the two in step). The client reads this list instead of the table, so a browser does not download
 * the meanings.
 */
// Literals, checked against `CloseCode` by the compiler: reading `CloseCode.X` would pull the whole object into a bundle.
export const NO_RETRY_CODES: readonly number[] = [4401, 4403] satisfies (typeof CloseCode.Unauthenticated | typeof CloseCode.Forbidden)[];

/** Stable codes carried by `error` frames (`params.code`). */
export const ERROR_CODES = {
  'bad-json': 'the frame is not valid JSON text',
  'bad-message': 'the frame is not a JSON object with a string handler and well-typed fields',
  'unknown-handler': 'the handler is not one the server knows',
  'bad-params': 'params is not a plain object, or uses an operator or key outside the allowlist',
  'unknown-channel': 'the channel (URL path or resource) does not exist',
  'source-unavailable': 'the data source (MongoDB) could not be read; watches are re-snapshotted when it returns',
  forbidden: 'the principal may not do this on this channel',
  'too-many-watches': 'the connection already holds the maximum number of watches, or its watches are over maxWatchBytes',
  'too-large':
    'a value is over the input budget (nesting, keys and elements, string or key length), a $in/$nin list over maxInValues, or a snapshot over maxListBytes',
  'too-many-reads':
    'the connection already has the maximum number of snapshot reads in flight (maxReadsInFlight), or they hold over maxReadBytes',
  'not-supported': 'the channel does not answer this handler (mq is a live stream: only watch and stop)',
  internal: 'the server hit an unexpected error while answering',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The defaults the client uses (part of `DEFAULTS`; kept apart so a browser bundle carries only these). */
export const CLIENT_DEFAULTS = {
  /** Entries kept by append-only channels (`logs`, `events`), per client store and per server channel key. */
  historyLimit: 1000,
  /** Reconnect backoff: full jitter over `min(maxMs, baseMs * factor ** attempt)`. */
  backoff: { baseMs: 500, maxMs: 30_000, factor: 2, jitter: 1, resetAfterMs: 5_000 },
  /** Frames the client queues while closed; the oldest is dropped beyond this. */
  maxQueue: 1000,
  /** Client heartbeat: send `ping` after this much silence when the server announces "ping". */
  clientPingAfterMs: 20_000,
  /** Client heartbeat: reconnect when nothing arrives this long after a `ping`. */
  clientPongTimeoutMs: 10_000,
  /** The WebSocket subprotocol every monorail-ws connection offers. */
  subprotocol: 'monorail-ws',
} as const;

/** Defaults shared by client, server and docs. */
// A pure call around the literal: a spread could run getters, so a bundler would keep it even where unused.
export const DEFAULTS = /* @__PURE__ */ (() =>
  ({
    ...CLIENT_DEFAULTS,
    /** Largest accepted frame in bytes; larger frames close the connection with 1009. */
    maxPayload: 1024 * 1024,
    /** Most items a `list` may carry; sources stop reading after this many. */
    maxListItems: 10_000,
    /** Identical snapshot reads start at most once per this many ms; requests in between share the next read. */
    coalesceWindowMs: 50,
    /** Most watches one connection may hold; more are refused with `too-many-watches`. */
    maxWatches: 100,
    /**
     * Messages per connection, as a token bucket: `burst` tokens, refilled at `perSecond`; an empty bucket closes
     * the connection with 4429. The burst must cover what a client sends at once after a reconnect: `init`, every
     * watch (up to `maxWatches`, 100) and its queued sends (up to `maxQueue`, 1000) — 1,101 frames — plus room for
     * `stop`s and pings, hence 1,200. 100 per second sustained is far above what a UI sends (a few per user action)
     * and bounds a flooding client to that many parses and source reads per second.
     */
    rateLimit: { perSecond: 100, burst: 1200 },
    /**
     * The RabbitMQ link's reconnect delays (`backoffDelay`): each in the upper half of `min(maxMs, baseMs * 2 **
     * attempt)`, so instances never hammer a broker that is starting yet spread apart. `amqp.reconnect` overrides it.
     */
    amqpBackoff: { baseMs: 500, maxMs: 10_000, factor: 2, jitter: 0.5 },
    /** Unacknowledged RabbitMQ messages the broker may push ahead of the server's handler (`amqp.prefetch`). */
    amqpPrefetch: 256,
    /** A RabbitMQ connection attempt (TCP and AMQP handshake) that has not completed after this long fails and is retried. */
    amqpConnectTimeoutMs: 10_000,
    /** Connections per remote address; 0 turns the limit off (the default: proxies and tests share addresses). */
    maxConnectionsPerIp: 0,
    /**
     * Slow consumers: a connection whose unsent bytes stay above `softBytes` for `graceMs`, or are above `hardBytes`
     * when another frame is to be queued, is closed with 1013 (the client reconnects and re-snapshots).
     */
    slowConsumer: { softBytes: 8 * 1024 * 1024, hardBytes: 32 * 1024 * 1024, graceMs: 5_000 },
    /** The server pings every connection this often (ws ping frames) and terminates one that missed the last pong. */
    heartbeatMs: 15_000,
    /** How long the server waits for the client's answer to a close frame before it cuts the TCP connection. */
    closeTimeoutMs: 5_000,
    /** On SIGTERM/SIGINT the process exits within this bound, forcibly (exit code 1) when closing takes longer. */
    shutdownTimeoutMs: 10_000,
    /** An `authenticate` call that has not settled after this long is treated as a failure (close 1011). */
    authenticateTimeoutMs: 10_000,
    /**
     * The parse-time budget of every client frame, checked right after `JSON.parse` and before any other code (the
     * parser, an error's echo, `matches`, the watch index) walks the value: nesting depth, object keys plus array
     * elements in the whole frame, and the length of every string and every key (field paths included). Over it:
     * `error` `too-large`; the connection stays open.
     */
    inputBudget: { maxDepth: 32, maxNodes: 20_000, maxStringLength: 65_536, maxKeyLength: 1_024 },
    /** Most values in one `$in` or `$nin` list of a filter; more: `error` `too-large`. */
    maxInValues: 1_000,
    /**
     * Bytes the watches of one connection may hold in the hub (their params and index keys, as the hub estimates
     * them); a watch that would pass it is refused with `too-many-watches`.
     */
    maxWatchBytes: 4 * 1024 * 1024,
    /**
     * Snapshot reads (query, all, get, watch) one connection may have started and not yet had answered; a request that
     * would start one more gets `error` `too-many-reads` (joining an identical read already in flight starts none and is
     * never refused). Like the rate limit's burst, it must cover what a client sends at once after a reconnect — every
     * watch (up to `maxWatches`, 100; a refused watch is dropped by the client) and its queued sends (up to `maxQueue`,
     * 1000), up to 1,100 distinct reads — hence 1,200 (256 refused most of a full queue). It bounds how many reads a
     * connection keeps waiting on a slow source, which the rate limit alone lets grow by 100 a second.
     */
    maxReadsInFlight: 1_200,
    /**
     * Bytes the snapshot reads one connection started and has not had answered may hold, as the hub estimates them
     * (`readBytes` in `server/hub/hub-connection.ts`: from the read's key and params, at or above the heap a read was
     * measured to hold while its source stalls); a read that would pass it gets `error` `too-many-reads`.
     * `maxReadsInFlight` counts reads, not what they hold: 1,200 reads of 1 MiB params held ~2.6 GiB while a source
     * stalled, two connections passed the heap limit. 16 MiB, not less, because it must cover a reconnect like
     * `maxReadsInFlight`: re-reading watches up to `maxWatchBytes` (4 MiB) is estimated at up to ~2× that (8 MiB: the
     * key counts twice for a read, once for a watch), and 1,000 small queued queries at ~2.1 KB each (~2.1 MiB).
     */
    maxReadBytes: 16 * 1024 * 1024,
    /** Most bytes of records one `list` may carry (JSON); a larger snapshot is refused with `error` `too-large`. */
    maxListBytes: 64 * 1024 * 1024,
    /** A connection whose HTTP upgrade (headers included) has not completed this long after its TCP connect is cut. */
    handshakeTimeoutMs: 5_000,
    /** A message whose fragments have not all arrived this long after its first one closes the connection (1008). */
    fragmentTimeoutMs: 10_000,
    /** TCP sockets that have not completed their upgrade yet; more are cut at once. */
    maxPendingUpgrades: 1_000,
    /** Open WebSocket connections in total; more are closed with 1013 right after the upgrade. */
    maxConnections: 10_000,
    /**
     * Bytes queued to clients, summed over every connection: past it, the connections holding the most are closed with
     * 1013 (largest first) until the sum is back under it.
     */
    maxQueuedBytes: 256 * 1024 * 1024,
    /**
     * A broker message the server cannot place (malformed, unmapped, for a record it does not know) is counted, and
     * logged at most once per kind per this many ms, with the count since the last line: a busy RackHD must not turn
     * one oddity into a log line per message.
     */
    unplaceableLogIntervalMs: 60_000,
    /**
     * The RabbitMQ exchanges the `mq` channel may watch (RackHD's log and event streams, as its 1.x socket server
     * allowed); `mq.exchanges` replaces the list. Any other exchange: `error` `forbidden`.
     */
    mqExchanges: ['on.logging', 'on.events'] as readonly string[],
    /**
     * The URL path prefix of RackHD's 1.x dialect: a connection to `/rackhd/<channel>` speaks what RackHD's own socket
     * server spoke (RackHD's 1.x UI with `RackHD_WSS: "host:9100/rackhd"`); `rackhd1x.path` changes it.
     */
    legacyPath: '/rackhd',
    /** Longest `routingKey` an `mq` watch may give (AMQP's short-string limit); longer: `error` `bad-params`. */
    maxRoutingKeyLength: 255,
    /**
     * Resume (`resume: true`): what the server keeps so that a client re-watching with a position gets only what it
     * missed. `historyEntries` and `historyBytes` bound each resumable channel's history of changes (the JSON of
     * their records, estimated); past either the oldest go, and a position older than what is left gets a full
     * `list`. `progressIntervalMs`: how often a quiet watch gets a `progress` bookmark. `waitMs`: how long a `watch`
     * whose position this instance has not reached yet (another instance read further into the RabbitMQ stream)
     * waits before it is answered with a full `list`. `maxMarkers`: epoch boundaries remembered (below).
     */
    resume: { historyEntries: 10_000, historyBytes: 8 * 1024 * 1024, progressIntervalMs: 15_000, waitMs: 5_000, maxMarkers: 1_000 },
    /**
     * The RabbitMQ stream that carries resumable channels' changes with `amqp` and `resume` (one per broker and exchange
     * prefix, shared by every instance). `maxAge`, `maxLengthBytes` and `maxSegmentSizeBytes` are its retention, as
     * the stream's `x-max-age`, `x-max-length-bytes` and `x-stream-max-segment-size-bytes` (the broker drops whole
     * segments, so a segment much smaller than `maxLengthBytes` keeps retention close to what is asked). An instance
     * that starts reads the last `readBackMs` of it into its history; `markerIntervalMs` bounds how long the stream
     * goes without an epoch marker.
     */
    stream: {
      name: 'monorail-ws.changes',
      maxAge: '1h',
      maxLengthBytes: 256 * 1024 * 1024,
      maxSegmentSizeBytes: 8 * 1024 * 1024,
      readBackMs: 300_000,
      markerIntervalMs: 60_000,
    },
  }) as const)();
