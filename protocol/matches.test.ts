import fc from 'fast-check';
import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { mib, retainedBy } from '../test/support/heap.js';
import { jsonEqual, matches, PATH_MEMO, project, valuesAt } from './matches.js';
import type { Doc, JsonValue, Params } from './messages.js';
import { canonicalJson, isOperatorObject, isPlainObject, paramFields, validateParams } from './params.js';

/** Which of `docs` (by name) match `params`. */
function matching(docs: Record<string, Doc>, params: Params): string[] {
  return Object.keys(docs)
    .filter((name) => matches(docs[name]!, params))
    .sort();
}

describe('matches: equality', () => {
  it('an empty filter matches every document', () => {
    expect(matches({}, {})).toBe(true);
    expect(matches({ a: 1 }, {})).toBe(true);
  });

  it('field equality on scalars of every JSON type', () => {
    const doc: Doc = { n: 1, s: 'x', t: true, f: false, z: null };
    expect(matches(doc, { n: 1, s: 'x', t: true, f: false, z: null })).toBe(true);
    expect(matches(doc, { n: 2 })).toBe(false);
    expect(matches(doc, { s: 'X' })).toBe(false);
    expect(matches(doc, { t: false })).toBe(false);
  });

  it('numbers compare by value, so 1 equals 1.0 and 0 equals -0', () => {
    expect(matches({ a: 1.0 }, { a: 1 })).toBe(true);
    expect(matches({ a: -0 }, { a: 0 })).toBe(true);
  });

  it('equality never crosses types: 1 is not "1", true is not 1, null is not 0 or ""', () => {
    expect(matches({ a: '1' }, { a: 1 })).toBe(false);
    expect(matches({ a: 1 }, { a: true })).toBe(false);
    expect(matches({ a: 0 }, { a: null })).toBe(false);
    expect(matches({ a: '' }, { a: null })).toBe(false);
  });

  it('a missing field never equals a value, but equals null', () => {
    expect(matches({}, { a: 1 })).toBe(false);
    expect(matches({}, { a: null })).toBe(true);
    expect(matches({ a: null }, { a: null })).toBe(true);
  });

  it('every condition must hold (conjunction)', () => {
    expect(matches({ a: 1, b: 2 }, { a: 1, b: 2 })).toBe(true);
    expect(matches({ a: 1, b: 3 }, { a: 1, b: 2 })).toBe(false);
  });

  it('an array field equals a value it contains, one level deep', () => {
    expect(matches({ tags: ['x', 'y'] }, { tags: 'y' })).toBe(true);
    expect(matches({ tags: ['x', 'y'] }, { tags: 'z' })).toBe(false);
    expect(matches({ tags: [['x']] }, { tags: 'x' })).toBe(false);
    expect(matches({ tags: [['x']] }, { tags: ['x'] })).toBe(true);
  });

  it('an array operand equals the whole array in order, or an element that is that array', () => {
    expect(matches({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(matches({ a: [2, 1] }, { a: [1, 2] })).toBe(false);
    expect(matches({ a: [1, 2, 3] }, { a: [1, 2] })).toBe(false);
    expect(matches({ a: [[1, 2], 3] }, { a: [1, 2] })).toBe(true);
    expect(matches({ a: [] }, { a: [] })).toBe(true);
    expect(matches({ a: [[]] }, { a: [] })).toBe(true);
  });

  it('embedded document equality is exact: same fields, same values, same order (as MongoDB compares BSON)', () => {
    expect(matches({ a: { x: 1, y: 2 } }, { a: { x: 1, y: 2 } })).toBe(true);
    expect(matches({ a: { y: 2, x: 1 } }, { a: { x: 1, y: 2 } })).toBe(false);
    expect(matches({ a: { x: 1, y: 2, z: 3 } }, { a: { x: 1, y: 2 } })).toBe(false);
    expect(matches({ a: { x: 1 } }, { a: { x: 1.0 } })).toBe(true);
    expect(matches({ a: [{ x: 1 }, { y: 2 }] }, { a: { y: 2 } })).toBe(true);
    expect(matches({ a: {} }, { a: {} })).toBe(true);
    expect(matches({ a: { b: null } }, { a: {} })).toBe(false);
  });

  it('null inside an embedded document or array operand equals only null, never missing', () => {
    expect(matches({ a: {} }, { a: { b: null } })).toBe(false);
    expect(matches({ a: [null] }, { a: [null] })).toBe(true);
  });
});

describe('matches: operators', () => {
  it('$in is equality with any listed value, including null for missing', () => {
    expect(matches({ a: 2 }, { a: { $in: [1, 2] } })).toBe(true);
    expect(matches({ a: 3 }, { a: { $in: [1, 2] } })).toBe(false);
    expect(matches({ a: [3, 2] }, { a: { $in: [1, 2] } })).toBe(true);
    expect(matches({}, { a: { $in: [1, null] } })).toBe(true);
    expect(matches({ a: 1 }, { a: { $in: [] } })).toBe(false);
    expect(matches({ a: [1, 2] }, { a: { $in: [[1, 2], 4] } })).toBe(true);
  });

  it('$nin is the negation of $in, so it matches a missing field', () => {
    expect(matches({ a: 3 }, { a: { $nin: [1, 2] } })).toBe(true);
    expect(matches({ a: 2 }, { a: { $nin: [1, 2] } })).toBe(false);
    expect(matches({ a: [3, 2] }, { a: { $nin: [1, 2] } })).toBe(false);
    expect(matches({}, { a: { $nin: [1, 2] } })).toBe(true);
    expect(matches({}, { a: { $nin: [null] } })).toBe(false);
    expect(matches({ a: 1 }, { a: { $nin: [] } })).toBe(true);
  });

  it('$ne is the negation of equality, so it matches a missing field and fails on arrays containing the value', () => {
    expect(matches({ a: 1 }, { a: { $ne: 2 } })).toBe(true);
    expect(matches({ a: 2 }, { a: { $ne: 2 } })).toBe(false);
    expect(matches({}, { a: { $ne: 2 } })).toBe(true);
    expect(matches({ a: [1, 2] }, { a: { $ne: 2 } })).toBe(false);
    expect(matches({ a: [1, 2] }, { a: { $ne: [1, 2] } })).toBe(false);
    expect(matches({ a: null }, { a: { $ne: null } })).toBe(false);
    expect(matches({}, { a: { $ne: null } })).toBe(false);
    expect(matches({ a: 0 }, { a: { $ne: null } })).toBe(true);
  });

  it('$gt $gte $lt $lte on numbers', () => {
    expect(matches({ a: 5 }, { a: { $gt: 4 } })).toBe(true);
    expect(matches({ a: 4 }, { a: { $gt: 4 } })).toBe(false);
    expect(matches({ a: 4 }, { a: { $gte: 4 } })).toBe(true);
    expect(matches({ a: 3.5 }, { a: { $lt: 4 } })).toBe(true);
    expect(matches({ a: 4 }, { a: { $lt: 4 } })).toBe(false);
    expect(matches({ a: 4 }, { a: { $lte: 4 } })).toBe(true);
    expect(matches({ a: 5 }, { a: { $gt: 1, $lt: 9 } })).toBe(true);
    expect(matches({ a: 10 }, { a: { $gt: 1, $lt: 9 } })).toBe(false);
  });

  it('$gt $gte $lt $lte on strings and booleans (false < true)', () => {
    expect(matches({ a: 'b' }, { a: { $gt: 'a' } })).toBe(true);
    expect(matches({ a: 'ab' }, { a: { $gt: 'a' } })).toBe(true);
    expect(matches({ a: 'B' }, { a: { $gt: 'a' } })).toBe(false);
    expect(matches({ a: true }, { a: { $gt: false } })).toBe(true);
    expect(matches({ a: false }, { a: { $lt: true } })).toBe(true);
    expect(matches({ a: false }, { a: { $gte: false } })).toBe(true);
  });

  it('comparisons only within the same type: numbers never compare with strings, booleans or null', () => {
    expect(matches({ a: '5' }, { a: { $gt: 1 } })).toBe(false);
    expect(matches({ a: 5 }, { a: { $gt: '1' } })).toBe(false);
    expect(matches({ a: true }, { a: { $gt: 0 } })).toBe(false);
    expect(matches({ a: 1 }, { a: { $lt: true } })).toBe(false);
    expect(matches({ a: null }, { a: { $lt: 1 } })).toBe(false);
    expect(matches({}, { a: { $lt: 1 } })).toBe(false);
    expect(matches({ a: { b: 1 } }, { a: { $gt: 0 } })).toBe(false);
  });

  it('comparisons look at the elements of an array field', () => {
    expect(matches({ a: [1, 10] }, { a: { $gt: 5 } })).toBe(true);
    expect(matches({ a: [1, 2] }, { a: { $gt: 5 } })).toBe(false);
    expect(matches({ a: ['x', 3] }, { a: { $gt: 2 } })).toBe(true);
    // Each condition may be met by a different element (MongoDB semantics without $elemMatch).
    expect(matches({ a: [1, 10] }, { a: { $gt: 5, $lt: 2 } })).toBe(true);
    expect(matches({ a: [[10]] }, { a: { $gt: 5 } })).toBe(false);
  });

  it('strings compare by code point (MongoDB binary order), not by UTF-16 code unit', () => {
    // U+FFFF sorts below U+10000 in code point order; UTF-16 code units put the surrogate pair first.
    expect(matches({ a: '\u{10000}' }, { a: { $gt: '\uffff' } })).toBe(true);
    expect(matches({ a: '\uffff' }, { a: { $lt: '\u{10000}' } })).toBe(true);
    expect(matches({ a: '\u{1F600}' }, { a: { $gt: '\u{1F5FF}' } })).toBe(true);
    expect(matches({ a: 'é' }, { a: { $gt: 'z' } })).toBe(true);
  });

  it('$exists: true when the path reaches a value (null counts), false otherwise', () => {
    expect(matches({ a: null }, { a: { $exists: true } })).toBe(true);
    expect(matches({ a: 0 }, { a: { $exists: true } })).toBe(true);
    expect(matches({ a: [] }, { a: { $exists: true } })).toBe(true);
    expect(matches({}, { a: { $exists: true } })).toBe(false);
    expect(matches({}, { a: { $exists: false } })).toBe(true);
    expect(matches({ a: null }, { a: { $exists: false } })).toBe(false);
    expect(matches({ a: { b: 1 } }, { 'a.b': { $exists: true } })).toBe(true);
    expect(matches({ a: { c: 1 } }, { 'a.b': { $exists: true } })).toBe(false);
  });

  it('an unknown operator or malformed operand (params that skipped validation) is false, not a throw', () => {
    expect(matches({ a: 1 }, { a: { $regex: '.' } })).toBe(false);
    expect(matches({ a: 1 }, { a: { $in: 1 } })).toBe(false);
    expect(matches({ a: 1 }, { a: { $nin: 1 } })).toBe(false);
    expect(matches({ a: 1 }, { a: { $exists: 1 } })).toBe(false);
  });
});

describe('matches: dotted paths and arrays', () => {
  it('dotted paths reach into embedded documents', () => {
    const doc: Doc = { a: { b: { c: 1 } } };
    expect(matches(doc, { 'a.b.c': 1 })).toBe(true);
    expect(matches(doc, { 'a.b': { c: 1 } })).toBe(true);
    expect(matches(doc, { 'a.b.c': 2 })).toBe(false);
    expect(matches(doc, { 'a.x.c': null })).toBe(true);
  });

  it('a path through an array of documents looks into every document', () => {
    const doc: Doc = {
      nics: [
        { mac: 'm1', up: true },
        { mac: 'm2', up: false },
      ],
    };
    expect(matches(doc, { 'nics.mac': 'm2' })).toBe(true);
    expect(matches(doc, { 'nics.mac': 'm3' })).toBe(false);
    expect(matches(doc, { 'nics.up': false })).toBe(true);
    // The two conditions may be met by different documents.
    expect(matches(doc, { 'nics.mac': 'm1', 'nics.up': false })).toBe(true);
  });

  it('a path through arrays at several levels (arrays of documents holding arrays of documents)', () => {
    // MongoDB's EqOp.MatchesThroughNestedArray.
    expect(matches({ a: { b: [{ c: [{ d: 1 }, { d: 2 }] }, { c: [{ d: 3 }] }] } }, { 'a.b.c.d': 3 })).toBe(true);
    expect(matches({ a: [{ b: [2, 3] }, { b: [4, 5] }] }, { 'a.b': 5 })).toBe(true);
    expect(matches({ a: [{ b: [2, 3] }, { b: [4, 5] }] }, { 'a.b': [4, 5] })).toBe(true);
    expect(matches({ a: [{ b: [2] }, { b: 0 }] }, { 'a.b': { $gt: 1 } })).toBe(true);
  });

  it('a path does not descend into an array nested directly in an array', () => {
    expect(matches({ a: [[{ b: 1 }]] }, { 'a.b': 1 })).toBe(false);
    expect(matches({ a: [{ c: 1 }, [3]] }, { 'a.b': 3 })).toBe(false);
  });

  it('null vs missing through arrays: a document lacking the field is null, an array of no documents yields nothing', () => {
    expect(matches({ a: [{ b: 1 }, { c: 2 }] }, { 'a.b': null })).toBe(true);
    expect(matches({ a: [{ b: 1 }, { b: 2 }] }, { 'a.b': null })).toBe(false);
    expect(matches({ a: [{ b: 1 }, { c: 2 }] }, { 'a.b': { $ne: null } })).toBe(false);
    expect(matches({ a: [1, 2] }, { 'a.b': null })).toBe(false);
    expect(matches({ a: [] }, { 'a.b': null })).toBe(false);
    expect(matches({ a: [null] }, { 'a.b': null })).toBe(false);
    expect(matches({ a: [{}] }, { 'a.b': null })).toBe(true);
    expect(matches({ a: [1, 2] }, { 'a.b': { $ne: null } })).toBe(true);
    expect(matches({ a: [] }, { 'a.b': { $ne: 1 } })).toBe(true);
    // A scalar in the middle of a path reads as missing.
    expect(matches({ a: 4 }, { 'a.b': null })).toBe(true);
    expect(matches({ a: null }, { 'a.b': null })).toBe(true);
  });

  it('$exists through arrays: true only when some document in the array has the field', () => {
    expect(matches({ a: [{ b: 1 }, { c: 2 }] }, { 'a.b': { $exists: true } })).toBe(true);
    expect(matches({ a: [{ c: 2 }] }, { 'a.b': { $exists: true } })).toBe(false);
    expect(matches({ a: [{ c: 2 }] }, { 'a.b': { $exists: false } })).toBe(true);
    expect(matches({ a: [1, 2] }, { 'a.b': { $exists: true } })).toBe(false);
    expect(matches({ a: [1, 2] }, { 'a.b': { $exists: false } })).toBe(true);
    expect(matches({ a: [{}, [1]] }, { 'a.b': { $exists: true } })).toBe(false);
    expect(matches({ a: [{ b: [1] }] }, { 'a.b.c': { $exists: true } })).toBe(false);
    expect(matches({ a: [] }, { a: { $exists: true } })).toBe(true);
  });

  it('numeric segments index arrays; an element found by index is not expanded', () => {
    expect(matches({ a: [5, 7, 3] }, { 'a.1': 7 })).toBe(true);
    expect(matches({ a: [5, 7, 3] }, { 'a.1': 5 })).toBe(false);
    expect(matches({ a: [5, [2, 4], 3] }, { 'a.1': [2, 4] })).toBe(true);
    // MongoDB's EqOp.MatchesReferencedArrayValue: {"a.0": 5} does not match {a: [[5]]}.
    expect(matches({ a: [[5]] }, { 'a.0': 5 })).toBe(false);
    expect(matches({ a: [5] }, { 'a.0': 5 })).toBe(true);
    expect(matches({ a: [{ b: 1 }, { b: 2 }] }, { 'a.1.b': 2 })).toBe(true);
    expect(matches({ a: [{ b: 1 }, { b: 2 }] }, { 'a.1.b': 1 })).toBe(false);
    expect(matches({ a: [5, [{ b: 4 }], 3] }, { 'a.1.b': 4 })).toBe(true);
    expect(matches({ a: [{ b: [2, 3] }] }, { 'a.0.b': 3 })).toBe(true);
  });

  it('numeric segments also name fields of documents, in objects and inside arrays', () => {
    expect(matches({ a: { '0': 'x' } }, { 'a.0': 'x' })).toBe(true);
    expect(matches({ a: [5, { '1': 4 }, 3] }, { 'a.1': 4 })).toBe(true);
    expect(matches({ a: [5, { '1': 4 }, 3] }, { 'a.1': { '1': 4 } })).toBe(true);
  });

  it('numeric segments: out of range or on a scalar yields nothing; documents lacking the field yield missing', () => {
    expect(matches({ a: [1] }, { 'a.5': null })).toBe(false);
    expect(matches({ a: [1] }, { 'a.5': { $exists: false } })).toBe(true);
    expect(matches({ a: [1] }, { 'a.0.b': null })).toBe(false);
    expect(matches({ a: [] }, { 'a.0': { $ne: null } })).toBe(true);
    // A quirk MongoDB has and we keep: {"a.0": null} matches {a: [{b: 1}]}, because the document at index 0 is
    // also searched for a field named "0", which is missing.
    expect(matches({ a: [{ b: 1 }] }, { 'a.0': null })).toBe(true);
    // Leading zeros are not an index.
    expect(matches({ a: [5] }, { 'a.00': 5 })).toBe(false);
  });

  it('paths read own properties only: prototype names are ordinary missing fields', () => {
    expect(matches({}, { constructor: null })).toBe(true);
    expect(matches({}, { toString: { $exists: true } })).toBe(false);
    expect(matches({ a: {} }, { 'a.hasOwnProperty': { $exists: false } })).toBe(true);
    expect(matches({}, JSON.parse('{"__proto__": {"$exists": true}}') as Params)).toBe(false);
    // JSON.parse makes "__proto__" an own data property; it is read like any other field.
    expect(matches(JSON.parse('{"__proto__": 1}') as Doc, JSON.parse('{"__proto__": 1}') as Params)).toBe(true);
  });
});

describe('matches: MongoDB null_query_semantics.js, as data', () => {
  // The documents and expected results of MongoDB's jstests/core/null_query_semantics.js (the server's own
  // test of null, $ne, $in, $nin and $exists), minus the BSON `undefined` values JSON cannot carry.
  const docs: Record<string, Doc> = {
    a_empty_subobject: { a: {} },
    a_null: { a: null },
    a_number: { a: 4 },
    a_subobject_b_not_null: { a: { b: 'hi' } },
    a_subobject_b_null: { a: { b: null } },
    no_a: {},
    a_double_array: { a: [[]] },
    a_empty_array: { a: [] },
    a_object_array_all_b_nulls: { a: [{ b: null }, { b: null }, {}] },
    a_object_array_no_b_nulls: { a: [{ b: 1 }, { b: 3 }, { b: 'string' }] },
    a_object_array_some_b_nulls: { a: [{ b: null }, { b: 3 }, { b: null }] },
    a_object_array_some_b_missing: { a: [{ b: 3 }, {}] },
    a_value_array_all_nulls: { a: [null, null] },
    a_value_array_no_nulls: { a: [1, 'string', 4] },
    a_value_array_with_null: { a: [1, 'string', null, 4] },
  };
  const aNull = ['a_null', 'a_value_array_all_nulls', 'a_value_array_with_null', 'no_a'];
  const aNotNull = Object.keys(docs).filter((name) => !aNull.includes(name));
  const abNull = [
    'a_empty_subobject',
    'a_null',
    'a_number',
    'a_object_array_all_b_nulls',
    'a_object_array_some_b_missing',
    'a_object_array_some_b_nulls',
    'a_subobject_b_null',
    'no_a',
  ];
  const abNotNull = Object.keys(docs).filter((name) => !abNull.includes(name));

  it('{a: null}', () => expect(matching(docs, { a: null })).toEqual([...aNull].sort()));
  it('{a: {$ne: null}}', () => expect(matching(docs, { a: { $ne: null } })).toEqual([...aNotNull].sort()));
  it('{a: {$in: [null, 75]}}', () => expect(matching(docs, { a: { $in: [null, 75] } })).toEqual([...aNull].sort()));
  it('{a: {$nin: [null, 75]}}', () => expect(matching(docs, { a: { $nin: [null, 75] } })).toEqual([...aNotNull].sort()));
  it('{a: {$exists: false}}', () => expect(matching(docs, { a: { $exists: false } })).toEqual(['no_a']));
  it('{"a.b": null}', () => expect(matching(docs, { 'a.b': null })).toEqual([...abNull].sort()));
  it('{"a.b": {$ne: null}}', () => expect(matching(docs, { 'a.b': { $ne: null } })).toEqual([...abNotNull].sort()));
  it('{"a.b": {$in: [null, 75]}}', () => expect(matching(docs, { 'a.b': { $in: [null, 75] } })).toEqual([...abNull].sort()));
  it('{"a.b": {$nin: [null, 75]}}', () => expect(matching(docs, { 'a.b': { $nin: [null, 75] } })).toEqual([...abNotNull].sort()));
  it('{"a.b": {$exists: false}} over the documents without arrays', () => {
    const flat = Object.fromEntries(Object.entries(docs).filter(([, d]) => !Array.isArray(d.a)));
    expect(matching(flat, { 'a.b': { $exists: false } })).toEqual(['a_empty_subobject', 'a_null', 'a_number', 'no_a'].sort());
  });
});

describe('valuesAt', () => {
  it('returns the value at a path, [undefined] when missing', () => {
    expect(valuesAt({ a: { b: 1 } }, 'a.b')).toEqual([1]);
    expect(valuesAt({ a: 1 }, 'b')).toEqual([undefined]);
    expect(valuesAt({ a: 4 }, 'a.b')).toEqual([undefined]);
  });

  it('does not expand an array at the end of the path', () => {
    expect(valuesAt({ a: [1, 2] }, 'a')).toEqual([[1, 2]]);
  });

  it('collects through arrays of documents; missing where a document lacks the field', () => {
    expect(valuesAt({ a: [{ b: 1 }, { c: 2 }, { b: [3] }] }, 'a.b')).toEqual([1, undefined, [3]]);
  });

  it('is [undefined] (never empty) when the path crosses an array without documents', () => {
    expect(valuesAt({ a: [1, 2] }, 'a.b')).toEqual([undefined]);
    expect(valuesAt({ a: [] }, 'a.b')).toEqual([undefined]);
  });
});

describe('jsonEqual', () => {
  it('is structural and ignores object key order (a helper; matches itself is order-sensitive)', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined } as unknown as JsonValue)).toBe(false);
    expect(jsonEqual(null, undefined)).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });
});

