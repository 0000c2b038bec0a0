/**
 * The WebSocket class the mock hands to clients (`mock.WebSocket`): a browser-shaped facade over mock-socket's
 * client socket that hides where mock-socket 9.3 differs from a real browser socket.
 *
 * - Reachability is decided by the mock (`MockNetwork.dial`), so every path under `mock.url` connects, while a URL
 *   outside it fails like an unreachable host — with a `message` on the `error` event that says why, where a browser
 *   says nothing (the mock can tell a mistyped host from an outage).
 * - A connection that never opened reports `error`, then `close` with 1006 and `wasClean: false`, as browsers do;
 *   mock-socket reports 1000 for a refused or unserved connect.
 * - Offering subprotocols of which the server selects none fails the handshake, as browsers and `ws` do.
 * - Every listener runs in isolation: what one throws goes to `MockNetwork.reportError` and cannot stop the other
 *   listeners or unwind into whatever delivered the event (mock-socket dispatches synchronously).
 *
 * Browser-safe: no Node imports.
 */
import type { WebSocket as MockSocketClient } from 'mock-socket';

/** Ready states, as on the browser's WebSocket. */
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** What a `MockWebSocket` needs from the mock it belongs to. */
export interface MockNetwork {
  /**
   * Starts a connection to `url` offering `protocols`.
   * @returns mock-socket's client socket, or why the connect fails (undefined: as when nothing listens at `url`).
   */
  dial(url: URL, protocols: readonly string[]): MockSocketClient | DialFailure | undefined;
  /** Receives what an event listener threw. */
  reportError(error: unknown): void;
}

/** Why a dial failed. The connect fails either way: `error` (unless `silent`), then `close` 1006. */
export interface DialFailure {
  /** Goes on the `error` event as its `message`. */
  readonly message?: string;
  /** No `error` event, only the close: the reason was already reported (a client retrying the same URL). */
  readonly silent?: boolean;
}

/** The fields every event of a `MockWebSocket` carries. */
export interface MockEvent {
  readonly type: string;
  readonly target: MockWebSocket;
  readonly currentTarget: MockWebSocket;
  readonly timeStamp: number;
}

/** A `message` event: `data` is a string for text frames. */
export interface MockMessageEvent extends MockEvent {
  readonly data: unknown;
  readonly origin: string;
}

/**
 * An `error` event. A browser's carries no detail; the mock's has a `message` when it knows why a connect failed
 * (no mock serves that URL, the mock was closed), and the client passes the event on as `{kind: 'socket', event}`.
 */
export interface MockErrorEvent extends MockEvent {
  readonly message?: string;
}

/** A `close` event, as a browser reports it. */
export interface MockCloseEvent extends MockEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

type EventMap = { open: MockEvent; message: MockMessageEvent; error: MockErrorEvent; close: MockCloseEvent };
type EventName = keyof EventMap;
type Callback = (event: never) => void;
/** A listener function or an object with `handleEvent`, as `addEventListener` accepts. */
export type MockListener<E> = ((event: E) => void) | { handleEvent(event: E): void };

interface Entry {
  listener: MockListener<never>;
  once: boolean;
  /** Set for the entry that holds the `on<type>` attribute handler. */
  attribute?: boolean;
}

/** The constructor `mock.WebSocket` is: `new (url, protocols?)`, with the ready-state constants. */
export interface MockWebSocketConstructor {
  new (url: string | URL, protocols?: string | string[]): MockWebSocket;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
}

/** RFC 7230 token characters: what a subprotocol may consist of (browsers throw SyntaxError otherwise). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function domException(message: string, name: string): Error {
  // DOMException is global in browsers and Node ≥ 17; fall back to a named Error elsewhere.
  if (typeof DOMException === 'function') return new DOMException(message, name);
  return Object.assign(new Error(message), { name });
}

function parseUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw domException(`Failed to construct 'WebSocket': The URL '${String(url)}' is invalid.`, 'SyntaxError');
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw domException(`Failed to construct 'WebSocket': The URL's scheme must be either 'ws' or 'wss'.`, 'SyntaxError');
  }
  if (parsed.hash !== '') {
    throw domException(`Failed to construct 'WebSocket': The URL contains a fragment identifier.`, 'SyntaxError');
  }
  return parsed;
}

function parseProtocols(protocols: string | string[] | undefined): string[] {
  const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
  const seen = new Set<string>();
  for (const p of list) {
    if (!TOKEN.test(p)) throw domException(`Failed to construct 'WebSocket': The subprotocol '${p}' is invalid.`, 'SyntaxError');
    if (seen.has(p)) throw domException(`Failed to construct 'WebSocket': The subprotocol '${p}' is duplicated.`, 'SyntaxError');
    seen.add(p);
  }
  return list;
}

/**
 * A WebSocket connected to a mock server. Use the class from `mock.WebSocket`; instances behave like the browser's
 * WebSocket for everything monorail-ws (and most applications) touch.
 */
