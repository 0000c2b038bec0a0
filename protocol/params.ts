/**
 * Validation and canonical form of `params`, the MongoDB-subset filter.
 *
 * Validation is an allowlist: anything not explicitly understood is refused with `bad-params` before it can
 * reach a database, including operator-shaped keys hidden inside arrays or embedded documents.
 */
import { DEFAULTS } from './codes.js';
import { ProtocolError } from './errors.js';
import type { Filter } from './filter.js';
import type { JsonValue, Params } from './messages.js';

/** The only operators a filter may use. */
export const OPERATORS = ['$in', '$nin', '$ne', '$gt', '$gte', '$lt', '$lte', '$exists'] as const;
export type Operator = (typeof OPERATORS)[number];

const OPERATOR_SET: ReadonlySet<string> = /* @__PURE__ */ new Set(OPERATORS);
const FORBIDDEN_KEYS: ReadonlySet<string> = /* @__PURE__ */ new Set(['__proto__', 'constructor', 'prototype']);
/*
 * The filter's own limits sit inside the frame's input budget (`DEFAULTS.inputBudget`, checked before this code
 * runs), so every filter accepted here fits a frame the budget accepts: a value nested MAX_DEPTH deep is at level
 * MAX_DEPTH + 3 of its frame at most (frame, params, operator object), within `maxDepth` (32); a path of
 * MAX_PATH_SEGMENTS one-character segments is 63 characters, within `maxKeyLength` (1,024). A test in
 * params.test.ts holds the two together. Literals, not read from DEFAULTS: the client bundle imports this file and
 * must not carry the server's defaults.
 */
/** Deeper values are refused: nothing legitimate needs them and deep recursion is a cheap attack. */
const MAX_DEPTH = 16;
/** Longer dotted paths are refused for the same reason (RackHD catalog paths stay well below this). */
const MAX_PATH_SEGMENTS = 32;

