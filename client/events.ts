/**
 * The typed events of a `Connection` and the emitter that carries them: mitt's API and handler map with `once`, and
 * an `emit` that isolates listeners. mitt calls handlers in a plain loop, so one throwing listener would skip the
 * others and unwind into the socket callback that emitted; a connection must not break because a UI handler did.
 */
import type { EventHandlerMap, EventType, Handler, WildcardHandler } from 'mitt';
import type { ErrorCode } from '../protocol/codes.js';
import type {
  ClientMessage,
  ErrorRequest,
  ItemMessage,
  ListMessage,
  PongMessage,
  ProgressMessage,
  RemoveMessage,
  ResumedMessage,
  ServerMessage,
  SessionMessage,
} from '../protocol/messages.js';

/** Where a connection is in its life cycle. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Payload of `close`: the socket's close event. */
export interface CloseInfo {
  /** Close code (see `CLOSE_CODES`); 1006 when the connection was lost or the handshake failed. */
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Payload of `reconnecting`: a retry is scheduled. */
export interface ReconnectInfo {
  /** 1 for the first retry after a drop; reset after a stable connection (`backoff.resetAfterMs`). */
  attempt: number;
  /** Wait before this retry, from `backoffDelay`. */
  delayMs: number;
}

/**
 * Payload of `error`, one event for every kind of trouble, told apart by `kind`:
 * - `socket`: the transport reported an error (`event` is its error event), or the socket could not be created or
 *   the token function failed (`event` is what was thrown). A close and a reconnect follow.
 * - `server`: the server answered with an `error` frame. The connection stays open.
 * - `queue-overflow`: a message sent while closed was dropped because the queue was full (`maxQueue`).
 * - `protocol`: the server sent a frame that is not valid protocol; it was ignored.
 * - `listener`: an event listener, a `ready`/`init` callback or a store subscriber (`source: 'store'`) threw.
 *   When nothing listens for `error`, or an `error` listener throws, the error is rethrown asynchronously
 *   instead, so a bug is never silent.
 */
export type ConnectionError =
  | { kind: 'socket'; event: unknown }
  | { kind: 'server'; code: ErrorCode; message: string; request?: ErrorRequest; resource?: string }
  | { kind: 'queue-overflow'; dropped: ClientMessage }
  | { kind: 'protocol'; code: ErrorCode; message: string }
  | { kind: 'listener'; source: keyof ConnectionEvents | 'store'; error: unknown };

/**
 * Every event a `Connection` emits, with its payload.
 * `ready` and `init` fire on every (re)connect; the `ready(cb)`/`init(cb)` methods call back once.
 */
export type ConnectionEvents = {
  /** The socket opened (`url` is the one it reached, relevant with a URL list). */
  open: { url: string };
  /** Same moment as `open`: the connection can send. */
  ready: { url: string };
  /** The server gave this connection a session id. */
  init: string;
  close: CloseInfo;
  reconnecting: ReconnectInfo;
  state: ConnectionState;
  /** Every valid frame the server sent, before its own event. */
  message: ServerMessage;
  session: SessionMessage;
  list: ListMessage;
  item: ItemMessage;
  remove: RemoveMessage;
  pong: PongMessage;
  /** A quiet watch's bookmark (a server with `"resume"`). */
  progress: ProgressMessage;
  /** The server replayed what a re-sent watch missed instead of a new `list`: the watch is live again. */
  resumed: ResumedMessage;
  error: ConnectionError;
};

/**
 * mitt's API (`on`, `off`, `emit`, the `all` map, `'*'` for every event) plus `once`; `on` and `once` also
 * return a function that removes the handler.
 */
export interface Events<E extends Record<EventType, unknown>> {
  /** Handlers by event type, as in mitt. */
  readonly all: EventHandlerMap<E>;
  on<K extends keyof E>(type: K, handler: Handler<E[K]>): () => void;
  on(type: '*', handler: WildcardHandler<E>): () => void;
  /** Calls `handler` for the next `type` event only. */
  once<K extends keyof E>(type: K, handler: Handler<E[K]>): () => void;
  off<K extends keyof E>(type: K, handler?: Handler<E[K]>): void;
  off(type: '*', handler: WildcardHandler<E>): void;
  emit<K extends keyof E>(type: K, event: E[K]): void;
}

/**
 * mitt's emitter, written out here (a few lines, so a browser does not download mitt and a wrapper around it), with
 * an `emit` that calls every handler even when one throws, passing each error to `onError`. Same semantics as mitt
 * 3: handlers per type in an array, `off(type)` without a handler clears the type, `'*'` handlers get `(type, event)`.
 * @param onError Receives what a handler threw and the event it was handling.
 */
export function createEvents<E extends Record<EventType, unknown>>(onError: (error: unknown, type: keyof E) => void): Events<E> {
  type AnyHandler = (...args: unknown[]) => void;
  const all = new Map<keyof E | '*', AnyHandler[]>();
  const run = (type: keyof E, key: keyof E | '*', args: unknown[]): void => {
    // A copy, as mitt does, so handlers that add or remove handlers do not disturb this emit.
    for (const h of all.get(key)?.slice() ?? []) {
      try {
        h(...args);
      } catch (err) {
        onError(err, type);
      }
    }
  };
  const off = (type: keyof E | '*', handler?: AnyHandler): void => {
    const list = all.get(type);
    if (list === undefined) return;
    if (handler === undefined) {
      all.set(type, []);
      return;
    }
    const index = list.indexOf(handler);
    if (index !== -1) list.splice(index, 1);
  };
  const on = (type: keyof E | '*', handler: AnyHandler): (() => void) => {
    const list = all.get(type);
    if (list === undefined) all.set(type, [handler]);
    else list.push(handler);
    return () => off(type, handler);
  };
  return {
    all: all as unknown as EventHandlerMap<E>,
    on: on as Events<E>['on'],
    off: off as Events<E>['off'],
    once(type, handler) {
      const cancel = on(type, (event) => {
        cancel();
        handler(event as E[typeof type]);
      });
      return cancel;
    },
    emit(type, event) {
      run(type, type, [event]);
      run(type, '*', [type, event]);
    },
  };
}
