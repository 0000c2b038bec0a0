/**
 * What the client needs from a WebSocket implementation, how it picks one, and how a token becomes the
 * subprotocols to offer.
 *
 * The client touches only `onopen/onmessage/onclose/onerror`, `send`, `close` and `readyState`: the common subset
 * of the browser's WebSocket, `ws`, undici's and mock-socket's (whose client has no `removeEventListener` worth
 * relying on). Nothing here patches a global.
 */
import WebSocketDefault from './node-websocket.js';
import { CLIENT_DEFAULTS as DEFAULTS, type CloseCode } from '../protocol/codes.js';

// Close codes as literals the compiler checks against `CloseCode`: esbuild does not inline `CloseCode.Normal` from
// the `as const` object, it bundles the whole table (measured), which the client otherwise never reads.
/** Our own `disconnect()`. */
export const NORMAL_CLOSURE: typeof CloseCode.Normal = 1000;
/** What a socket reports when it was lost without a close frame; we report it for a socket we gave up on. */
export const ABNORMAL_CLOSURE: typeof CloseCode.Abnormal = 1006;

// Declared through a method so the parameter is checked bivariantly: the browser's `(ev: MessageEvent) => any`,
// ws's and mock-socket's handler types are then all assignable, while ours stay precise.
type Listener<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of a socket's close event the client reads. */
export interface SocketCloseEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** The subset of a WebSocket instance the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Listener<unknown> | null;
  onmessage: Listener<{ readonly data: unknown }> | null;
  onclose: Listener<SocketCloseEvent> | null;
  onerror: Listener<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket class: the browser's `WebSocket`, `ws`'s, undici's, or mock-socket's.
 * Protocols are passed as an array, or left out when there are none.
 */
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

/**
 * A bearer token for the handshake, or a function returning one (possibly async). A function is called on every
 * connect, so a refreshed token is used after a reconnect.
 */
export type TokenOption = string | (() => string | Promise<string>);

/**
 * The injected implementation, else `globalThis.WebSocket` (browsers, Node 22+), else `ws` when it is installed
 * (Node 20 and 21; an optional peer dependency, see node-websocket.ts).
 * @throws TypeError saying what to install or pass when none is available.
 */
export function resolveWebSocket(injected?: WebSocketConstructor): WebSocketConstructor {
  const found =
    injected ??
    (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
    (WebSocketDefault as unknown as WebSocketConstructor | null);
  if (typeof found !== 'function') {
    // Node 20 and 21 have no global WebSocket. One short line: every browser bundle carries it.
    throw new TypeError('monorail-ws: no WebSocket implementation: `npm install ws`, or pass one: `new Connection(url, { WebSocket })`');
  }
  return found;
}

/**
 * The subprotocols to offer. With a token: `protocols` (default `['monorail-ws']`) plus `bearer.<token>`, the one
 * way a browser can send a credential (it cannot set headers, and query strings end up in access logs). Without a
 * token: `protocols`, or none, because a server that does not negotiate would make a browser fail the handshake.
 */
export function offeredProtocols(token: string | undefined, protocols: readonly string[] | undefined): string[] {
  // An empty token (signed out) is no token: `bearer.` alone would only earn a 4401.
  const offered = [...(protocols ?? (token ? [DEFAULTS.subprotocol] : []))];
  if (token) offered.push(`bearer.${token}`);
  return offered;
}

/**
 * Evaluates a token option on connect: calls a function, awaits a promise, then hands the token to `use` — at once
 * when it is not a promise — or what a function threw or a promise rejected with to `fail`.
 */
export function resolveToken(token: TokenOption | undefined, use: (token: string | undefined) => void, fail: (err: unknown) => void): void {
  let value: string | Promise<string> | undefined;
  try {
    value = typeof token === 'function' ? token() : token;
  } catch (err) {
    fail(err);
    return;
  }
  // A promise is the only object a token can be.
  if (typeof value === 'object') value.then(use, fail);
  else use(value);
}
