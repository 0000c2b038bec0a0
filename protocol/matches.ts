/**
 * `matches(doc, params)`: the one filter evaluator, used by the memory backend, the mock, the server's watch
 * routing and the client store. It follows MongoDB's own semantics for the allowed subset, so that a snapshot
 * read from MongoDB and the live changes filtered here always agree.
 *
 * **Paths.** A dotted path is resolved the way MongoDB's path iterator does it (`src/mongo/db/matcher/path.cpp`).
 * It yields a list of *elements*; a condition holds when it holds for at least one element:
 *
 * - through documents, field by field; a field that is absent, or a non-document in the middle of the path
 *   (`{a: 4}` for `a.b`), yields one *missing* element;
 * - an array at the end of the path yields each of its elements and then the array itself
 *   (`{a: [1, [2]]}` for `a` yields `1`, `[2]`, `[1, [2]]`);
 * - an array in the middle of the path is looked into one level: every document in it continues the path
 *   (and may yield missing); scalars and nested arrays in it yield nothing. An array with no documents
 *   therefore yields no element at all, so `{"a.b": null}` does not match `{a: [1, 2]}` or `{a: []}`;
 * - a numeric segment (`a.0`) on an array also selects the element at that position, which is yielded as it is
 *   (an array found this way is not expanded: `{"a.0": 1}` does not match `{a: [[1]]}`); documents in the array
 *   are still searched for a field named `"0"` as well (so `{"a.0": null}` matches `{a: [{b: 1}]}`, as in MongoDB).
 *
 * **Operators.** Equality (`{field: v}`) holds when an element equals `v`; `null` equals `null` and missing.
 * `$in` is equality with any listed value. `$ne` and `$nin` are the negations of equality and `$in`, so they match a
 * missing field. `$gt $gte $lt $lte` hold when an element has the operand's type (numbers with numbers, strings
 * with strings, booleans with booleans) and compares as asked; strings compare by Unicode code point, which is
 * MongoDB's binary UTF-8 order (JavaScript's `<` orders code units and disagrees above U+FFFF). `$exists: true`
 * holds when some element is not missing (`null` is a value); `$exists: false` is its negation.
 *
 * **Equality of documents is key-order sensitive**, as in MongoDB (which compares BSON): `{a: {x: 1, y: 2}}` does
 * not match `{a: {y: 2, x: 1}}`. Arrays compare element by element, in order. Numbers compare by value
 * (`1` equals `1.0`, `0` equals `-0`). One limit no JavaScript implementation escapes: objects list integer-like
 * keys (`"1"`, `"20"`) first, in ascending order, whatever order the JSON text had, so embedded documents whose
 * stored order differs from that can compare differently here than in MongoDB.
 *
 * `params` must have passed `validateParams`; `matches` does not re-check it (an unknown operator or a
 * malformed operand makes the condition false rather than throwing).
 */
import type { Filter } from './filter.js';
import type { Doc, JsonValue, Params } from './messages.js';
import { isOperatorObject, isPlainObject } from './params.js';

/** One value a path yields; `undefined` stands for "missing here" (MongoDB's EOO element). */
type Element = JsonValue | undefined;
type JsonObject = { [key: string]: JsonValue };

const { hasOwn } = Object;

/**
 * Bounds of the memo of split field paths. Paths come from the filters clients send, so a memo without bounds
 * keeps every distinct path it is shown (issue 10, finding 2: 300 queries with distinct 900 KB field names kept
 * 258 MB). A path longer than `maxKeyLength` code units is split on every use and never kept; of the others, at
 * most `maxEntries` paths of at most `maxTotalLength` code units together are kept: one more empties the memo, which
 * starts over with it (as bounded as dropping the oldest one by one, in fewer bytes of the client bundle; a path
 * dropped is split again when next used). The memo therefore holds at most `maxTotalLength` code units of paths, as
 * much again of their segments (2 bytes each at worst: ≤ 1 MiB together) and a few hundred bytes per entry.
 *
 * `maxKeyLength` is the input budget's `DEFAULTS.inputBudget.maxKeyLength`, so every path the server admits can be
 * memoised: splitting a 1,024-character path costs about twenty lookups, and a filter is evaluated once per record
 * a read scans. A module constant, not an option: it bounds an internal memo shared by everything in the process
 * (the client store included), and no operator needs to tune it.
 */
export const PATH_MEMO = { maxKeyLength: 1_024, maxEntries: 1_000, maxTotalLength: 256 * 1_024 } as const;

/** Split paths by path; see `PATH_MEMO`. */
const pathMemo = new Map<string, string[]>();
/** Code units of the paths in `pathMemo`. */
let pathMemoLength = 0;

