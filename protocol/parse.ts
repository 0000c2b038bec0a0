/**
 * One parser per direction and one serializer for every outgoing frame.
 * `parseMessage` holds a client frame to the input budget right after `JSON.parse` (`budget.ts`), then validates it;
 * it throws a `ProtocolError` whose `code` is stable and whose `request` echoes what could be parsed, bounded.
 */
import { describeExcess, overBudget, type InputBudget } from './budget.js';
import { DEFAULTS, ERROR_CODES, type ErrorCode } from './codes.js';
import { ProtocolError } from './errors.js';
import {
  CLIENT_HANDLERS,
  SERVER_HANDLERS,
  type ClientMessage,
  type ErrorRequest,
  type Message,
  type Params,
  type ServerMessage,
} from './messages.js';
import { isPlainObject, NO_PARAMS_LIMITS, validateParams, type ParamsLimits } from './params.js';

// Pure: a browser bundle that only needs `stringifyMessage` from here drops these.
const CLIENT_SET: ReadonlySet<string> = /* @__PURE__ */ new Set(CLIENT_HANDLERS);
const SERVER_SET: ReadonlySet<string> = /* @__PURE__ */ new Set(SERVER_HANDLERS);
const WITH_PARAMS: ReadonlySet<string> = /* @__PURE__ */ new Set(['query', 'get', 'watch', 'stop']);

const hasOwn = (obj: object, key: string): boolean => Object.hasOwn(obj, key);

/**
 * What an error echoes of a frame: its handler and resource when they are names within the budget (a 500 KB
 * handler is not echoed, twice, in the reply), and its params, unchanged, only when they are within the budget as
 * they stand in the frame — a client matches a refused watch by its echoed params, so never a truncated copy.
 * The frames a server refuses for their size have been walked to their first excess only, and so is what is
 * echoed: whatever the frame holds, building the echo costs at most the budget.
 */
function echo(obj: { [key: string]: unknown }, budget: InputBudget): ErrorRequest | undefined {
  const { handler, resource } = obj;
  if (typeof handler !== 'string' || handler.length > budget.maxKeyLength) return undefined;
  const request: ErrorRequest = { handler };
  if (typeof resource === 'string' && resource.length <= budget.maxKeyLength) request.resource = resource;
  if (hasOwn(obj, 'params') && overBudget(obj.params, budget, 2) === undefined) request.params = obj.params;
  return request;
}