describe('project', () => {
  it('keeps only the fields on the given paths', () => {
    const doc: Doc = { id: 'n1', type: 'compute', name: 'n', obm: { host: 'h', user: 'u' } };
    expect(project(doc, ['type', 'obm.host'])).toEqual({ type: 'compute', obm: { host: 'h' } });
  });

  it('keeps a value whole when a path ends there, even if a longer path goes through it', () => {
    const doc: Doc = { a: { b: { c: 1, d: 2 }, e: 3 } };
    expect(project(doc, ['a.b.c', 'a.b'])).toEqual({ a: { b: { c: 1, d: 2 } } });
    expect(project(doc, ['a.b', 'a.b.c'])).toEqual({ a: { b: { c: 1, d: 2 } } });
  });

  it('keeps array positions, shrinks documents in arrays and keeps elements a numeric segment names', () => {
    const doc: Doc = { a: [{ b: 1, c: 2 }, 'x', [3], { c: 4 }] };
    expect(project(doc, ['a.b'])).toEqual({ a: [{ b: 1 }, null, null, {}] });
    expect(project(doc, ['a.2'])).toEqual({ a: [{}, null, [3], {}] });
  });

  it('never modifies the document (regression: merging two paths through one object wrote into the source)', () => {
    const doc: Doc = { a: { b: [{ c: 1, d: 2 }], e: 1 } };
    const before = structuredClone(doc);
    project(doc, ['a', 'a.b.c']);
    project(doc, ['a.b.c', 'a']);
    project(doc, ['a.e', 'a.b.c']);
    expect(doc).toEqual(before);
  });

  it('a key named __proto__ stays a plain data property', () => {
    const doc = JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as Doc;
    const out = project(doc, ['__proto__.x']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
  });

  it('preserves matches for filters over the projected paths (property)', () => {
    fc.assert(
      fc.property(anyDoc, filterArb, fc.array(pathArb, { maxLength: 2 }), (doc, params, extra) => {
        const before = JSON.stringify(doc);
        const projected = project(doc, [...paramFields(params), ...extra]);
        expect(JSON.stringify(doc)).toBe(before);
        expect(matches(projected, params)).toBe(matches(doc, params));
      }),
      { numRuns: 5_000, seed: seed(2) },
    );
  });
});

describe('the memo of split paths (issue 10, finding 2: it kept every path it saw)', () => {
  /** A path of `length` code units that no other call of this test file uses, built fresh (nothing else holds it). */
  const freshPath = (tag: string, i: number, length: number) => {
    const suffix = `.${tag}${i}`;
    return 'p'.repeat(length - suffix.length) + suffix;
  };
  const doc: Doc = { a: 1 };
  /**
   * What the memo may hold at most (see `PATH_MEMO`): its paths and their segments at 2 bytes a code unit, and 300
   * bytes of Map entry, array and string headers per entry; plus 1 MiB for what a measurement moves by itself.
   * Each test below drives the memo past one of its bounds, so whatever it holds before, it grows by no more.
   */
  const bound = 2 * 2 * PATH_MEMO.maxTotalLength + 300 * PATH_MEMO.maxEntries + 1024 * 1024;

  it(`keeps nothing of paths longer than ${PATH_MEMO.maxKeyLength} characters: 100 distinct 900 KB paths`, async () => {
    // Before the fix the memo kept every one of them (88 MiB here).
    const grown = await retainedBy(() => {
      for (let i = 0; i < 100; i++) {
        const path = freshPath('huge', i, 900_000);
        // Every entry point that splits a path: equality, operators, valuesAt and project.
        expect(matches(doc, { [path]: null })).toBe(true);
        expect(matches(doc, { [path]: { $exists: true } })).toBe(false);
        expect(valuesAt(doc, path)).toEqual([undefined]);
        expect(project(doc, [path])).toEqual({});
      }
    });
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });

  it('holds a bounded total length of the longest paths it memoises: 20,000 distinct paths of maxKeyLength characters', async () => {
    const grown = await retainedBy(() => {
      for (let i = 0; i < 20_000; i++) expect(matches(doc, { [freshPath('long', i, PATH_MEMO.maxKeyLength)]: null })).toBe(true);
    });
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });

  it('holds a bounded number of short paths: 30,000 distinct 128-character paths', async () => {
    const grown = await retainedBy(() => {
      for (let i = 0; i < 30_000; i++) expect(matches(doc, { [freshPath('short', i, 128)]: null })).toBe(true);
    });
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });

  it('still answers for paths it memoised, dropped, or never memoised', () => {
    const nested: Doc = { a: { b: [{ c: 1 }, { c: 2 }] } };
    expect(matches(nested, { 'a.b.c': 2 })).toBe(true);
    for (let i = 0; i < 20_000; i++) matches(doc, { [freshPath('evict', i, 64)]: null });
    expect(matches(nested, { 'a.b.c': 2 })).toBe(true);
    expect(matches(nested, { 'a.b.c': 3 })).toBe(false);
    const long = `a.b.${'x'.repeat(100_000)}`;
    expect(matches({ a: { b: { [long.slice(4)]: 5 } } }, { [long]: 5 })).toBe(true);
  });
});

describe('consistency properties', () => {
  it('$ne, $nin and $exists:false are the negations of equality, $in and $exists:true', () => {
    fc.assert(
      fc.property(anyDoc, pathArb, literalArb, fc.array(literalArb, { maxLength: 3 }), (doc, path, v, list) => {
        expect(matches(doc, { [path]: { $ne: v } })).toBe(!matches(doc, { [path]: { $in: [v] } }));
        expect(matches(doc, { [path]: { $nin: list } })).toBe(!matches(doc, { [path]: { $in: list } }));
        expect(matches(doc, { [path]: { $exists: false } })).toBe(!matches(doc, { [path]: { $exists: true } }));
        if (!isOperatorObject(v)) expect(matches(doc, { [path]: v })).toBe(matches(doc, { [path]: { $in: [v] } }));
      }),
      { numRuns: 3_000, seed: seed(3) },
    );
  });

  it('params with the same canonicalJson match the same documents (reordering fields and operators)', () => {
    fc.assert(
      fc.property(anyDoc, filterArb, fc.func(fc.boolean()), (doc, params, flip) => {
        const reordered = reorder(params, flip);
        expect(canonicalJson(reordered)).toBe(canonicalJson(params));
        expect(matches(doc, reordered)).toBe(matches(doc, params));
      }),
      { numRuns: 2_000, seed: seed(4) },
    );
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * matches agrees with mingo, an independent MongoDB-semantics implementation.
 *
 * mingo 7.2.7 (API used: `new Query(criteria, {}).test(doc)`) is the oracle wherever it follows MongoDB. Where it
 * does not, MongoDB's own sources decide (src/mongo/db/matcher/path.cpp, path_test.cpp,
 * exec/matcher/matcher_test.cpp (EqOp/InMatchExpression/LtOp …), jstests/core/null_query_semantics.js), the unit
 * tests above pin MongoDB's answer, and the comparison skips exactly the (document, filter) pairs that hit one of
 * these known mingo deviations — decided by the document's shape along the filter's paths, never by the answer:
 *
 * A nested-array        an array on the path (not at its end) holds an array: mingo descends into it
 *                       ({"a.b": 3} matches {a: [{c: 1}, [3]]} in mingo); MongoDB skips nested arrays.
 * B missing-in-array    a document inside an array on the path lacks the rest of the path, and the condition
 *                       involves null or $exists: mingo drops such documents ({"a.b": null} does not match
 *                       {a: [{b: 1}, {}]} in mingo); MongoDB yields a missing element for each, so it matches.
 * C gathered-array      an array operand (literal, $ne, in $in/$nin) and the path crosses an array: mingo
 *                       gathers the values into one array ({"a.b": [1, 2]} matches {a: [{b: 1}, {b: 2}]},
 *                       {"a.b": []} matches {a: []}); MongoDB compares each document's values separately.
 * D array-index         a numeric segment meets an array and the index is out of range, or selects an array
 *                       (mingo expands it: {"a.0": 5} matches {a: [[5]]}), or the condition involves null/$exists
 *                       and the array holds documents (MongoDB also reads field "0" of each: {"a.0": null} matches
 *                       {a: [{b: 1}]}) or the path goes on from a selected scalar ({"a.0.b": null} vs {a: [1]}:
 *                       mingo missing, MongoDB nothing).
 * E in-whole-array      $in/$nin lists an array and the path ends on an array: mingo compares only the array's
 *                       elements ({a: {$in: [[1, 2]]}} does not match {a: [1, 2]}); MongoDB also the array itself
 *                       (InMatchExpression.MatchesFullArray).
 * F exists-via-array    $exists and the path crosses an array that is empty or holds a non-document: mingo
 *                       counts it ({"a.b.c": {$exists: true}} matches {a: [{b: [1]}]}); MongoDB yields nothing there.
 * G deep-leaf-array     a dotted path ends on an array holding arrays: mingo's equality flattens as many levels as
 *                       the path has dots ({"a.b": 1} matches {a: {b: [[1]]}}); MongoDB expands one level.
 * H array-via-array     $in/$nin or a comparison, the path crosses an array and ends on an array (or, for
 *                       comparisons, crosses two arrays): mingo does not look inside ({"a.b": {$gt: 1}} misses
 *                       {a: [{b: [2]}, {b: 0}]}); MongoDB does (path_test NestedArrayImplicitTraversal).
 *
 * And two constraints on the generator: objects have sorted keys (mingo's equality ignores key order, MongoDB's
 * does not: {a: {x: 1, y: 2}} vs {a: {y: 2, x: 1}}), and strings come from a small ASCII alphabet (mingo orders
 * strings by UTF-16 code unit, MongoDB by code point: '\u{10000}' > '\uffff').
 * ------------------------------------------------------------------------------------------------------------ */

const KEYS = ['a', 'b', 'c'] as const;
const SEGMENTS = ['a', 'b', 'c', '0', '1'] as const;

function sortKeys(o: { [key: string]: JsonValue }): { [key: string]: JsonValue } {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function seed(n: number): number {
  const fromEnv = Number(process.env.FC_SEED);
  return Number.isInteger(fromEnv) ? fromEnv + n : 20_240_600 + n;
}

const primitiveArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(-1, 0, 1, 1.5, 2),
  fc.constantFrom('', 'x', 'xy', 'y'),
);
const keyArb = fc.constantFrom(...KEYS);
const { value: valueArb } = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primitiveArb,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 3, noNullPrototype: true }).map(sortKeys),
    // Arrays of documents, often, so that paths through them are well exercised.
    {
      weight: 3,
      arbitrary: fc.array(fc.dictionary(keyArb, tie('value'), { maxKeys: 3, noNullPrototype: true }).map(sortKeys), {
        minLength: 1,
        maxLength: 3,
      }),
    },
  ),
}));
const anyDoc = fc.dictionary(keyArb, valueArb, { minKeys: 1, maxKeys: 3, noNullPrototype: true }) as fc.Arbitrary<Doc>;
const pathArb = fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 3 }).map((s) => s.join('.'));
const comparableArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom(-1, 0, 1, 1.5, 2),
  fc.constantFrom('', 'x', 'xy', 'y'),
  fc.boolean(),
);
const literalArb: fc.Arbitrary<JsonValue> = fc.oneof(
  primitiveArb,
  fc.array(primitiveArb, { maxLength: 2 }),
  fc.dictionary(keyArb, primitiveArb, { maxKeys: 2, noNullPrototype: true }).map(sortKeys),
);
const conditionArb: fc.Arbitrary<JsonValue> = fc.oneof(
  literalArb,
  fc.record({ $in: fc.array(literalArb, { maxLength: 3 }) }),
  fc.record({ $nin: fc.array(literalArb, { maxLength: 3 }) }),
  fc.record({ $ne: literalArb }),
  fc.record({ $gt: comparableArb }),
  fc.record({ $gte: comparableArb }),
  fc.record({ $lt: comparableArb }),
  fc.record({ $lte: comparableArb }),
  fc.record({ $exists: fc.boolean() }),
  fc.record({ $gt: comparableArb, $lt: comparableArb }),
  fc.record({ $exists: fc.boolean(), $ne: literalArb }),
);
const filterArb = fc.dictionary(pathArb, conditionArb, { minKeys: 1, maxKeys: 2, noNullPrototype: true }).map((p) => validateParams(p));

