/**
 * What a server message does to a channel's store: a `list`, `item` or `remove` addressed to the channel (or to its
 * alias) updates it, and an `error` that refuses a watch for good drops that watch, so the connection does not
 * re-send it (and have it refused again) after every reconnect. `Connection` calls this for every valid frame; the
 * session and the heartbeat are its own business.
 */
import { canonicalChannel } from '../protocol/channels.js';
import type { ErrorCode } from '../protocol/codes.js';
import type { ErrorMessage, Params, ServerMessage } from '../protocol/messages.js';
import type { Store } from './store.js';

/** Error codes that do not refuse a watch for good: the server keeps the watch and re-snapshots it later. */
const TRANSIENT_ERRORS: readonly string[] = ['source-unavailable', 'internal'] satisfies ErrorCode[];

/** Whether an `error` refuses its request for good (a source outage, say, does not). */
export function isRefusal(code: ErrorCode): boolean {
  return !TRANSIENT_ERRORS.includes(code);
}

/** Whether a message addressed to `resource` is for `channel`: no resource, the channel itself, or an alias of it. */
export function isForChannel(channel: string, resource: string | undefined): boolean {
  return resource === undefined || canonicalChannel(resource) === canonicalChannel(channel);
}

/** The params of the watch on `channel` an `error` answers, if it answers one. */
function erroredWatch(channel: string, { params: { request } }: ErrorMessage): Params | undefined {
  if (request?.handler !== 'watch' || !isForChannel(channel, request.resource)) return undefined;
  return request.params as Params;
}

/**
 * What the live queries learn from a message: a watch's `list` (or `resumed`) arrived, or an `error` answered a watch;
 * and where on the channel's history the connection is (PROTOCOL.md "Positions and resume").
 */
export interface WatchAnswers {
  /** `error` is undefined for a `list`; `resumed`: the answer was a replay and `resumed`, not a `list`. */
  answered(params: Params, error?: { code: ErrorCode; message: string }, resumed?: boolean): void;
  /** A frame with a position arrived for the channel: the connection is there, for every watch answered. */
  moved(position: string): void;
}

/**
 * Applies one server message to the store of `channel`, and tells `answers` (the live queries) what it says about a
 * watch — before the store changes, so that they can announce status and records in one step. Messages for another
 * channel, `session` and `pong` leave the store as it is.
 * @throws What a store subscriber threw (the caller reports it).
 */
export function applyToStore<T extends object>(store: Store<T>, channel: string, message: ServerMessage, answers?: WatchAnswers): void {
  if (message.handler === 'error') {
    const params = erroredWatch(channel, message);
    // The error's params are `{code, message, request}`: what a live query shows as its error.
    if (params !== undefined) {
      answers?.answered(params, message.params);
      if (isRefusal(message.params.code)) store.stop(params);
    }
    return;
  }
  // Every other frame is for the resource it names (`session` and `pong` name none, and nothing below concerns them).
  const { resource, position } = message as { resource?: string; position?: string };
  if (!isForChannel(channel, resource)) return;
  switch (message.handler) {
    case 'list':
      if (message.params !== undefined) answers?.answered(message.params);
      store.applyList(message.params, message.items);
      break;
    case 'item':
      store.applyItem(message.id, message.data);
      break;
    case 'resumed':
      answers?.answered(message.params, undefined, true);
      break;
    case 'remove':
      store.applyRemove(message.id, message.params);
      break;
    // `session`, `pong` and `progress`: nothing for the store.
  }
  // The position says the connection has everything up to there that concerns its watches.
  if (position !== undefined) answers?.moved(position);
}
