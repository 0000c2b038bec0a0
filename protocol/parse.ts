/**
 * One parser per direction and one serializer for every outgoing frame.
 * `parseMessage` throws a `ProtocolError` whose `code` is stable and whose `request` echoes what could be parsed.
 */
import { ERROR_CODES, type ErrorCode } from './codes.js';
import { ProtocolError } from './errors.js';
import {
  CLIENT_HANDLERS,
  SERVER_HANDLERS,
  type ClientMessage,
  type ErrorRequest,
  type Message,
  type ServerMessage,
} from './messages.js';
import { isPlainObject, NO_PARAMS_LIMITS, validateParams, type ParamsLimits } from './params.js';

// Pure: a browser bundle that only needs `stringifyMessage` from here drops these.
const CLIENT_SET: ReadonlySet<string> = /* @__PURE__ */ new Set(CLIENT_HANDLERS);
const SERVER_SET: ReadonlySet<string> = /* @__PURE__ */ new Set(SERVER_HANDLERS);
const WITH_PARAMS: ReadonlySet<string> = /* @__PURE__ */ new Set(['query', 'get', 'watch', 'stop']);

/**
 * Params nested deeper than this are left out of an echo: `JSON.stringify` recurses and a frame of 1 MiB can nest
 * half a million arrays, which would overflow the stack when the `error` reply is serialised. Well above what
 * `validateParams` accepts, so a refused but sane filter is always echoed.
 */
const MAX_ECHO_DEPTH = 64;

/** True when `value` nests no deeper than `limit` (iterative: the value may be arbitrarily deep). */
function shallowEnough(value: unknown, limit: number): boolean {
  const stack: Array<[object, number]> = [];
  if (value !== null && typeof value === 'object') stack.push([value, 1]);
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > limit) return false;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return true;
}

const hasOwn = (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key);

function echo(obj: { [key: string]: unknown }): ErrorRequest | undefined {
  if (typeof obj.handler !== 'string') return undefined;
  const request: ErrorRequest = { handler: obj.handler };
  if (typeof obj.resource === 'string') request.resource = obj.resource;
  if (hasOwn(obj, 'params') && shallowEnough(obj.params, MAX_ECHO_DEPTH)) request.params = obj.params;
  return request;
}

function toObject(data: unknown): { [key: string]: unknown } {
  let value = data;
  if (typeof data === 'string') {
    try {
      value = JSON.parse(data);
    } catch (err) {
      throw new ProtocolError('bad-json', `frame is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isPlainObject(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
    throw new ProtocolError('bad-message', `a frame must be a JSON object with a "handler", got ${what}`);
  }
  if (typeof value.handler !== 'string') {
    throw new ProtocolError(
      'bad-message',
      value.handler === undefined ? 'the frame has no "handler"' : '"handler" must be a string',
    );
  }
  return value;
}

/** Throws `code` with the message echoed as `request`. */
function fail(code: ErrorCode, message: string, obj: { [key: string]: unknown }): never {
  throw new ProtocolError(code, message, echo(obj));
}

function parseClient(obj: { [key: string]: unknown }, limits: ParamsLimits | undefined): ClientMessage {
  const handler = obj.handler as string;
  if (!CLIENT_SET.has(handler)) {
    fail('unknown-handler', `unknown handler "${handler}"; expected one of ${CLIENT_HANDLERS.join(', ')}`, obj);
  }
  if (obj.resource !== undefined && (typeof obj.resource !== 'string' || obj.resource === '')) {
    fail('bad-message', '"resource" must be a non-empty string', obj);
  }
  if (WITH_PARAMS.has(handler)) {
    // Older clients leave params out for "everything"; absent params read as {}. A copy, so that a caller's
    // already-parsed object is never modified.
    if (obj.params === undefined) return { ...obj, params: {} } as unknown as ClientMessage;
    try {
      validateParams(obj.params, limits);
    } catch (err) {
      // `too-large` (a list over `maxInValues`) keeps its code; anything else is `bad-params`.
      fail(err instanceof ProtocolError ? err.code : 'bad-params', (err as Error).message, obj);
    }
  }
  return obj as unknown as ClientMessage;
}

function check(ok: boolean, what: string, obj: { [key: string]: unknown }): void {
  if (!ok) fail('bad-message', `${obj.handler as string}: ${what}`, obj);
}

/** Params a server echoes back (`list`, `remove`) feed the client's `matches`: they must be valid params. */
function checkServerParams(obj: { [key: string]: unknown }): void {
  if (obj.params === undefined) return;
  if (!isPlainObject(obj.params)) fail('bad-message', `${obj.handler as string}: "params" must be an object`, obj);
  try {
    // No size limit: a server configured above the defaults echoes longer lists, and its client must take them.
    validateParams(obj.params, NO_PARAMS_LIMITS);
  } catch (err) {
    fail('bad-params', `${obj.handler as string}: ${(err as Error).message}`, obj);
  }
}

function parseServer(obj: { [key: string]: unknown }): ServerMessage {
  const handler = obj.handler as string;
  if (!SERVER_SET.has(handler)) {
    fail('unknown-handler', `unknown handler "${handler}"; expected one of ${SERVER_HANDLERS.join(', ')}`, obj);
  }
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
      check(
        isPlainObject(p) && typeof p.code === 'string' && typeof p.message === 'string',
        '"params" needs code and message',
        obj,
      );
      const request = (p as { request?: unknown }).request;
      check(
        request === undefined || (isPlainObject(request) && typeof request.handler === 'string'),
        '"params.request" must be an object with a string handler',
        obj,
      );
      break;
    }
    case 'pong':
      break;
  }
  return obj as unknown as ServerMessage;
}

/**
 * Parses and validates one frame.
 * @param data JSON text, or an already-parsed value.
 * @param from Who sent it: `'client'` (default, what a server parses) or `'server'` (what a client parses).
 * @param limits For client frames: the size limits of their params (default: those of `DEFAULTS`, `maxInValues`
 *   1,000); a server passes its own. Server frames are parsed without size limits.
 * @throws ProtocolError with code `bad-json`, `bad-message`, `unknown-handler`, `bad-params` or `too-large`.
 */
export function parseMessage(data: unknown, from?: 'client', limits?: ParamsLimits): ClientMessage;
export function parseMessage(data: unknown, from: 'server'): ServerMessage;
export function parseMessage(data: unknown, from: 'client' | 'server' = 'client', limits?: ParamsLimits): Message {
  const obj = toObject(data);
  return from === 'client' ? parseClient(obj, limits) : parseServer(obj);
}

/** The one way every outgoing frame is serialised. */
export function stringifyMessage(message: Message): string {
  return JSON.stringify(message);
}

/** Human description of an error code (for logs and docs). */
export function describeError(code: ErrorCode): string {
  return ERROR_CODES[code];
}
