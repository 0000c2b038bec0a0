/**
 * What a watch costs the hub in bytes, estimated from what it says: the budget `maxWatchBytes` of a connection is
 * spent in these units. Browser-safe.
 *
 * A filter holds its canonical params (one string), the params as parsed (an object tree whose strings the index
 * shares) and one index entry per `$in` value. The sizes below are V8's on a 64-bit heap without pointer compression
 * (Node's build), rounded up, so that the estimate is at or above what a full GC leaves (bench/README.md "What one
 * watch costs" has the measurement; a test in `watch-bytes.test.ts` holds the estimate above the heap).
 */
import type { JsonValue, Params } from '../../protocol/index.js';

/** A pointer or small integer: one slot of an object, an array or a hash table entry. */
const SLOT = 8;
/** A string's header (map, hash, length), before its characters. */
const STRING_HEADER = 16;
/** A heap number: a number that is not a small integer (boxed when it sits among other kinds of values). */
const HEAP_NUMBER = 16;
/** An array: the JS object and its backing store's header. */
const ARRAY_HEADER = 48;
/** A plain object: the JS object with its in-object property slots, or a dictionary's header. */
const OBJECT_HEADER = 56;
/** One property of an object (dictionary entry: key, value, details). */
const PROPERTY = 3 * SLOT;
/**
 * One entry of the watch index (`Map` value → filter): key, value and chain slots plus half a bucket (28 bytes),
 * at the table's lowest load, right after it doubled (half full): an upper bound, not an average.
 */
const INDEX_ENTRY = 56;
/** The filter object, its field list, and its slots in the channel's filter map and in a connection's watch list. */
const FILTER = 320;

/** Characters above U+00FF make V8 store the whole string with two bytes per character. */
const TWO_BYTE = /[\u0100-\uffff]/;

/** Bytes of a string: header plus characters, rounded up to a slot. */
export function stringBytes(text: string): number {
  const chars = TWO_BYTE.test(text) ? 2 * text.length : text.length;
  return Math.ceil((STRING_HEADER + chars) / SLOT) * SLOT;
}

/** Small integers live in the slot that holds them; other numbers may be boxed. */
function numberBytes(n: number): number {
  return Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 ? 0 : HEAP_NUMBER;
}

/** Bytes of a parsed JSON value beyond the slot that refers to it (validated params: at most 16 levels deep). */
export function valueBytes(value: JsonValue): number {
  if (typeof value === 'string') return stringBytes(value);
  if (typeof value === 'number') return numberBytes(value);
  if (value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) {
    let bytes = ARRAY_HEADER + SLOT * value.length;
    for (const v of value) bytes += valueBytes(v);
    return bytes;
  }
  let bytes = OBJECT_HEADER;
  // Keys are not counted: `JSON.parse` interns them, so equal keys share one string.
  for (const key of Object.keys(value)) bytes += PROPERTY + valueBytes(value[key] as JsonValue);
  return bytes;
}

/**
 * The bytes a watch on `params` (canonical form `key`, indexed by `indexedValues` equality values) holds in the hub.
 * Proportional to what the watch says: its canonical text, its parsed params and its index entries.
 */
export function estimateWatchBytes(key: string, params: Params, indexedValues: number): number {
  return FILTER + stringBytes(key) + valueBytes(params) + INDEX_ENTRY * indexedValues;
}