/** The segments of a dotted path. */
function segmentsOf(path: string): string[] {
  // The miss path lives in `split`, so this stays small enough for the compiler to inline into every caller.
  return pathMemo.get(path) ?? split(path);
}

/** Splits a path the memo does not hold, and memoises it within `PATH_MEMO`. */
function split(path: string): string[] {
  const segments = path.split('.');
  if (path.length <= PATH_MEMO.maxKeyLength) {
    pathMemoLength += path.length;
    if (pathMemo.size >= PATH_MEMO.maxEntries || pathMemoLength > PATH_MEMO.maxTotalLength) {
      pathMemo.clear();
      pathMemoLength = path.length;
    }
    pathMemo.set(path, segments);
  }
  return segments;
}

/** Follows `segments` from `i` inside a document (MongoDB's `getFieldDottedOrArray` plus iteration). */
function fromObject(object: JsonObject, segments: string[], i: number, expandLeaf: boolean, out: Element[]): void {
  const key = segments[i]!;
  const value = hasOwn(object, key) ? object[key] : undefined;
  const last = i + 1 === segments.length;
  if (Array.isArray(value)) fromArray(value, segments, i + 1, expandLeaf, out);
  else if (!last && isPlainObject(value)) fromObject(value as JsonObject, segments, i + 1, expandLeaf, out);
  // Absent, or a scalar (or null) where the path goes on: missing.
  else out.push(last ? value : undefined);
}

/** Follows `segments` from `next` through an array that the previous segment reached. */
function fromArray(array: JsonValue[], segments: string[], next: number, expandLeaf: boolean, out: Element[]): void {
  if (next === segments.length) {
    if (expandLeaf) for (const element of array) out.push(element);
    out.push(array);
    return;
  }
  // MongoDB treats a segment as an array offset when it is the decimal form of a position ("0", "12", not "01");
  // any other segment gives an offset no index equals (-1, NaN, 1.5, Infinity).
  const segment = segments[next]!;
  const offset = String(+segment) === segment ? +segment : -1;
  const last = next + 1 === segments.length;
  for (let index = 0; index < array.length; index++) {
    const element = array[index]!;
    const isDoc = isPlainObject(element);
    // Implicit traversal: a document continues the path, including a numeric segment as a field name.
    if (isDoc) fromObject(element as JsonObject, segments, next, expandLeaf, out);
    // Explicit position: yielded as it is (a nested array is not expanded); a document or a nested array continues
    // the path, a scalar yields nothing. Any other scalar or nested array is skipped, as MongoDB does.
    if (index === offset) {
      if (last) out.push(element);
      else if (isDoc) fromObject(element as JsonObject, segments, next + 1, expandLeaf, out);
      else if (Array.isArray(element)) fromArray(element, segments, next + 1, expandLeaf, out);
    }
  }
}

function elementsAt(doc: Doc, path: string, expandLeaf: boolean): Element[] {
  const out: Element[] = [];
  fromObject(doc, segmentsOf(path), 0, expandLeaf, out);
  return out;
}

/**
 * The values `path` reaches in `doc`, as MongoDB's path traversal finds them but without expanding an array at
 * the end of the path (`{a: [1, 2]}` gives `[[1, 2]]` for `a`); `undefined` stands for "missing there".
 * Never empty: when the path yields nothing (it crosses an array that holds no documents) the result is
 * `[undefined]`.
 */
export function valuesAt(doc: Doc, path: string): Element[] {
  const out = elementsAt(doc, path, false);
  if (out.length === 0) out.push(undefined);
  return out;
}

/**
 * Equality of JSON values; `ordered`: documents must also list their keys in the same order (MongoDB's BSON
 * equality, which `matches` uses), otherwise key order is ignored (`jsonEqual`).
 */
function equal(a: Element, b: Element, ordered: boolean): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as JsonValue[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], other[i], ordered)) return false;
    return true;
  }
  const o = b as JsonObject;
  const keys = ordered ? Object.keys(o) : undefined;
  // for…in rather than Object.keys: the client store compares every record it receives, and two key arrays per
  // comparison were most of its cost. for…in visits own keys in Object.keys order.
  let count = 0;
  for (const k in a) {
    if (!hasOwn(a, k)) continue;
    if (!hasOwn(o, k) || (keys !== undefined && keys[count] !== k) || !equal(a[k], o[k], ordered)) return false;
    count++;
  }
  for (const k in o) if (hasOwn(o, k)) count--;
  return count === 0;
}

/**
 * Structural equality of JSON values, ignoring object key order (a general-purpose helper: change detection,
 * tests). Note that `matches` does NOT use it for filter equality: MongoDB's equality of embedded documents is
 * key-order sensitive, and so is `matches`.
 */
export function jsonEqual(a: Element, b: Element): boolean {
  return equal(a, b, false);
}

