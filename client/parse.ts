/**
 * The client's parser of server frames. It reaches the same verdicts as the protocol's
 * `parseMessage(data, 'server')` — the same frames accepted with the same result, the same error code for every
 * frame refused (a test compares the two on generated frames) — with short messages and no `ProtocolError`
 * class, because the protocol parser's descriptive errors and its client-message side were most of the bytes
 * a browser downloaded with `Connection`.
 */
import type { ErrorCode } from '../protocol/codes.js';
import { SERVER_HANDLERS, type ServerMessage } from '../protocol/messages.js';
import { isPlainObject, OPERATORS } from '../protocol/params.js';

/** Why a frame was refused: the error code and a short message (the protocol parser has the descriptive ones). */
export interface Refusal {
  readonly refused: ErrorCode;
  readonly message: string;
}

type Obj = { [key: string]: unknown };

const MAX_DEPTH = 16;
const MAX_PATH_SEGMENTS = 32;

/** Keys a filter may not use anywhere (they could reach an object's prototype), and NUL (BSON refuses it). */
const badKey = (key: string): boolean => ['__proto__', 'constructor', 'prototype'].includes(key) || key.includes('\u0000');

/** A JSON value with no `$` key and no prototype key anywhere, nested at most `MAX_DEPTH` deep. */
const literal = (value: unknown, depth = 1): boolean =>
  depth <= MAX_DEPTH &&
  (value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number'
      ? isFinite(value)
      : Array.isArray(value)
        ? value.every((v) => literal(v, depth + 1))
        : isPlainObject(value) && Object.entries(value).every(([k, v]) => !badKey(k) && k[0] !== '$' && literal(v, depth + 1))));

/**
 * `validateParams` as a predicate (the allowlist of `protocol/params.ts`, rule for rule). An empty path, or one
 * starting with `$`, fails on its first segment.
 */
const validParams = (params: Obj): boolean =>
  Object.entries(params).every(([path, condition]) => {
    const segments = path.split('.');
    return (
      segments.length <= MAX_PATH_SEGMENTS &&
      segments.every((s) => s !== '' && s[0] !== '$' && !badKey(s)) &&
      (isPlainObject(condition) && Object.keys(condition).some((k) => k[0] === '$')
        ? Object.entries(condition).every(
            ([op, operand]) =>
              (OPERATORS as readonly string[]).includes(op) &&
              (op === '$exists'
                ? typeof operand === 'boolean'
                : (op === '$in' || op === '$nin'
                    ? Array.isArray(operand)
                    : op === '$ne' || ['number', 'string', 'boolean'].includes(typeof operand)) && literal(operand)),
          )
        : literal(condition))
    );
  });

/** Whether the `params` a `list` or `remove` echoes (they feed the store's `matches`) are wrong, and how. */
const paramsFault = (params: unknown): ErrorCode | false =>
  params !== undefined && (isPlainObject(params) ? !validParams(params) && 'bad-params' : 'bad-message');

const isList = (value: unknown, item: (v: unknown) => boolean): boolean => Array.isArray(value) && value.every(item);

/** Parses one frame from the server: the message, or why it was refused. */
export function parseServerFrame(data: unknown): ServerMessage | Refusal {
  let m: unknown = data;
  if (typeof data === 'string') {
    try {
      m = JSON.parse(data);
    } catch {
      return { refused: 'bad-json', message: 'not JSON' };
    }
  }
  if (!isPlainObject(m) || typeof m.handler !== 'string') return { refused: 'bad-message', message: 'no handler' };
  const { handler, resource, id, params } = m;
  if (!(SERVER_HANDLERS as readonly string[]).includes(handler)) return { refused: 'unknown-handler', message: `"${handler}" frame` };
  const notResource = typeof resource !== 'string';
  const isId = typeof id === 'string' || typeof id === 'number';
  const request = isPlainObject(params) && params.request;
  const fault =
    handler === 'session'
      ? typeof id !== 'string' || (m.features !== undefined && !isList(m.features, (f) => typeof f === 'string'))
      : handler === 'list'
        ? notResource || !isList(m.items, isPlainObject) || paramsFault(params)
        : handler === 'item'
          ? notResource || !isId || !isPlainObject(m.data)
          : handler === 'remove'
            ? notResource || (id !== undefined && !isId) || paramsFault(params) || (id === undefined && params === undefined)
            : handler === 'error' &&
              ((resource !== undefined && notResource) ||
                !(isPlainObject(params) && typeof params.code === 'string' && typeof params.message === 'string') ||
                (request !== undefined && !(isPlainObject(request) && typeof request.handler === 'string')));
  if (fault) return { refused: fault === true ? 'bad-message' : fault, message: `"${handler}" frame` };
  // Some sources use numeric ids; the store keys by string. A copy: the caller's object stays as it was.
  return (typeof id === 'number' && (handler === 'item' || handler === 'remove') ? { ...m, id: String(id) } : m) as unknown as ServerMessage;
}
