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

/** Why a frame was refused. */
export interface Refusal {
  readonly refused: ErrorCode;
  readonly message: string;
}

type Obj = { [key: string]: unknown };

const MAX_DEPTH = 16;
const MAX_PATH_SEGMENTS = 32;

/** Keys a filter may not use anywhere (they could reach an object's prototype), and NUL (BSON refuses it). */
const badKey = (key: string): boolean => key === '__proto__' || key === 'constructor' || key === 'prototype' || key.includes('\u0000');

/** A JSON value with no `$` key and no prototype key anywhere, nested at most `MAX_DEPTH` deep. */
function literal(value: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => literal(v, depth + 1));
  return isPlainObject(value) && Object.entries(value).every(([k, v]) => !badKey(k) && k[0] !== '$' && literal(v, depth + 1));
}

/** `validateParams` as a predicate (the allowlist of `protocol/params.ts`, rule for rule). */
function validParams(params: Obj): boolean {
  return Object.entries(params).every(([path, condition]) => {
    const segments = path.split('.');
    if (path === '' || path[0] === '$' || segments.length > MAX_PATH_SEGMENTS) return false;
    if (segments.some((s) => s === '' || s[0] === '$' || badKey(s))) return false;
    if (!isPlainObject(condition) || !Object.keys(condition).some((k) => k[0] === '$')) return literal(condition, 1);
    return Object.entries(condition).every(
      ([op, operand]) =>
        (OPERATORS as readonly string[]).includes(op) &&
        (op === '$exists'
          ? typeof operand === 'boolean'
          : (op === '$in' || op === '$nin'
              ? Array.isArray(operand)
              : op === '$ne' || ['number', 'string', 'boolean'].includes(typeof operand)) && literal(operand, 1)),
    );
  });
}

/** What is wrong with the `params` a `list` or `remove` echoes (they feed the store's `matches`), if anything. */
function paramsFault(params: unknown): ErrorCode | undefined {
  if (params === undefined) return undefined;
  if (!isPlainObject(params)) return 'bad-message';
  return validParams(params) ? undefined : 'bad-params';
}

/** Parses one frame from the server: the message, or why it was refused. */
export function parseServerFrame(data: unknown): ServerMessage | Refusal {
  let m: unknown = data;
  if (typeof data === 'string') {
    try {
      m = JSON.parse(data);
    } catch {
      return { refused: 'bad-json', message: 'frame is not valid JSON' };
    }
  }
  if (!isPlainObject(m) || typeof m.handler !== 'string') return { refused: 'bad-message', message: 'a frame must be a JSON object with a string "handler"' };
  const { handler, resource, id, params } = m;
  if (!(SERVER_HANDLERS as readonly string[]).includes(handler)) return { refused: 'unknown-handler', message: `unknown handler "${handler}"` };
  const isResource = typeof resource === 'string';
  const isId = typeof id === 'string' || typeof id === 'number';
  let fault: ErrorCode | boolean | undefined;
  switch (handler) {
    case 'session':
      fault = typeof id !== 'string' || (m.features !== undefined && !(Array.isArray(m.features) && m.features.every((f) => typeof f === 'string')));
      break;
    case 'list':
      fault = !isResource || !(Array.isArray(m.items) && m.items.every(isPlainObject)) || paramsFault(params);
      break;
    case 'item':
      fault = !isResource || !isId || !isPlainObject(m.data);
      break;
    case 'remove':
      fault = !isResource || (id !== undefined && !isId) || paramsFault(params) || (id === undefined && params === undefined);
      break;
    case 'error': {
      const request = isPlainObject(params) ? params.request : undefined;
      fault =
        (resource !== undefined && !isResource) ||
        !(isPlainObject(params) && typeof params.code === 'string' && typeof params.message === 'string') ||
        (request !== undefined && !(isPlainObject(request) && typeof request.handler === 'string'));
    }
  }
  if (fault) return { refused: fault === true ? 'bad-message' : fault, message: `malformed "${handler}" frame` };
  // Some sources use numeric ids; the store keys by string. A copy: the caller's object stays as it was.
  return (typeof id === 'number' && (handler === 'item' || handler === 'remove') ? { ...m, id: String(id) } : m) as unknown as ServerMessage;
}