/** Equality of one element with a filter value: `null` equals null and missing. */
function equalsElement(element: Element, value: JsonValue): boolean {
  return value === null ? element == null : element !== undefined && equal(element, value, true);
}

/** Orders strings by code point (MongoDB compares UTF-8 bytes, which is the same order). */
function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 puts surrogates (code points above U+FFFF) before U+E000–U+FFFF; code point order puts them after.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

function equalsAny(elements: readonly Element[], value: JsonValue): boolean {
  for (const e of elements) if (equalsElement(e, value)) return true;
  return false;
}

function inList(elements: readonly Element[], operand: JsonValue): boolean {
  if (Array.isArray(operand)) for (const v of operand) if (equalsAny(elements, v)) return true;
  return false;
}

function operatorMatches(elements: readonly Element[], op: string, operand: JsonValue): boolean {
  switch (op) {
    case '$in':
      return inList(elements, operand);
    case '$nin':
      return Array.isArray(operand) && !inList(elements, operand);
    case '$ne':
      return !equalsAny(elements, operand);
    case '$exists':
      return typeof operand === 'boolean' && elements.some((e) => e !== undefined) === operand;
  }
  // $gt $gte $lt $lte. Comparisons stay within one type (MongoDB's type bracketing); the validator only lets these
  // three through. An unknown operator (unreachable for validated params) matches nothing: the safe answer.
  const type = typeof operand;
  return (
    (type === 'number' || type === 'string' || type === 'boolean') &&
    elements.some((e) => {
      if (typeof e !== type) return false;
      const order = type === 'string' ? compareStrings(e as string, operand as string) : e! < operand! ? -1 : e! > operand! ? 1 : 0;
      return op === '$gt' ? order > 0 : op === '$gte' ? order >= 0 : op === '$lt' ? order < 0 : op === '$lte' && order <= 0;
    })
  );
}

/** True when `doc` satisfies every condition of `params` (an empty filter matches everything). */
export function matches(doc: Doc, params: Params): boolean;
/**
 * True when `record` satisfies every condition of `filter`: the typed form, for a record type such as `Node` and
 * the `Filter<Node>` a connection watches with. Second, so that the server's untyped calls never instantiate it.
 */
export function matches<T extends object>(record: T, filter: Filter<T>): boolean;
export function matches(doc: Doc, params: Params): boolean {
  for (const path of Object.keys(params)) {
    const condition = params[path]!;
    const elements = elementsAt(doc, path, true);
    if (isOperatorObject(condition)) {
      for (const op of Object.keys(condition)) if (!operatorMatches(elements, op, condition[op]!)) return false;
    } else if (!equalsAny(elements, condition)) {
      return false;
    }
  }
  return true;
}

/** The paths to keep, as a tree of segments; `whole` marks where a path ends (the value there is kept whole). */
interface PathTree {
  whole: boolean;
  readonly children: Map<string, PathTree>;
}

function defineOwn(target: JsonObject | JsonValue[], key: string | number, value: JsonValue): void {
  // defineProperty, not assignment: a key named "__proto__" must stay data, never reach the prototype setter.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function projectValue(value: JsonValue, tree: PathTree): JsonValue | undefined {
  if (tree.whole) return value;
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let index = 0; index < value.length; index++) {
      const element = value[index]!;
      // An element at a position a path names is read as it is; other documents continue the paths; any other
      // value is skipped by the traversal and only holds its position.
      const projected = tree.children.has(String(index))
        ? element
        : isPlainObject(element)
          ? projectObject(element as JsonObject, tree)
          : null;
      defineOwn(out, index, projected);
    }
    return out;
  }
  if (isPlainObject(value)) return projectObject(value as JsonObject, tree);
  // A scalar where a path goes on reads as missing, exactly like an absent key.
  return undefined;
}

function projectObject(object: JsonObject, tree: PathTree): JsonObject {
  const out: JsonObject = {};
  for (const [key, child] of tree.children) {
    if (!hasOwn(object, key)) continue;
    const projected = projectValue(object[key]!, child);
    if (projected !== undefined) defineOwn(out, key, projected);
  }
  return out;
}

/**
 * A document, as small as the paths allow, that evaluates like `doc` for every filter reading only `paths`:
 * `matches(project(doc, paramFields(p)), p) === matches(doc, p)`. The hub keeps these per record to know what a
 * record matched before a change without keeping whole records. Array positions are kept (numeric segments index
 * them; elements no path can read become `null`). `doc` is never modified; values kept whole are shared with it.
 */
export function project(doc: Doc, paths: Iterable<string>): Doc {
  const root: PathTree = { whole: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const segment of segmentsOf(path)) {
      let child = node.children.get(segment);
      if (child === undefined) {
        child = { whole: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.whole = true;
  }
  return projectObject(doc, root);
}