/** Reorders the fields of params and the operators of each condition (`flip` decides, per key). */
function reorder(params: Params, flip: (key: string) => boolean): Params {
  const order = (keys: string[]): string[] => [...keys].sort((x, y) => (flip(x + y) ? -1 : 1));
  const out: Params = {};
  for (const field of order(Object.keys(params))) {
    const condition = params[field]!;
    out[field] = isOperatorObject(condition)
      ? Object.fromEntries(order(Object.keys(condition)).map((op) => [op, condition[op]!]))
      : condition;
  }
  return out;
}

type Deviation =
  | 'nested-array'
  | 'missing-in-array'
  | 'gathered-array'
  | 'array-index'
  | 'in-whole-array'
  | 'exists-via-array'
  | 'deep-leaf-array'
  | 'array-via-array';

/** Values a condition compares with (the literal, or the operands of $ne/$in/$nin). */
function operandsOf(condition: JsonValue, which: readonly string[] = ['$in', '$nin', '$ne']): JsonValue[] {
  if (!isOperatorObject(condition)) return which.includes('$eq') ? [condition] : [];
  const out: JsonValue[] = [];
  for (const [op, v] of Object.entries(condition)) {
    if (!which.includes(op)) continue;
    if (op === '$in' || op === '$nin') out.push(...(v as JsonValue[]));
    else out.push(v);
  }
  return out;
}

