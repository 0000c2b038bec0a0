/**
 * The wire protocol as types: every frame is a JSON object with a string `handler`.
 * See PROTOCOL.md for direction, examples and what the server does on bad input.
 */
import type { ErrorCode } from './codes.js';

/** Any value JSON can carry. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A record of a channel (a node, a workflow, a log line …). */
export type Doc = { [key: string]: JsonValue };

/**
 * A filter in the MongoDB-subset query language (see `matches`): field equality on dotted paths and the
 * operators `$in $nin $ne $gt $gte $lt $lte $exists`.
 */
export type Params = { [key: string]: JsonValue };

/** Fields every client message may carry: `resource` addresses another channel on the same connection. */
interface ClientBase {
  resource?: string;
}

/**
 * Asks for a session id; the client sends it on every open. `features` lists the protocol extensions the client
 * understands beyond what a `watch` shows (`"resume"`: it takes `progress` frames), so a server sends those only to
 * clients that asked.
 */
export interface InitMessage extends ClientBase {
  handler: 'init';
  features?: string[];
}
/** One-off read of the records matching `params`; answered with `list`. */
export interface QueryMessage extends ClientBase {
  handler: 'query';
  params: Params;
}
/** One-off read of every record; answered with `list` whose params are `{}`. */
export interface AllMessage extends ClientBase {
  handler: 'all';
}
/** Read of the first record matching `params`; answered with `item`, or `remove` when none exists. */
export interface GetMessage extends ClientBase {
  handler: 'get';
  params: Params;
}
/**
 * Snapshot (`list`) of what matches, then `item`/`remove` on every change until `stop` or close. With `position` (the
 * last one the client applied for this watch, from a server that announced `"resume"`), the server may instead
 * replay only what changed since, then `resumed`; a position it cannot use gets a full `list`, never an error.
 */
export interface WatchMessage extends ClientBase {
  handler: 'watch';
  params: Params;
  position?: string;
}
/** Ends the watch whose params are canonically equal; unknown params are a no-op. */
export interface StopMessage extends ClientBase {
  handler: 'stop';
  params: Params;
}
/** Application-level heartbeat (only when the server announced the `ping` feature). */
export interface PingMessage extends ClientBase {
  handler: 'ping';
}

export type ClientMessage = InitMessage | QueryMessage | AllMessage | GetMessage | WatchMessage | StopMessage | PingMessage;

/** Answer to `init`. `features` lists protocol extensions the server supports (e.g. `"ping"`). */
export interface SessionMessage {
  handler: 'session';
  id: string;
  features?: string[];
}
/**
 * A snapshot. `params` is absent only from older servers; then the client deletes nothing. `position` (servers that
 * announce `"resume"`): where on the channel's history the snapshot was read, opaque to clients.
 */
export interface ListMessage {
  handler: 'list';
  resource: string;
  params?: Params;
  items: Doc[];
  position?: string;
}
/** One record, created or changed; `position`: this change's place on the channel's history (opaque). */
export interface ItemMessage {
  handler: 'item';
  resource: string;
  id: string;
  data: Doc;
  position?: string;
}
/** A record left (deleted, or no longer matches any watch); without `id`, everything matching `params`. */
export interface RemoveMessage {
  handler: 'remove';
  resource: string;
  id?: string;
  params?: Params;
  position?: string;
}
/**
 * A quiet watch's bookmark (servers that announce `"resume"`, to clients that asked for it): everything up to
 * `position` that concerns this connection's watches on `resource` has been sent.
 */
export interface ProgressMessage {
  handler: 'progress';
  resource: string;
  position: string;
}
/**
 * The answer to a `watch` with a usable `position`, after the changes since it that concern the connection were
 * replayed (as `item`/`remove`): the watch is live again, at `position`, without a new `list`.
 */
export interface ResumedMessage {
  handler: 'resumed';
  resource: string;
  params: Params;
  position: string;
}
/** The request that caused an `error`, echoed when it could be parsed. */
export interface ErrorRequest {
  handler: string;
  resource?: string;
  params?: unknown;
}
/** A refusal. The connection stays open. */
export interface ErrorMessage {
  handler: 'error';
  resource?: string;
  params: { code: ErrorCode; message: string; request?: ErrorRequest };
}
/** Answer to `ping`. */
export interface PongMessage {
  handler: 'pong';
}

export type ServerMessage =
  | SessionMessage
  | ListMessage
  | ItemMessage
  | RemoveMessage
  | ErrorMessage
  | PongMessage
  | ProgressMessage
  | ResumedMessage;

export type Message = ClientMessage | ServerMessage;

export type ClientHandler = ClientMessage['handler'];
export type ServerHandler = ServerMessage['handler'];

/** Client handlers in one list (validation, docs). */
export const CLIENT_HANDLERS: readonly ClientHandler[] = ['init', 'query', 'all', 'get', 'watch', 'stop', 'ping'];
/** Server handlers in one list (validation, docs). */
export const SERVER_HANDLERS: readonly ServerHandler[] = ['session', 'list', 'item', 'remove', 'error', 'pong', 'progress', 'resumed'];
