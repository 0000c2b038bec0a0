/**
 * The client's parser of server frames. It reaches the same verdicts as the protocol's
 * `parseMessage(data, 'server')` — the same frames accepted with the same result, the same error code for every
 * frame refused (a test compares the two on generated frames) — with short messages and no `ProtocolError`
 * class, because the protocol parser's descriptive errors and its client-message side were most of the bytes
 * a browser downloaded with `Connection`.
 */
import type { ErrorCode } from '../protocol/codes.js';
import type { ServerHandler, ServerMessage } from '../protocol/messages.js';
import { isPlainObject, type Operator } from '../protocol/params.js';

/**
 * Why a frame was refused, as the connection reports it (an `error` event of kind `protocol`): the error code and a
 * short message (the protocol parser has the descriptive ones).
 */
export interface Refusal {
  readonly kind: 'protocol';
  readonly code: ErrorCode;
  readonly message: string;
}

type Obj = { [key: string]: unknown };

const MAX_DEPTH = 16;
const MAX_PATH_SEGMENTS = 32;
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

/** Keys a filter may not use anywhere (they could reach an object's prototype), and NUL (BSON refuses it). */
function isBadKey(key: string): boolean {
  return PROTOTYPE_KEYS.includes(key) || key.includes('\u0000');
}

function isOperatorKey(key: string): boolean {
  return key[0] === '$';
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isId(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

function isListOf(value: unknown, isItem: (item: unknown) => boolean): boolean {
  return Array.isArray(value) && value.every(isItem);
}

/** A JSON value with no `$` key and no prototype key anywhere, nested at most `MAX_DEPTH` deep. */
function isLiteral(value: unknown, depth = 1): boolean {
  if (depth > MAX_DEPTH) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isLiteral(item, depth + 1));
  if (!isPlainObject(value)) return false;
  return Object.entries(value).every(([key, item]) => !isBadKey(key) && !isOperatorKey(key) && isLiteral(item, depth + 1));
}

/** A field path: at most `MAX_PATH_SEGMENTS` segments, none empty, an operator or a prototype key. */
function isValidPath(path: string): boolean {
  const segments = path.split('.');
  return segments.length <= MAX_PATH_SEGMENTS && segments.every((s) => s !== '' && !isOperatorKey(s) && !isBadKey(s));
}

/**
 * One `operator: operand` pair of a condition. The cases are `OPERATORS` (the compiler holds them to `Operator`), and
 * any other key is refused; a switch rather than a lookup in the list, which the bundle would then carry.
 */
function isValidOperator(op: string, operand: unknown): boolean {
  switch (op as Operator) {
    case '$exists':
      return typeof operand === 'boolean';
    case '$in':
    case '$nin':
      return Array.isArray(operand) && isLiteral(operand);
    case '$ne':
      return isLiteral(operand);
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      // A literal that is not an object, an array or null: a number, a string or a boolean.
      return typeof operand !== 'object' && isLiteral(operand);
    default:
      return false;
  }
}

/** A path's condition: an object of operators when it has a `$` key, else a literal to compare with. */
function isValidCondition(condition: unknown): boolean {
  if (isPlainObject(condition) && Object.keys(condition).some(isOperatorKey)) {
    return Object.entries(condition).every(([op, operand]) => isValidOperator(op, operand));
  }
  return isLiteral(condition);
}

/**
 * `validateParams` as a predicate (the allowlist of `protocol/params.ts`, rule for rule; `maxInValues` is the
 * server's): a plain object whose fields pass. Live queries check their params with it before anything is sent.
 */
export function isValidParams(params: unknown): boolean {
  return isPlainObject(params) && Object.entries(params).every(([path, condition]) => isValidPath(path) && isValidCondition(condition));
}

/** What is wrong with the `params` a `list` or `remove` echoes (they feed the store's `matches`), if anything. */
function paramsFault(params: unknown): ErrorCode | undefined {
  if (params === undefined) return undefined;
  if (!isPlainObject(params)) return 'bad-message';
  return isValidParams(params) ? undefined : 'bad-params';
}

/** The `params` of an `error` frame: a code, a message, and the offending request when there was one. */
function isErrorParams(params: unknown): boolean {
  if (!isPlainObject(params) || !isString(params.code) || !isString(params.message)) return false;
  const { request } = params;
  return request === undefined || (isPlainObject(request) && isString(request.handler));
}

/** What is wrong with a frame, if anything (`unknown-handler` for a handler no server sends); in the protocol parser's order. */
function frameFault(frame: Obj, handler: string): ErrorCode | undefined {
  const { resource, id, params } = frame;
  // The cases are `SERVER_HANDLERS` (the compiler holds them to `ServerHandler`); any other handler is unknown.
  switch (handler as ServerHandler) {
    case 'session':
      if (!isString(id)) return 'bad-message';
      return frame.features === undefined || isListOf(frame.features, isString) ? undefined : 'bad-message';
    case 'list':
      if (!isString(resource) || !isListOf(frame.items, isPlainObject)) return 'bad-message';
      return paramsFault(params);
    case 'item':
      return isString(resource) && isId(id) && isPlainObject(frame.data) ? undefined : 'bad-message';
    case 'remove':
      if (!isString(resource) || (id !== undefined && !isId(id))) return 'bad-message';
      // Without an id, params say what to remove: one of the two must be there.
      if (id === undefined && params === undefined) return 'bad-message';
      return paramsFault(params);
    case 'error':
      return (resource === undefined || isString(resource)) && isErrorParams(params) ? undefined : 'bad-message';
    case 'pong':
    case 'progress':
    case 'resumed':
      // `progress` and `resumed`: their position is opaque (sent back as it came) and their params only name a
      // watch, so there is nothing to check.
      return undefined;
    default:
      return 'unknown-handler';
  }
}

/** Parses one frame from the server: the message, or why it was refused. */
export function parseServerFrame(data: unknown): ServerMessage | Refusal {
  let frame: unknown = data;
  if (typeof data === 'string') {
    try {
      frame = JSON.parse(data);
    } catch {
      return { kind: 'protocol', code: 'bad-json', message: 'not JSON' };
    }
  }
  if (!isPlainObject(frame) || !isString(frame.handler)) return { kind: 'protocol', code: 'bad-message', message: 'no handler' };
  const { handler, id } = frame;
  const fault = frameFault(frame, handler);
  if (fault !== undefined) return { kind: 'protocol', code: fault, message: `"${handler}" frame` };
  // Some sources use numeric ids; the store keys by string. A copy: the caller's object stays as it was.
  if (typeof id === 'number' && (handler === 'item' || handler === 'remove'))
    return { ...frame, id: String(id) } as unknown as ServerMessage;
  return frame as unknown as ServerMessage;
}