/** The known mingo deviation (see the table above) that this path and condition hit in `doc`, if any. */
function mingoDeviation(doc: Doc, path: string, condition: JsonValue): Deviation | undefined {
  const segments = path.split('.');
  const operands = operandsOf(condition, ['$eq', '$in', '$nin', '$ne']);
  const ops = isOperatorObject(condition) ? Object.keys(condition) : [];
  const exists = ops.includes('$exists');
  const nullSensitive = exists || operands.includes(null);
  const arrayOperand = operands.some(Array.isArray);
  const inList = ops.includes('$in') || ops.includes('$nin');
  const inListArray = operandsOf(condition, ['$in', '$nin']).some(Array.isArray);
  const compares = ops.some((op) => ['$gt', '$gte', '$lt', '$lte'].includes(op));
  let found: Deviation | undefined;

  const walk = (value: JsonValue | undefined, i: number, crossed: number): void => {
    if (found !== undefined) return;
    if (i === segments.length) {
      const leaf = Array.isArray(value) ? value : undefined;
      if (crossed > 0 && arrayOperand) found = 'gathered-array';
      else if (inListArray && leaf) found = 'in-whole-array';
      else if (segments.length > 1 && leaf?.some(Array.isArray)) found = 'deep-leaf-array';
      else if ((inList || compares) && crossed > 0 && leaf) found = 'array-via-array';
      else if (compares && crossed > 1) found = 'array-via-array';
      return;
    }
    const segment = segments[i]!;
    if (Array.isArray(value) && /^\d+$/.test(segment)) {
      const index = Number(segment);
      const selected = value[index];
      if (index >= value.length || Array.isArray(selected)) found = 'array-index';
      else if (nullSensitive && value.some(isPlainObject)) found = 'array-index';
      else if (nullSensitive && i + 1 < segments.length && !isPlainObject(selected)) found = 'array-index';
      else walk(selected, i + 1, crossed);
      return;
    }
    if (Array.isArray(value)) {
      if (arrayOperand) found = 'gathered-array';
      else if (exists && value.length === 0) found = 'exists-via-array';
      for (const element of value) {
        if (found !== undefined) return;
        if (Array.isArray(element)) found = 'nested-array';
        else if (exists && !isPlainObject(element)) found = 'exists-via-array';
        else if (isPlainObject(element)) walk(element as JsonValue, i, crossed + 1);
      }
      return;
    }
    if (isPlainObject(value)) {
      const next = Object.hasOwn(value, segment) ? (value[segment] as JsonValue) : undefined;
      const scalarMidPath = i + 1 < segments.length && !isPlainObject(next) && !Array.isArray(next);
      const missingHere = next === undefined || scalarMidPath;
      if (missingHere) {
        if (crossed > 0 && nullSensitive) found = 'missing-in-array';
        return;
      }
      walk(next, i + 1, crossed);
    }
  };
  walk(doc, 0, 0);
  return found;
}

