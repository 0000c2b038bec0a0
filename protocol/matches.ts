/**
 * `matches(doc, params)`: the one filter evaluator, used by the memory backend, the mock, the server's watch
 * routing and the client store. It follows MongoDB's semantics for the allowed subset:
 *
 * - `{field: v}` is equality on a dotted path; an array field equals `v` when it contains it (one level),
 *   a path through an array of documents looks in every element, and `null` matches a missing field.
 * - `$ne`/`$nin` are the negation of equality/`$in`, so they match a missing field.
 * - `$gt $gte $lt $lte` compare only values of the operand's type (numbers with numbers, strings with strings,
 *   booleans with booleans), looking inside arrays.
 * - `$exists` tests whether the path reaches any value (`null` counts as a value).
 *
 * `params` must have passed `validateParams`; `matches` does not re-check it.
 */
import type { Doc, JsonValue, Params } from './messages.js';
import { isOperatorObject, isPlainObject } from './params.js';

type Candidate = JsonValue | undefined;

const INDEX = /^(0|[1-9]\d*)$/;

/** Every value a dotted path reaches, `undefined` standing for "missing here". */
function collect(value: Candidate, segments: readonly string[], i: number, out: Candidate[]): void {
  if (i === segments.length) {
    out.push(value);
    return;
  }
  const segment = segments[i]!;
  if (Array.isArray(value)) {
    if (INDEX.test(segment)) {
      const index = Number(segment);
      if (index < value.length) collect(value[index], segments, i + 1, out);
    }
    for (const element of value) if (isPlainObject(element)) collect(element, segments, i, out);
    return;
  }
  if (isPlainObject(value)) {
    collect(Object.prototype.hasOwnProperty.call(value, segment) ? value[segment] : undefined, segments, i + 1, out);
    return;
  }
  out.push(undefined);
}

const pathCache = new Map<string, readonly string[]>();

function segmentsOf(path: string): readonly string[] {
  let segments = pathCache.get(path);
  if (segments === undefined) {
    segments = path.split('.');
    // Bounded: paths come from validated params; a cache this size never evicts in practice.
    if (pathCache.size < 10_000) pathCache.set(path, segments);
  }
  return segments;
}

/** The values `path` reaches in `doc`; never empty (`[undefined]` when nothing is there). */
export function valuesAt(doc: Doc, path: string): Candidate[] {
  const out: Candidate[] = [];
  if (path.indexOf('.') === -1) {
    out.push(Object.prototype.hasOwnProperty.call(doc, path) ? doc[path] : undefined);
    return out;
  }
  collect(doc, segmentsOf(path), 0, out);
  if (out.length === 0) out.push(undefined);
  return out;
}

/** Structural equality of JSON values; object key order does not matter. */
export function jsonEqual(a: Candidate, b: Candidate): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !jsonEqual(a[k], b[k])) return false;
  }
  return true;
}

function equalsOne(candidate: Candidate, value: JsonValue): boolean {
  if (value === null) {
    if (candidate === undefined || candidate === null) return true;
    return Array.isArray(candidate) && candidate.includes(null);
  }
  if (candidate === value) return true;
  if (typeof value !== 'object') {
    // Primitive fast path: no deep comparison needed.
    return Array.isArray(candidate) && candidate.includes(value);
  }
  if (jsonEqual(candidate, value)) return true;
  return Array.isArray(candidate) && candidate.some((e) => jsonEqual(e, value));
}

function equals(candidates: Candidate[], value: JsonValue): boolean {
  for (const c of candidates) if (equalsOne(c, value)) return true;
  return false;
}

function compare(candidates: Candidate[], op: string, operand: JsonValue): boolean {
  const type = typeof operand;
  const test = (v: Candidate): boolean => {
    if (typeof v !== type) return false;
    const x = v as number | string | boolean;
    const y = operand as number | string | boolean;
    switch (op) {
      case '$gt':
        return x > y;
      case '$gte':
        return x >= y;
      case '$lt':
        return x < y;
      default:
        return x <= y;
    }
  };
  for (const c of candidates) {
    if (Array.isArray(c)) {
      for (const e of c) if (test(e)) return true;
    } else if (test(c)) return true;
  }
  return false;
}

function operatorMatches(candidates: Candidate[], op: string, operand: JsonValue): boolean {
  switch (op) {
    case '$in':
      return (operand as JsonValue[]).some((v) => equals(candidates, v));
    case '$nin':
      return !(operand as JsonValue[]).some((v) => equals(candidates, v));
    case '$ne':
      return !equals(candidates, operand);
    case '$exists':
      return candidates.some((c) => c !== undefined) === operand;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return compare(candidates, op, operand);
    default:
      // Unreachable for validated params; refusing is the safe answer.
      return false;
  }
}

/** True when `doc` satisfies every condition of `params` (an empty filter matches everything). */
export function matches(doc: Doc, params: Params): boolean {
  for (const path of Object.keys(params)) {
    const condition = params[path]!;
    const candidates = valuesAt(doc, path);
    if (isOperatorObject(condition)) {
      for (const op of Object.keys(condition)) if (!operatorMatches(candidates, op, condition[op]!)) return false;
    } else if (!equals(candidates, condition)) {
      return false;
    }
  }
  return true;
}

function projectValue(value: Candidate, segments: readonly string[], i: number): Candidate {
  if (i === segments.length || value === undefined) return value;
  if (Array.isArray(value)) {
    // Keep positions (numeric segments index them) and keep non-documents as they are: they can match
    // `a.0`-style paths; documents shrink to the path.
    return value.map((e) => (isPlainObject(e) ? (projectValue(e, segments, i) as JsonValue) : e));
  }
  if (!isPlainObject(value)) return value;
  const segment = segments[i]!;
  if (!Object.prototype.hasOwnProperty.call(value, segment)) return {};
  const inner = projectValue(value[segment], segments, i + 1);
  return inner === undefined ? {} : { [segment]: inner as JsonValue };
}

function mergeInto(target: Doc, source: Doc): void {
  for (const [k, v] of Object.entries(source)) {
    const existing = target[k];
    if (isPlainObject(existing) && isPlainObject(v)) mergeInto(existing as Doc, v as Doc);
    else target[k] = v;
  }
}

/**
 * The smallest document that evaluates like `doc` for every filter reading only `paths`:
 * `matches(project(doc, fields(p)), p) === matches(doc, p)`. The hub keeps these per record to know what a
 * record matched before a change without keeping whole records.
 */
export function project(doc: Doc, paths: Iterable<string>): Doc {
  const out: Doc = {};
  for (const path of paths) {
    const segments = segmentsOf(path);
    const head = segments[0]!;
    if (!Object.prototype.hasOwnProperty.call(doc, head)) continue;
    const value = projectValue(doc[head], segments, 1);
    if (value === undefined) continue;
    if (Object.prototype.hasOwnProperty.call(out, head) && isPlainObject(out[head]) && isPlainObject(value)) {
      mergeInto(out[head] as Doc, value as Doc);
    } else if (!Object.prototype.hasOwnProperty.call(out, head)) {
      out[head] = value as JsonValue;
    } else {
      // Two paths through the same array (a.b and a.c): fall back to the whole value, still exact.
      out[head] = doc[head]!;
    }
  }
  return out;
}
