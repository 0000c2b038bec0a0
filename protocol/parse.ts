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
import { isPlainObject, validateParams } from './params.js';

const CLIENT_SET: ReadonlySet<string> = new Set(CLIENT_HANDLERS);
const SERVER_SET: ReadonlySet<string> = new Set(SERVER_HANDLERS);
const WITH_PARAMS: ReadonlySet<string> = new Set(['query', 'get', 'watch', 'stop']);

function echo(obj: { [key: string]: unknown }): ErrorRequest | undefined {
  if (typeof obj.handler !== 'string') return undefined;
  const request: ErrorRequest = { handler: obj.handler };
  if (typeof obj.resource === 'string') request.resource = obj.resource;
  if ('params' in obj) request.params = obj.params;
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

function parseClient(obj: { [key: string]: unknown }): ClientMessage {
  const handler = obj.handler as string;
  if (!CLIENT_SET.has(handler)) {
    fail('unknown-handler', `unknown handler "${handler}"; expected one of ${CLIENT_HANDLERS.join(', ')}`, obj);
  }
  if (obj.resource !== undefined && (typeof obj.resource !== 'string' || obj.resource === '')) {
    fail('bad-message', '"resource" must be a non-empty string', obj);
  }
  if (WITH_PARAMS.has(handler)) {
    // Older clients leave params out for "everything"; absent params read as {}.
    if (obj.params === undefined) obj.params = {};
    try {
      validateParams(obj.params);
    } catch (err) {
      fail('bad-params', (err as Error).message, obj);
    }
  }
  return obj as unknown as ClientMessage;
}

function check(ok: boolean, what: string, obj: { [key: string]: unknown }): void {
  if (!ok) fail('bad-message', `${obj.handler as string}: ${what}`, obj);
}

function parseServer(obj: { [key: string]: unknown }): ServerMessage {
  const handler = obj.handler as string;
  if (!SERVER_SET.has(handler)) {
    fail('unknown-handler', `unknown handler "${handler}"; expected one of ${SERVER_HANDLERS.join(', ')}`, obj);
  }
  const isResource = typeof obj.resource === 'string';
  const optionalParams = obj.params === undefined || isPlainObject(obj.params);
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
      check(optionalParams, '"params" must be an object', obj);
      break;
    case 'item':
      check(isResource, '"resource" must be a string', obj);
      check(typeof obj.id === 'string' || typeof obj.id === 'number', '"id" must be a string', obj);
      check(isPlainObject(obj.data), '"data" must be an object', obj);
      if (typeof obj.id === 'number') obj.id = String(obj.id);
      break;
    case 'remove':
      check(isResource, '"resource" must be a string', obj);
      check(obj.id === undefined || typeof obj.id === 'string' || typeof obj.id === 'number', '"id" must be a string', obj);
      check(optionalParams, '"params" must be an object', obj);
      check(obj.id !== undefined || obj.params !== undefined, 'needs "id" or "params"', obj);
      if (typeof obj.id === 'number') obj.id = String(obj.id);
      break;
    case 'error': {
      const p = obj.params;
      check(isPlainObject(p) && typeof p.code === 'string' && typeof p.message === 'string', '"params" needs code and message', obj);
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
 * @throws ProtocolError with code `bad-json`, `bad-message`, `unknown-handler` or `bad-params`.
 */
export function parseMessage(data: unknown, from?: 'client'): ClientMessage;
export function parseMessage(data: unknown, from: 'server'): ServerMessage;
export function parseMessage(data: unknown, from: 'client' | 'server' = 'client'): Message {
  const obj = toObject(data);
  return from === 'client' ? parseClient(obj) : parseServer(obj);
}

/** The one way every outgoing frame is serialised. */
export function stringifyMessage(message: Message): string {
  return JSON.stringify(message);
}

/** Human description of an error code (for logs and docs). */
export function describeError(code: ErrorCode): string {
  return ERROR_CODES[code];
}