/** True for `{}`-style objects (prototype `Object.prototype` or `null`), false for arrays, Dates, class instances. */
export function isPlainObject(value: unknown): value is { [key: string]: unknown } {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True when the object is an operator expression such as `{ $gt: 1 }` (every key starts with `$`). */
export function isOperatorObject(value: unknown): value is { [op: string]: JsonValue } {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

/** The size limits `validateParams` applies besides the allowlist. */
export interface ParamsLimits {
  /** Most values in one `$in` or `$nin` list; more: `too-large`. `Infinity` turns the limit off. */
  readonly maxInValues: number;
}

/**
 * No size limit: for params that already passed a server's own limits, such as those a server echoes to a client
 * (the client cannot know the server's configuration) or a source re-checking the hub's filter.
 */
export const NO_PARAMS_LIMITS: ParamsLimits = { maxInValues: Infinity };

function bad(message: string): never {
  throw new ProtocolError('bad-params', message);
}

function checkKey(key: string, where: string): void {
  if (FORBIDDEN_KEYS.has(key)) bad(`key "${key}" is not allowed (${where})`);
  // BSON field names are C strings: MongoDB refuses a NUL in them, so refuse it before it reaches a driver.
  if (key.includes('\u0000')) bad(`a key may not contain a NUL character (${where})`);
}

/** A JSON value that contains no `$` key and no prototype key anywhere. */
function checkLiteral(value: unknown, where: string, depth: number): void {
  if (depth > MAX_DEPTH) bad(`params nest deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) bad(`${where}: numbers must be finite`);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) checkLiteral(v, where, depth + 1);
    return;
  }
  if (!isPlainObject(value)) bad(`${where}: only JSON values are allowed`);
  for (const [k, v] of Object.entries(value)) {
    checkKey(k, where);
    if (k.startsWith('$')) bad(`operator "${k}" is not allowed inside a value (${where})`);
    checkLiteral(v, where, depth + 1);
  }
}

function checkPath(path: string): void {
  if (path === '') bad('an empty field name is not allowed');
  if (path.startsWith('$')) bad(`operator "${path}" is not allowed; allowed: ${OPERATORS.join(' ')}`);
  const segments = path.split('.');
  if (segments.length > MAX_PATH_SEGMENTS) bad(`field "${path}" has more than ${MAX_PATH_SEGMENTS} segments`);
  for (const segment of segments) {
    if (segment === '') bad(`field "${path}" has an empty path segment`);
    // `a.$where`, `a.$[]`, `a.$`: positional and operator syntax has no place in a filter path.
    if (segment.startsWith('$')) bad(`field "${path}" has a "$" segment, which is not allowed`);
    checkKey(segment, `field "${path}"`);
  }
}

function checkOperator(path: string, op: string, operand: unknown, limits: ParamsLimits): void {
  if (!OPERATOR_SET.has(op)) bad(`operator "${op}" on "${path}" is not allowed; allowed: ${OPERATORS.join(' ')}`);
  const where = `${path}.${op}`;
  switch (op as Operator) {
    case '$in':
    case '$nin':
      if (!Array.isArray(operand)) bad(`${where} takes an array`);
      // Before `checkLiteral` walks the list, and long before the hub's watch index keeps an entry per value: the
      // length of this list is what a watch costs (issue 10, finding 3).
      if (operand.length > limits.maxInValues) {
        throw new ProtocolError(
          'too-large',
          `"${where}" has ${operand.length.toLocaleString('en-US')} values, over maxInValues (${limits.maxInValues.toLocaleString('en-US')}); split it across several filters`,
        );
      }
      checkLiteral(operand, where, 1);
      return;
    case '$exists':
      if (typeof operand !== 'boolean') bad(`${where} takes true or false`);
      return;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if (typeof operand !== 'number' && typeof operand !== 'string' && typeof operand !== 'boolean') {
        bad(`${where} compares with a number, a string or a boolean`);
      }
      checkLiteral(operand, where, 1);
      return;
    case '$ne':
      checkLiteral(operand, where, 1);
      return;
  }
}

/**
 * Checks that `params` is a filter of the allowed subset within `limits` and returns it typed.
 * @param limits The size limits (default: those of `DEFAULTS`, `maxInValues` 1,000); a server passes its own.
 * @throws ProtocolError with code `bad-params` naming what is wrong, or `too-large` naming the list over
 *   `maxInValues`, its size and the limit.
 */
export function validateParams(params: unknown, limits: ParamsLimits = DEFAULTS): Params {
  if (!isPlainObject(params)) bad('params must be a JSON object');
  for (const [path, condition] of Object.entries(params)) {
    checkPath(path);
    if (isPlainObject(condition) && Object.keys(condition).some((k) => k.startsWith('$'))) {
      for (const [op, operand] of Object.entries(condition)) {
        if (!op.startsWith('$')) bad(`"${path}" mixes operators with the field "${op}"`);
        checkOperator(path, op, operand, limits);
      }
    } else {
      checkLiteral(condition, `field "${path}"`, 1);
    }
  }
  return params as Params;
}

/**
 * The canonical JSON text of params: two params with the same canonical form name the same watch (`stop` and the
 * client store's scopes use it). Field names are sorted (a filter is a conjunction, so their order never
 * matters), and so are the operators of an operator object (`{$lt: 9, $gt: 1}` = `{$gt: 1, $lt: 9}`).
 * Values are kept exactly as they are: arrays in order, and embedded documents in their own key order, because
 * `matches` (like MongoDB) compares embedded documents key-order sensitively, so `{a: {x: 1, y: 2}}` and
 * `{a: {y: 2, x: 1}}` are different filters and must not name the same watch.
 * Any other value (not a plain object) is its `JSON.stringify` text; `undefined` reads as `null`.
 */
export function canonicalJson(value: JsonValue | undefined): string;
/**
 * The canonical JSON text of a typed filter (`Filter<Node>`, what `connection.live` and `LiveQuery.params` hold):
 * a typed filter is the JSON params it spells. Second, so that untyped calls never instantiate it.
 */
export function canonicalJson<T extends object>(filter: Filter<T>): string;
export function canonicalJson(value: JsonValue | undefined): string {
  if (!isPlainObject(value)) return JSON.stringify(value ?? null);
  const fields = Object.keys(value).sort();
  return `{${fields.map((k) => `${JSON.stringify(k)}:${canonicalCondition(value[k] as JsonValue)}`).join(',')}}`;
}

function canonicalCondition(condition: JsonValue): string {
  if (!isOperatorObject(condition)) return literal(condition);
  const ops = Object.keys(condition).sort();
  return `{${ops.map((op) => `${JSON.stringify(op)}:${literal(condition[op])}`).join(',')}}`;
}

function literal(value: JsonValue | undefined): string {
  return JSON.stringify(value) ?? 'null';
}

/**
 * JSON text with object keys sorted at every level and arrays in order: values that differ only in key order
 * give the same text. For hashing content (ids derived from a record); to name a watch use `canonicalJson`,
 * which keeps embedded documents in order because `matches` compares them order-sensitively.
 */
export function stableJson(value: JsonValue | undefined): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(',')}}`;
}

/** The field paths a filter reads (its top-level keys), e.g. `["type", "identifiers"]`. */
export function paramFields(params: Params): string[] {
  return Object.keys(params);
}