/** JSON text parsed and held to `budget` before anything else looks at it; then it must be an object with a handler. */
function toObject(data: unknown, budget: InputBudget | undefined): { [key: string]: unknown } {
  let value = data;
  if (typeof data === 'string') {
    try {
      value = JSON.parse(data);
    } catch (err) {
      throw new ProtocolError('bad-json', `frame is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (budget) {
    const excess = overBudget(value, budget);
    if (excess)
      throw new ProtocolError('too-large', describeExcess(excess, budget), isPlainObject(value) ? echo(value, budget) : undefined);
  }
  if (!isPlainObject(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
    throw new ProtocolError('bad-message', `a frame must be a JSON object with a "handler", got ${what}`);
  }
  if (typeof value.handler !== 'string') {
    throw new ProtocolError('bad-message', value.handler === undefined ? 'the frame has no "handler"' : '"handler" must be a string');
  }
  return value;
}

/** Throws `code`; `parseMessage` adds the echo of the frame as `request`. */
function fail(code: ErrorCode, message: string): never {
  throw new ProtocolError(code, message);
}

/** An unknown handler, quoted only when it is a name within the bound of names (else its length is told instead). */
function unknownHandler(handler: string, known: readonly string[], maxName: number): never {
  const what = handler.length <= maxName ? `"${handler}"` : `(${handler.length.toLocaleString('en-US')} characters)`;
  fail('unknown-handler', `unknown handler ${what}; expected one of ${known.join(', ')}`);
}

function parseClient(obj: { [key: string]: unknown }, maxName: number, limits: ParamsLimits): ClientMessage {
  const handler = obj.handler as string;
  if (!CLIENT_SET.has(handler)) unknownHandler(handler, CLIENT_HANDLERS, maxName);
  if (obj.resource !== undefined && (typeof obj.resource !== 'string' || obj.resource === '')) {
    fail('bad-message', '"resource" must be a non-empty string');
  }
  if (WITH_PARAMS.has(handler)) {
    // Older clients leave params out for "everything"; absent params read as {}. A copy, so that a caller's
    // already-parsed object is never modified.
    if (obj.params === undefined) return { ...obj, params: {} } as unknown as ClientMessage;
    try {
      validateParams(obj.params, limits);
    } catch (err) {
      // `too-large` (a list over `maxInValues`) keeps its code; anything else is `bad-params`.
      fail(err instanceof ProtocolError ? err.code : 'bad-params', (err as Error).message);
    }
  }
  return obj as unknown as ClientMessage;
}

function check(ok: boolean, what: string, obj: { [key: string]: unknown }): void {
  if (!ok) fail('bad-message', `${obj.handler as string}: ${what}`);
}

/** Params a server echoes back (`list`, `remove`) feed the client's `matches`: they must be valid params. */
function checkServerParams(obj: { [key: string]: unknown }): void {
  if (obj.params === undefined) return;
  if (!isPlainObject(obj.params)) fail('bad-message', `${obj.handler as string}: "params" must be an object`);
  try {
    // No size limit: a server configured above the defaults echoes longer lists, and its client must take them.
    validateParams(obj.params, NO_PARAMS_LIMITS);
  } catch (err) {
    fail('bad-params', `${obj.handler as string}: ${(err as Error).message}`);
  }
}

function parseServer(obj: { [key: string]: unknown }, maxName: number): ServerMessage {
  const handler = obj.handler as string;
  if (!SERVER_SET.has(handler)) unknownHandler(handler, SERVER_HANDLERS, maxName);
  const isResource = typeof obj.resource === 'string';
  const isId = typeof obj.id === 'string' || typeof obj.id === 'number';
  switch (handler) {
    case 'session':
      check(typeof obj.id === 'string', '"id" must be a string', obj);
      check(
        obj.features === undefined || (Array.isArray(obj.features) && obj.features.every((f) => typeof f === 'string')),
        '"features" must be an array of strings',
        obj,
      );
      break;
    case 'list':
      check(isResource, '"resource" must be a string', obj);
      check(Array.isArray(obj.items) && obj.items.every(isPlainObject), '"items" must be an array of objects', obj);
      checkServerParams(obj);
      break;
    case 'item':
      check(isResource, '"resource" must be a string', obj);
      check(isId, '"id" must be a string or a number', obj);
      check(isPlainObject(obj.data), '"data" must be an object', obj);
      // Some sources use numeric ids; the store keys by string. A copy: the caller's object stays as it was.
      if (typeof obj.id === 'number') return { ...obj, id: String(obj.id) } as unknown as ServerMessage;
      break;
    case 'remove':
      check(isResource, '"resource" must be a string', obj);
      check(obj.id === undefined || isId, '"id" must be a string or a number', obj);
      checkServerParams(obj);
      check(obj.id !== undefined || obj.params !== undefined, 'needs "id" or "params"', obj);
      if (typeof obj.id === 'number') return { ...obj, id: String(obj.id) } as unknown as ServerMessage;
      break;
    case 'error': {
      const p = obj.params;
      check(obj.resource === undefined || isResource, '"resource" must be a string', obj);
      check(isPlainObject(p) && typeof p.code === 'string' && typeof p.message === 'string', '"params" needs code and message', obj);
      const request = (p as { request?: unknown }).request;
      check(
        request === undefined || (isPlainObject(request) && typeof request.handler === 'string'),
        '"params.request" must be an object with a string handler',
        obj,
      );
      break;
    }
    // `position` is opaque to clients, which send it back as it came (a server refuses a malformed one with a full
    // `list`); `resumed` params only name a watch. Nothing here is checked, as in `pong`.
    case 'progress':
    case 'resumed':
    case 'pong':
      break;
  }
  return obj as unknown as ServerMessage;
}

/** The bounds a frame is parsed within (a server passes its own, resolved once). */
export interface ParseLimits {
  /**
   * The bounds the parsed value is held to before anything else reads it (see `InputBudget`).
   * @default DEFAULTS.inputBudget for client frames; none for server frames (a `list` may carry up to
   *   `maxListItems` records), whose error echo is still bounded by `DEFAULTS.inputBudget`
   */
  readonly budget?: InputBudget;
  /**
   * The size limits of a client frame's params (`maxInValues`). Server frames are parsed without size limits: a
   * server configured above the defaults echoes longer lists, and its client must take them.
   * @default the limits of `DEFAULTS` (`maxInValues` 1,000)
   */
  readonly params?: ParamsLimits;
}

/**
 * Parses and validates one frame.
 * @param data JSON text, or an already-parsed value.
 * @param from Who sent it: `'client'` (default, what a server parses) or `'server'` (what a client parses).
 * @param limits The bounds it is held to (`ParseLimits`; fields left out take their defaults).
 * @throws ProtocolError with code `bad-json`, `too-large`, `bad-message`, `unknown-handler` or `bad-params`.
 */
export function parseMessage(data: unknown, from?: 'client', limits?: ParseLimits): ClientMessage;
export function parseMessage(data: unknown, from: 'server', limits?: ParseLimits): ServerMessage;
export function parseMessage(data: unknown, from: 'client' | 'server' = 'client', limits?: ParseLimits): Message {
  const budget = limits?.budget ?? (from === 'client' ? DEFAULTS.inputBudget : undefined);
  const obj = toObject(data, budget);
  // What an echo may carry is bounded even where the frame was not (a client parsing a server's frames).
  const bounds = budget ?? DEFAULTS.inputBudget;
  try {
    return from === 'client' ? parseClient(obj, bounds.maxKeyLength, limits?.params ?? DEFAULTS) : parseServer(obj, bounds.maxKeyLength);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    throw new ProtocolError(err.code, err.message, echo(obj, bounds));
  }
}

/** The one way every outgoing frame is serialised, but for `list` frames built by `stringifyList`. */
export function stringifyMessage(message: Message): string {
  return JSON.stringify(message);
}

/**
 * The one fast path beside `stringifyMessage`: a `list` frame whose items are already serialised. A snapshot read
 * answers every request that joined it with the same items under each request's own resource and params, so the
 * items (most of the frame) are serialised once for all of them. The text is exactly what `stringifyMessage` makes
 * of `{handler: 'list', resource, params, items, position}` when `itemsJson` is `JSON.stringify(items)` (no
 * `position` field when it is undefined).
 * @param itemsJson `JSON.stringify` of the items array.
 */
export function stringifyList(resource: string, params: Params, itemsJson: string, position?: string): string {
  const head = `{"handler":"list","resource":${JSON.stringify(resource)},"params":${JSON.stringify(params)},"items":${itemsJson}`;
  return position === undefined ? `${head}}` : `${head},"position":${JSON.stringify(position)}}`;
}

/** Human description of an error code (for logs and docs). */
export function describeError(code: ErrorCode): string {
  return ERROR_CODES[code];
}