export class MockWebSocket {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  /** The URL, normalised as a browser does (`new URL(url).href`). */
  readonly url: string;
  /** The subprotocol the server selected; `''` until open or when none was offered. */
  protocol = '';
  readonly extensions = '';
  binaryType: 'blob' | 'arraybuffer' = 'blob';
  /** Always 0: the mock hands frames over at once. */
  readonly bufferedAmount = 0;

  readonly #network: MockNetwork;
  readonly #offered: readonly string[];
  readonly #listeners = new Map<EventName, Entry[]>();
  #inner: MockSocketClient | undefined;
  #state: number = CONNECTING;
  #opened = false;
  #errored = false;

  /** @internal Use `new mock.WebSocket(url, protocols)`. */
  constructor(network: MockNetwork, url: string | URL, protocols?: string | string[]) {
    const parsed = parseUrl(url);
    this.#offered = parseProtocols(protocols);
    this.#network = network;
    this.url = parsed.href;
    const inner = network.dial(parsed, this.#offered);
    if (inner === undefined || !('send' in inner)) {
      // Nothing listens there: fail on a later task, after the caller attached its handlers, like a browser.
      setTimeout(() => this.#fail(inner), 0);
      return;
    }
    this.#inner = inner;
    inner.onopen = () => this.#handleOpen(inner);
    inner.onmessage = (event) => this.#state === OPEN && this.#dispatch('message', { data: event.data, origin: this.url });
    inner.onerror = () => this.#handleError();
    inner.onclose = (event) => this.#handleClose(event.code, event.reason);
  }

  /** `CONNECTING` (0), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  get readyState(): number {
    return this.#state;
  }

  get onopen(): ((event: MockEvent) => void) | null {
    return this.#attribute('open');
  }
  set onopen(fn: ((event: MockEvent) => void) | null) {
    this.#setAttribute('open', fn);
  }
  get onmessage(): ((event: MockMessageEvent) => void) | null {
    return this.#attribute('message');
  }
  set onmessage(fn: ((event: MockMessageEvent) => void) | null) {
    this.#setAttribute('message', fn);
  }
  get onerror(): ((event: MockErrorEvent) => void) | null {
    return this.#attribute('error');
  }
  set onerror(fn: ((event: MockErrorEvent) => void) | null) {
    this.#setAttribute('error', fn);
  }
  get onclose(): ((event: MockCloseEvent) => void) | null {
    return this.#attribute('close');
  }
  set onclose(fn: ((event: MockCloseEvent) => void) | null) {
    this.#setAttribute('close', fn);
  }

  addEventListener<K extends EventName>(type: K, listener: MockListener<EventMap[K]> | null, options?: boolean | { once?: boolean }): void {
    if (listener === null) return;
    const entries = this.#entries(type);
    if (entries.some((e) => e.listener === listener && !e.attribute)) return;
    entries.push({ listener: listener as MockListener<never>, once: typeof options === 'object' && options.once === true });
  }

  removeEventListener<K extends EventName>(type: K, listener: MockListener<EventMap[K]> | null): void {
    const entries = this.#entries(type);
    const at = entries.findIndex((e) => e.listener === listener && !e.attribute);
    if (at !== -1) entries.splice(at, 1);
  }

  /**
   * Sends a frame. Throws `InvalidStateError` while connecting; silently discarded once closing or closed, as in
   * browsers.
   */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    if (this.#state === CONNECTING)
      throw domException(`Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.`, 'InvalidStateError');
    if (this.#state !== OPEN) return;
    this.#inner?.send(data);
  }

  /** Starts the closing handshake. `code` must be 1000 or 3000–4999 and `reason` at most 123 UTF-8 bytes. */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999 || !Number.isInteger(code))) {
      throw domException(
        `Failed to execute 'close' on 'WebSocket': The code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
        'InvalidAccessError',
      );
    }
    if (reason !== undefined && new TextEncoder().encode(reason).length > 123) {
      throw domException(`Failed to execute 'close' on 'WebSocket': The message must not be greater than 123 bytes.`, 'SyntaxError');
    }
    if (this.#state === CLOSING || this.#state === CLOSED) return;
    const wasConnecting = this.#state === CONNECTING;
    this.#state = CLOSING;
    // While connecting mock-socket fails the connection (error, then close, which we report as 1006); a socket
    // that was never dialled fails on its own already scheduled task.
    if (wasConnecting) this.#inner?.close();
    else this.#inner?.close(code, reason);
  }

  #handleOpen(inner: MockSocketClient): void {
    if (this.#state !== CONNECTING) return;
    const selected = inner.protocol;
    if (this.#offered.length > 0 && !this.#offered.includes(selected)) {
      // The server answered without one of the offered subprotocols: browsers and `ws` fail the handshake.
      this.#inner = undefined;
      inner.close();
      this.#fail();
      return;
    }
    this.protocol = selected;
    this.#opened = true;
    this.#state = OPEN;
    this.#dispatch('open', {});
  }

  #handleError(): void {
    if (this.#state === CLOSED) return;
    if (!this.#opened) this.#errored = true;
    this.#dispatch('error', {});
  }

  #handleClose(code: number, reason: string): void {
    if (this.#state === CLOSED) return;
    if (!this.#opened) {
      this.#fail();
      return;
    }
    this.#state = CLOSED;
    this.#inner = undefined;
    // A close frame arrived unless the connection was cut (1006), which is exactly when a browser says wasClean.
    this.#dispatch('close', { code, reason, wasClean: code !== 1006 });
  }

  /**
   * The connection could not be established: `error` (once; with the mock's `message` when it knows why, none when
   * `silent`), then `close` 1006 — what every browser reports.
   */
  #fail(why: DialFailure = {}): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#inner = undefined;
    if (!this.#errored && why.silent !== true) {
      this.#errored = true;
      this.#dispatch('error', why.message === undefined ? {} : { message: why.message });
    }
    this.#dispatch('close', { code: 1006, reason: '', wasClean: false });
  }

  #entries(type: EventName): Entry[] {
    let entries = this.#listeners.get(type);
    if (!entries) this.#listeners.set(type, (entries = []));
    return entries;
  }

  #attribute<K extends EventName>(type: K): ((event: EventMap[K]) => void) | null {
    const entry = this.#listeners.get(type)?.find((e) => e.attribute);
    return (entry?.listener as ((event: EventMap[K]) => void) | undefined) ?? null;
  }

  #setAttribute(type: EventName, fn: Callback | null): void {
    const entries = this.#entries(type);
    const at = entries.findIndex((e) => e.attribute);
    // As in the DOM, the attribute handler keeps the place where it was first set among the listeners.
    if (typeof fn !== 'function') {
      if (at !== -1) entries.splice(at, 1);
    } else if (at !== -1) entries[at]!.listener = fn;
    else entries.push({ listener: fn, once: false, attribute: true });
  }

  #dispatch<K extends EventName>(type: K, fields: Omit<EventMap[K], keyof MockEvent>): void {
    const event = { type, target: this, currentTarget: this, timeStamp: Date.now(), ...fields } as unknown as EventMap[K];
    for (const entry of [...this.#entries(type)]) {
      if (entry.once) this.removeEventListener(type, entry.listener as MockListener<EventMap[K]>);
      try {
        const { listener } = entry as unknown as { listener: MockListener<EventMap[K]> };
        if (typeof listener === 'function') listener.call(this, event);
        else listener.handleEvent(event);
      } catch (error) {
        // Like a browser reporting an exception from an event handler: the other listeners still run, and
        // nothing unwinds into the mock server that delivered the event.
        this.#network.reportError(error);
      }
    }
  }
}

/** Builds the `WebSocket` class of one mock: a `MockWebSocket` bound to that mock's network. */
export function createWebSocketClass(network: MockNetwork): MockWebSocketConstructor {
  return class WebSocket extends MockWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(network, url, protocols);
    }
  };
}
