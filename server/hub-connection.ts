/**
 * One client connection as the hub and application code see it: the seed's `conn` with
 * `on('message'|'close'|'error')` and `send(data)`. Browser-safe.
 */
import type { ClientMessage } from '../protocol/index.js';
import type { Subscription } from './channel-state.js';

/**
 * A text frame the hub sends to many connections (a change fanned out, a broadcast): serialised once, and an
 * adapter may keep its wire encoding of it in `encoded` so that it is built once for all recipients too.
 */
export class SharedFrame {
  /** The adapter's encoding of `text` (the ws adapter: the WebSocket frame bytes), built by the first send. */
  encoded: unknown = undefined;

  constructor(
    /** The JSON text. */
    readonly text: string,
  ) {}
}

/** The minimal socket the hub needs; the ws and mock-socket adapters implement it in a few lines. */
export interface HubSocket {
  /** Sends one text frame. */
  send(data: string): void;
  /**
   * Sends a frame shared with other connections, exactly like `send(frame.text)` (same bytes, same order with
   * everything else sent); optional, for adapters that can reuse one encoding for every recipient.
   */
  sendFrame?(frame: SharedFrame): void;
  /** Closes with a code from `CloseCode`. */
  close(code: number, reason?: string): void;
  /** Registers the handler of incoming frames (`isBinary` for binary frames, which the protocol refuses). */
  onMessage(handler: (data: string, isBinary: boolean) => void): void;
  /** Registers the handler of the socket's end. */
  onClose(handler: (code: number, reason: string) => void): void;
  /** Bytes queued for sending but not yet written (for slow-consumer policies); 0 when unknown. */
  readonly bufferedAmount?: number;
  /** The peer address, when the transport knows it; read only when asked (`HubConnection.remoteAddress`). */
  readonly remoteAddress?: string;
  /**
   * Optional, instead of `onMessage` and `onClose`: the hub hands over its connection, and the adapter calls
   * `conn.receive(data, isBinary)` for every frame and `conn.ended(code, reason)` once closed. Then a connection
   * costs no handler closures, which counts when a server holds many thousands of idle ones (the ws adapter).
   */
  attach?(conn: SocketEvents): void;
}

/** What a socket reports to (`HubSocket.attach`): a `HubConnection`. */
export interface SocketEvents {
  /** A frame arrived (`isBinary` for binary frames, which the protocol refuses). */
  receive(data: string, isBinary: boolean): void;
  /** The socket ended. */
  ended(code: number, reason: string): void;
}

/** @internal What the hub does with a connection's frames and its end: one object per hub, shared by its connections. */
export interface ConnectionHost {
  receive(conn: HubConnection, data: string, isBinary: boolean): void;
  closed(conn: HubConnection, code: number, reason: string): void;
}

/** Events of a `HubConnection`. */
export interface HubConnectionEvents {
  /** A valid client message, before the hub answers it. */
  message: ClientMessage;
  /** The connection ended. */
  close: { code: number; reason: string };
  /** A frame was refused (`ProtocolError`) or answering failed. */
  error: Error;
}

type Listener<T> = (payload: T) => void;

/**
 * A connected client. `id` is its session id. Every field is set in the constructor (one hidden class), and what
 * most connections never use costs nothing until used: listeners, subscriptions.
 */
export class HubConnection implements SocketEvents {
  /** Created by the first `on`: most connections have no application listener. */
  private listeners: { [K in keyof HubConnectionEvents]?: Set<Listener<HubConnectionEvents[K]>> } | undefined = undefined;
  /** Whether the socket has closed. */
  closed = false;
  /**
   * @internal The hub's subscriptions of this connection, one per resource name it used: none, the one (a connection
   * rarely uses more than its own channel, and then needs no array), or an array replaced, never mutated, when one
   * is added.
   */
  subs: Subscription | readonly Subscription[] | undefined = undefined;
  /** @internal Watches held on every channel (for `maxWatches`). */
  watchCount = 0;
  /** @internal What those watches hold, as the hub estimates it (for `maxWatchBytes`). */
  watchBytes = 0;
  /** @internal Snapshot reads this connection started that are not answered yet (for `maxReadsInFlight`). */
  readsInFlight = 0;

  constructor(
    /** Session id (random, 128 bits). */
    readonly id: string,
    /** The channel named by the URL path (may be unknown or empty; messages can name others via `resource`). */
    readonly channel: string,
    private readonly socket: HubSocket,
    /** What `authenticate` returned for this connection, if anything. */
    readonly principal: unknown,
    private readonly address: string | undefined = undefined,
    private readonly host: ConnectionHost | undefined = undefined,
  ) {}

  /** @internal A frame from the socket (`HubSocket.attach`). */
  receive(data: string, isBinary: boolean): void {
    this.host?.receive(this, data, isBinary);
  }

  /** @internal The socket ended (`HubSocket.attach`). */
  ended(code: number, reason: string): void {
    this.host?.closed(this, code, reason);
  }

  /** The peer address when the transport knows it. */
  get remoteAddress(): string | undefined {
    return this.address ?? this.socket.remoteAddress;
  }

  /** Bytes the transport has not written yet. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount ?? 0;
  }

  on<K extends keyof HubConnectionEvents>(event: K, listener: Listener<HubConnectionEvents[K]>): this {
    const listeners = (this.listeners ??= {});
    let set = listeners[event] as Set<Listener<HubConnectionEvents[K]>> | undefined;
    if (!set) (listeners as Record<string, unknown>)[event] = set = new Set();
    set.add(listener);
    return this;
  }

  off<K extends keyof HubConnectionEvents>(event: K, listener: Listener<HubConnectionEvents[K]>): this {
    (this.listeners?.[event] as Set<Listener<HubConnectionEvents[K]>> | undefined)?.delete(listener);
    return this;
  }

  /** @internal */
  emit<K extends keyof HubConnectionEvents>(event: K, payload: HubConnectionEvents[K]): void {
    const set = this.listeners?.[event] as Set<Listener<HubConnectionEvents[K]>> | undefined;
    if (!set) return;
    for (const listener of set) {
      // Application listeners must not be able to break the hub's handling of this or other connections.
      try {
        listener(payload);
      } catch {
        /* isolated on purpose */
      }
    }
  }

  /** Sends a frame: a string as is, anything else as JSON. Ignored once closed. */
  send(data: unknown): void {
    if (this.closed) return;
    this.socket.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** @internal Sends a frame shared with other connections (see `SharedFrame`). Ignored once closed. */
  sendFrame(frame: SharedFrame): void {
    if (this.closed) return;
    if (this.socket.sendFrame) this.socket.sendFrame(frame);
    else this.socket.send(frame.text);
  }

  /** Closes the connection with a code from `CloseCode`. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.socket.close(code, reason);
  }
}