/** True when one of the paths of `params` crosses an array of documents in `doc` (the interesting cases). */
function crossesDocuments(doc: Doc, params: Params): boolean {
  return paramFields(params).some((path) => {
    let value: JsonValue | undefined = doc;
    for (const segment of path.split('.')) {
      if (Array.isArray(value)) return value.some(isPlainObject);
      if (!isPlainObject(value)) return false;
      value = value[segment] as JsonValue | undefined;
    }
    return false;
  });
}

describe('matches agrees with mingo (independent MongoDB-semantics engine)', () => {
  it('on generated documents and filters, outside the documented mingo deviations', () => {
    const counts = { runs: 0, compared: 0, matched: 0, crossing: 0, crossingMatched: 0 };
    const skipped = new Map<Deviation, number>();
    fc.assert(
      fc.property(anyDoc, filterArb, (doc, params) => {
        counts.runs++;
        let deviation: Deviation | undefined;
        for (const [path, condition] of Object.entries(params)) deviation ??= mingoDeviation(doc, path, condition);
        if (deviation !== undefined) {
          skipped.set(deviation, (skipped.get(deviation) ?? 0) + 1);
          return;
        }
        const ours = matches(doc, params);
        const theirs = new Query(params, {}).test(doc);
        // Report the pair on a disagreement (fast-check then shrinks it); a plain comparison otherwise.
        if (ours !== theirs) expect({ params, doc, matches: ours }).toEqual({ params, doc, matches: theirs });
        counts.compared++;
        if (ours) counts.matched++;
        if (crossesDocuments(doc, params)) {
          counts.crossing++;
          if (ours) counts.crossingMatched++;
        }
      }),
      { numRuns: 30_000, seed: seed(1) },
    );
    // The comparison must stay meaningful: most cases compared, a fair share matching, and many paths going
    // through arrays of documents (where the subtle semantics live).
    const summary = JSON.stringify({ ...counts, skipped: Object.fromEntries(skipped) });
    expect(counts.compared, summary).toBeGreaterThan(counts.runs * 0.8);
    expect(counts.matched, summary).toBeGreaterThan(counts.compared * 0.12);
    expect(counts.crossing, summary).toBeGreaterThan(2_000);
    expect(counts.crossingMatched, summary).toBeGreaterThan(200);
  });

  it('mingo disagrees exactly where the table above says (each deviation pinned with MongoDB’s answer)', () => {
    const mingo = (doc: Doc, params: Params): boolean => new Query(params, {}).test(doc);
    const cases: Array<[Deviation | 'key-order' | 'string-order', Doc, Params, boolean]> = [
      ['nested-array', { a: [{ c: 1 }, [3]] }, { 'a.b': 3 }, false],
      ['missing-in-array', { a: [{ b: 1 }, {}] }, { 'a.b': null }, true],
      ['gathered-array', { a: [{ b: 1 }, { b: 2 }] }, { 'a.b': [1, 2] }, false],
      ['gathered-array', { a: [] }, { 'a.b': [] }, false],
      ['array-index', { a: [[5]] }, { 'a.0': 5 }, false],
      ['array-index', { a: [1] }, { 'a.5': null }, false],
      ['array-index', { a: [{ b: 1 }] }, { 'a.0': null }, true],
      ['array-index', { a: [1] }, { 'a.0.b': null }, false],
      ['in-whole-array', { a: [1, 2] }, { a: { $in: [[1, 2]] } }, true],
      ['exists-via-array', { a: [] }, { 'a.b.0': { $exists: true } }, false],
      ['exists-via-array', { a: [{ b: [1] }] }, { 'a.b.c': { $exists: true } }, false],
      ['deep-leaf-array', { a: { b: [[1]] } }, { 'a.b': 1 }, false],
      ['array-via-array', { a: [{ b: [2] }, { b: 0 }] }, { 'a.b': { $gt: 1 } }, true],
      ['array-via-array', { a: [{ b: [1, 2] }, { b: 3 }] }, { 'a.b': { $in: [1] } }, true],
      ['key-order', { a: { y: 2, x: 1 } }, { a: { x: 1, y: 2 } }, false],
      ['string-order', { a: '\u{10000}' }, { a: { $gt: '\uffff' } }, true],
    ];
    for (const [, doc, params, mongodb] of cases) {
      expect({ params, doc, ours: matches(doc, params) }).toEqual({ params, doc, ours: mongodb });
      expect({ params, doc, mingo: mingo(doc, params) }).toEqual({ params, doc, mingo: !mongodb });
    }
    for (const [deviation, doc, params] of cases) {
      if (deviation === 'key-order' || deviation === 'string-order') continue;
      const [path, condition] = Object.entries(params)[0]!;
      expect({ params, doc, deviation: mingoDeviation(doc, path, condition) }).toEqual({ params, doc, deviation });
    }
  });
});
