/**
 * `Filter<T>`: the params filter (PROTOCOL.md "params") as a type over the records it filters, so that what the
 * server would refuse with `bad-params` — or what could never match — fails to compile instead. Types only: nothing
 * here reaches a bundle.
 *
 * The rules, and why each stops where it does:
 * - An operator outside the allowlist (`$regex`, `$where`, `$or`, `$expr` …) is an error anywhere: a `$` key is
 *   `never` at the top level and in a condition only the allowed operators are known.
 * - A field is checked by its first path segment only: `'context.graphInstance'` passes when `T` has `context`.
 *   Resolving the rest of a path through nested types (and arrays: `'obms.0.service'`) would cost compile time for
 *   little; its value is then any JSON scalar.
 * - A top-level field's value is checked against the field's type: scalars and literal unions exactly (a typo in
 *   `_status` fails), an array field also against one element (MongoDB: an array equals a value it contains).
 *   Equality against a whole embedded document is left out (MongoDB compares such documents field order included,
 *   which a UI rarely means: use dotted paths); keeping objects out of a condition is also what lets the compiler see
 *   `{$in: […], $regex: …}` as an error rather than as a document.
 * - `T` with a string index signature (`Doc`, the default) allows any field name; operators are still checked.
 */
import type { Doc, JsonValue } from './messages.js';

/** The JSON values a condition compares with. */
type Scalar = string | number | boolean | null;

/**
 * What a field of type `V` may equal in a filter: a value of its own scalar type, one element of an array field, or
 * a whole array of scalars; `null` (MongoDB: matches a missing field) always. A `Date` field compares with ISO
 * strings, which is what the server sends for it.
 */
export type FilterValue<V> =
  | (V extends Scalar ? V : V extends Date ? string : V extends readonly (infer E)[] ? ScalarOf<E> | readonly ScalarOf<E>[] : never)
  | null;

/** The scalars among `E` (`JsonValue` gives every scalar). */
type ScalarOf<E> = E extends Scalar ? E : E extends Date ? string : never;

/** What `$gt`…`$lte` compare a field of type `V` with: its scalar type, widened (`'running'` → `string`). */
type Comparable<V> = V extends string ? string : V extends number ? number : V extends boolean ? boolean : never;

/** The allowed operators (`OPERATORS` in protocol/params.ts) on a field of type `V`. */
export interface FilterOperators<V> {
  $in?: readonly FilterValue<V>[];
  $nin?: readonly FilterValue<V>[];
  /** Also matches a record without the field. */
  $ne?: FilterValue<V>;
  $gt?: Comparable<FilterValue<V>>;
  $gte?: Comparable<FilterValue<V>>;
  $lt?: Comparable<FilterValue<V>>;
  $lte?: Comparable<FilterValue<V>>;
  $exists?: boolean;
}

/** A field's condition: a value to equal, or allowed operators. */
export type FilterCondition<V> = FilterValue<V> | FilterOperators<V>;

/**
 * A filter on records of type `T` (the params of `watch`, `query`, `get`, `stop`): field equality on the fields of
 * `T` or dotted paths under them, and the operators `$in $nin $ne $gt $gte $lt $lte $exists`.
 *
 * @example
 * const filter: Filter<LogEvent> = { 'context.graphInstance': instanceId, level: { $in: ['warning', 'error'] } };
 */
export type Filter<T = Doc> = { [K in keyof T]?: FilterCondition<Exclude<T[K], undefined>> } & DottedPaths<T> & NoTopLevelOperator;

/** A dotted path (`'context.graphInstance'`, `'obms.0.service'`) under a field `T` has, with any scalar value. */
type DottedPaths<T> = { [K in keyof T & string as `${K}.${string}`]?: FilterCondition<JsonValue> };

/** No operator at the top level: `$or`, `$and`, `$where`, `$expr` … are refused with `bad-params`. */
interface NoTopLevelOperator {
  [operator: `$${string}`]: never;
}
