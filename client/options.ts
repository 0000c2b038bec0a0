/**
 * The options of `new Connection(url, options)` (and of `createClient`, which passes them to every channel).
 * Every default comes from `DEFAULTS` in `protocol/codes.ts`, the one table code and docs cite.
 */
import type { BackoffPolicy } from '../protocol/backoff.js';
import { CLIENT_DEFAULTS as DEFAULTS } from '../protocol/codes.js';
import type { Timers } from '../protocol/timers.js';
import { resolveWebSocket, type TokenOption, type WebSocketConstructor } from './socket.js';
import type { StoreOptions } from './store.js';

/** The client's application-level heartbeat, used only when the server announces the `ping` feature. */
export interface HeartbeatOptions {
  /**
   * Silence (no frame received) after which the client sends `{handler: 'ping'}`.
   * @default 20000 (`DEFAULTS.clientPingAfterMs`)
   */
  pingAfterMs: number;
  /**
   * How long after a ping a frame must arrive before the client drops the socket and reconnects.
   * @default 10000 (`DEFAULTS.clientPongTimeoutMs`)
   */
  timeoutMs: number;
}

export type { Timers } from '../protocol/timers.js';

/** The client's reconnect policy: the shared `BackoffPolicy` and when a connection counts as stable again. */
export interface BackoffOptions extends BackoffPolicy {
  /**
   * A connection that stays open this long resets the attempt counter, so a flapping server keeps backing off
   * while a server that was fine for a while is retried quickly after the next drop.
   * @default 5000
   */
  resetAfterMs: number;
}

/** Options of `new Connection(url, options)`. Every field is optional. */
export interface ConnectionOptions {
  /**
   * The WebSocket class to use.
   * @default globalThis.WebSocket, else `ws` when installed (Node 20 and 21)
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Bearer token offered as the subprotocol `bearer.<token>` next to `monorail-ws`; a function is called (and
   * awaited) on every connect, so a refreshed token is used after a reconnect.
   * @default undefined (no credential, no subprotocol)
   */
  token?: TokenOption;
  /**
   * Subprotocols to offer; a token is added to these.
   * @default `['monorail-ws']` with a token, none without
   */
  protocols?: string[];
  /**
   * Reconnect policy; missing fields take the defaults.
   * @default `DEFAULTS.backoff`: `{baseMs: 500, maxMs: 30000, factor: 2, jitter: 1, resetAfterMs: 5000}`
   */
  backoff?: Partial<BackoffOptions>;
  /**
   * Most `query`/`all`/`get` messages kept while not open; beyond this the oldest is dropped and reported.
   * @default 1000 (`DEFAULTS.maxQueue`)
   */
  maxQueue?: number;
  /**
   * Connect from the constructor.
   * @default true
   */
  autoConnect?: boolean;
  /**
   * Heartbeat timing, or `false` to never ping.
   * @default `{pingAfterMs: 20000, timeoutMs: 10000}`
   */
  heartbeat?: Partial<HeartbeatOptions> | false;
  /**
   * Timer functions for backoff, heartbeat and the backoff reset.
   * @default the global `setTimeout`/`clearTimeout`
   */
  timers?: Timers;
  /**
   * Randomness for backoff jitter, a number in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /**
   * How the store identifies and keeps records.
   * @default `channelInfo(channel)` (e.g. `workflows` use `instanceId`, `logs` are append-only)
   */
  store?: StoreOptions;
}

/** `ConnectionOptions` with every default applied, as `Connection` uses them. */
export interface ResolvedOptions {
  readonly WebSocket: WebSocketConstructor;
  readonly token?: TokenOption | undefined;
  readonly protocols?: readonly string[] | undefined;
  readonly backoff: BackoffOptions;
  readonly maxQueue: number;
  readonly heartbeat: HeartbeatOptions | false;
  /** Undefined: `backoffDelay`'s own default, `Math.random`. */
  readonly random?: (() => number) | undefined;
  /** The injected timers or the global ones, called without a receiver either way. */
  readonly timers: Timers;
}

/**
 * Applies the defaults.
 * @throws TypeError when no WebSocket implementation is available.
 */
export function resolveOptions(options: ConnectionOptions): ResolvedOptions {
  const { heartbeat } = options;
  // Called without a receiver: a browser's setTimeout throws "Illegal invocation" when called on another object.
  const { setTimeout: set, clearTimeout: clear } = options.timers ?? globalThis;
  return {
    ...options,
    WebSocket: resolveWebSocket(options.WebSocket),
    backoff: { ...DEFAULTS.backoff, ...options.backoff },
    maxQueue: options.maxQueue ?? DEFAULTS.maxQueue,
    heartbeat:
      heartbeat === false ? false : { pingAfterMs: DEFAULTS.clientPingAfterMs, timeoutMs: DEFAULTS.clientPongTimeoutMs, ...heartbeat },
    timers: { setTimeout: (fn, ms) => set(fn, ms), clearTimeout: (handle) => clear(handle as Parameters<typeof clearTimeout>[0]) },
  };
}
