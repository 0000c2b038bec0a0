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

/** Asks for a session id; the client sends it on every open. */
export interface InitMessage extends ClientBase {
  handler: 'init';
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
/** Snapshot (`list`) of what matches, then `item`/`remove` on every change until `stop` or close. */
export interface WatchMessage extends ClientBase {
  handler: 'watch';
  params: Params;
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
/** A snapshot. `params` is absent only from older servers; then the client deletes nothing. */
export interface ListMessage {
  handler: 'list';
  resource: string;
  params?: Params;
  items: Doc[];
}
/** One record, created or changed. */
export interface ItemMessage {
  handler: 'item';
  resource: string;
  id: string;
  data: Doc;
}
/** A record left (deleted, or no longer matches any watch); without `id`, everything matching `params`. */
export interface RemoveMessage {
  handler: 'remove';
  resource: string;
  id?: string;
  params?: Params;
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

export type ServerMessage = SessionMessage | ListMessage | ItemMessage | RemoveMessage | ErrorMessage | PongMessage;

export type Message = ClientMessage | ServerMessage;

export type ClientHandler = ClientMessage['handler'];
export type ServerHandler = ServerMessage['handler'];

/** Client handlers in one list (validation, docs). */
export const CLIENT_HANDLERS: readonly ClientHandler[] = ['init', 'query', 'all', 'get', 'watch', 'stop', 'ping'];
/** Server handlers in one list (validation, docs). */
export const SERVER_HANDLERS: readonly ServerHandler[] = ['session', 'list', 'item', 'remove', 'error', 'pong'];
