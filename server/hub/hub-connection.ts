/**
 * One client connection as the hub and application code see it: the seed's `conn` with
 * `on('message'|'close'|'error')` and `send(data)`; and the hub's subscriptions it holds, one per resource name
 * it used (`subscriptionOf`, `addSubscription`, `subscriptionsOf`). Browser-safe.
 */
import { CloseCode, type ClientMessage, type ErrorCode, type ErrorRequest } from '../../protocol/index.js';
import type { ChannelState, Subscription } from './channel-state.js';
import type { LoggedChange } from './record-memory.js';
import type { HubSocket, SharedFrame, SocketEvents } from './socket.js';

/**
 * @internal What the hub does with a connection's frames, its end, and a failure to answer it: one object per hub,
 * shared by its connections.
 */
export interface ConnectionHost {
  receive(conn: HubConnection, data: string, isBinary: boolean): void;
  closed(conn: HubConnection, code: number, reason: string): void;
  /** `conn` was abandoned (`HubConnection.abandon`): the hub logs `what` went wrong. */
  abandoned(conn: HubConnection, what: string, err: unknown): void;
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
 * Another dialect a connection may speak (RackHD 1.x, `dialect-1x.ts`): it takes the connection's frames, words
 * its change frames and `get` misses, and answers refusals its own way.
 */
export interface ConnectionDialect {
  receive(conn: HubConnection, data: string, isBinary: boolean): void;
  refused(conn: HubConnection, code: ErrorCode, message: string, request?: ErrorRequest): void;
  frame(state: ChannelState, change: LoggedChange, kind: 'item' | 'remove', resource: string): SharedFrame;
  notFound(resource: string): string;
}

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
  /** @internal The dialect the connection speaks when it is not the seed's protocol (set by `Hub.accept`). */
  dialect: ConnectionDialect | undefined = undefined;

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

  /**
   * @internal The hub could not answer this connection: a reply that could not be built or sent (a socket whose send
   * throws, a value `JSON.stringify` cannot take) leaves it in an unknown state. It is closed with 1011 (the client
   * reconnects and resyncs) and the host logs why; every other connection goes on. Never throws: it runs where
   * nothing would catch an exception (a read's completion, on a later tick; ws's event emitter).
   */
  abandon(what: string, err: unknown): void {
    try {
      this.close(CloseCode.InternalError, 'internal error');
    } catch {
      // A socket that cannot even close is beyond use; the line below says why it was abandoned.
    }
    try {
      this.host?.abandoned(this, what, err);
    } catch {
      // A logger that throws: nowhere left to report to.
    }
  }

  /** Closes the connection with a code from `CloseCode`. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.socket.close(code, reason);
  }
}

/** The subscription of `conn` under `resource`, if it has one (a connection rarely has more than one). */
export function subscriptionOf(conn: HubConnection, resource: string): Subscription | undefined {
  const subs = conn.subs;
  if (!Array.isArray(subs)) return (subs as Subscription | undefined)?.resource === resource ? (subs as Subscription) : undefined;
  for (let i = 0; i < subs.length; i++) if (subs[i]!.resource === resource) return subs[i];
  return undefined;
}

/** Adds a subscription to `conn`: the first is held alone, more in an array replaced (never mutated) each time. */
export function addSubscription(conn: HubConnection, sub: Subscription): void {
  const subs = conn.subs;
  conn.subs = subs === undefined ? sub : Array.isArray(subs) ? subs.concat(sub) : [subs as Subscription, sub];
}

/** Every subscription of `conn`. */
export function subscriptionsOf(conn: HubConnection): readonly Subscription[] {
  const subs = conn.subs;
  return subs === undefined ? [] : Array.isArray(subs) ? subs : [subs as Subscription];
}
