/**
 * The tables every part of monorail-ws cites: close codes, error codes and defaults.
 * Code, tests and docs (PROTOCOL.md, README.md) read these constants; a test checks the docs list
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
  /** A frame was larger than `maxPayload`. */
  TooBig: 1009,
  /** The server hit an unexpected condition. */
  InternalError: 1011,
  /** Slow consumer or server overloaded: the client reconnects and re-snapshots. */
  Overloaded: 1013,
  /** Authentication failed or missing. The client stops retrying until `connect()` is called. */
  Unauthenticated: 4401,
  /** The channel is forbidden for this principal. The client stops retrying until `connect()` is called. */
  Forbidden: 4403,
  /** Too many messages per second. */
  RateLimited: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** What each close code means and whether the client reconnects after it. */
export const CLOSE_CODES: Readonly<Record<CloseCode, { readonly meaning: string; readonly retry: boolean }>> = {
  1000: { meaning: 'normal closure', retry: true },
  1001: { meaning: 'server going away (shutdown or restart)', retry: true },
  1006: { meaning: 'abnormal closure, no close frame (network lost, server killed)', retry: true },
  1008: { meaning: 'origin not allowed', retry: true },
  1009: { meaning: 'message too big (over maxPayload)', retry: true },
  1011: { meaning: 'internal server error', retry: true },
  1013: { meaning: 'slow consumer or server overloaded', retry: true },
  4401: { meaning: 'unauthenticated', retry: false },
  4403: { meaning: 'channel forbidden', retry: false },
  4429: { meaning: 'rate limited', retry: true },
};

/** Stable codes carried by `error` frames (`params.code`). */
export const ERROR_CODES = {
  'bad-json': 'the frame is not valid JSON text',
  'bad-message': 'the frame is not a JSON object with a string handler and well-typed fields',
  'unknown-handler': 'the handler is not one the server knows',
  'bad-params': 'params is not a plain object, or uses an operator or key outside the allowlist',
  'unknown-channel': 'the channel (URL path or resource) does not exist',
  'source-unavailable': 'the data source (MongoDB) could not be read; watches are re-snapshotted when it returns',
  forbidden: 'the principal may not do this on this channel',
  'too-many-watches': 'the connection already holds the maximum number of watches',
  internal: 'the server hit an unexpected error while answering',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Defaults shared by client, server and docs. */
export const DEFAULTS = {
  /** Largest accepted frame in bytes; larger frames close the connection with 1009. */
  maxPayload: 1024 * 1024,
  /** Entries kept by append-only channels (`logs`, `events`), per client store and per server channel key. */
  historyLimit: 1000,
  /** Most items a `list` may carry; sources stop reading after this many. */
  maxListItems: 10_000,
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
