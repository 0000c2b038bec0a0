/**
 * One client connection as the hub and application code see it: the seed's `conn` with
 * `on('message'|'close'|'error')` and `send(data)`; and the hub's subscriptions it holds, one per resource name
 * it used (`subscriptionOf`, `addSubscription`, `subscriptionsOf`). Browser-safe.
 */
import { CloseCode, type ClientMessage, type ErrorCode, type ErrorRequest } from '../../protocol/index.js';
import type { ChannelState, Subscription } from './channel-state.js';
import type { LoggedChange } from './record-memory.js';
import type { HubSocket, SharedFrame, SocketEvents } from './socket.js';
import type { JsonValue, Params } from '../../protocol/index.js';
import { stringBytes, valueBytes } from './watch-bytes.js';

/**
 * What a snapshot read in flight holds besides its key and its params: the read record, its joiner, the request kept
 * to echo, the source's promise and its callbacks. Measured at ~1,660–1,780 bytes a read (`dispatch.test.ts`,
 * "maxReadBytes"), rounded up.
 */
const READ_FIXED = 2_048;
/**
 * What an object property of the params holds beyond the entry `valueBytes` counts: its share of the dictionary's
 * hash table and its key, interned by `JSON.parse` (9,000 short distinct keys measured at ~80 bytes a property).
 */
const READ_PROPERTY = 64;

/** Object properties in a parsed JSON value (validated params: at most `inputBudget.maxDepth` levels deep). */
function propertyCount(value: JsonValue): number {
  if (value === null || typeof value !== 'object') return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const v of value) count += propertyCount(v);
    return count;
  }
  for (const key of Object.keys(value)) count += 1 + propertyCount(value[key] as JsonValue);
  return count;
}

/**
 * The bytes the read `key` (`readKey`: channel, kind, canonical params) of `params` holds until it is answered, as
 * `maxReadBytes` counts them: the key twice (the string, and the object keys of the params, which `valueBytes` leaves
 * out and which are at most as long), the params as parsed (`valueBytes`, slots and numbers included, and
 * `READ_PROPERTY` a property), and the fixed part. A multiple of the key alone would not bound it: the heap held per
 * byte of key, measured with a source that never answers, is 2.0× for long strings, 2.4× for `$in` lists of
 * 48-character strings, 5.1× for `$in` lists of one-digit numbers (an 8-byte slot for 2 characters), 6.3× for 9,000
 * short keys and 35× for a tiny `{"rack":"r1"}` (the fixed part).
 */
export function readBytes(key: string, params: Params): number {
  return READ_FIXED + 2 * stringBytes(key) + valueBytes(params) + READ_PROPERTY * propertyCount(params);
}

/**
 * Why `conn` may not start one more snapshot read holding `bytes` (`readBytes`) — over `maxReadsInFlight` or
 * `maxReadBytes` — or undefined when it may. Both dialects ask it before starting a read; joining a read already in
 * flight is never refused, so they ask only when there is none to join.
 */
export function readRefusal(conn: HubConnection, bytes: number, maxReadsInFlight: number, maxReadBytes: number): string | undefined {
  if (conn.readsInFlight >= maxReadsInFlight) {
    const max = maxReadsInFlight.toLocaleString('en-US');
    return `a connection may have at most ${max} snapshot reads in flight (maxReadsInFlight); wait for their answers`;
  }
  if (conn.readBytesInFlight + bytes <= maxReadBytes) return undefined;
  const [cost, held, max] = [bytes, conn.readBytesInFlight, maxReadBytes].map((n) => n.toLocaleString('en-US'));
  return `this read holds about ${cost} bytes and the connection's reads in flight already ${held}: over maxReadBytes (${max}); wait for their answers`;
}

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
  /** @internal What those reads hold, as `readBytes` estimates it (for `maxReadBytes`). */
  readBytesInFlight = 0;
  /**
   * @internal The client takes `progress` frames: it listed `"resume"` in its `init` features, or sent a `watch`
   * with a position (an older client would report an unknown frame).
   */
  resumeAware = false;

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

  /** @internal This connection started a snapshot read holding `bytes` (`readBytes`): it counts in `readsInFlight` and `readBytesInFlight`. */
  startedRead(bytes: number): void {
    this.readsInFlight++;
    this.readBytesInFlight += bytes;
  }

  /** @internal A read it started, holding `bytes`, was answered (a result, an error, or none to a closed connection). */
  answeredRead(bytes: number): void {
    this.readsInFlight--;
    this.readBytesInFlight -= bytes;
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
