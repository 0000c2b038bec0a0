import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { overBudget } from './budget.js';
import { DEFAULTS } from './codes.js';
import { ProtocolError } from './errors.js';
import type { Params } from './messages.js';
import {
  OPERATORS,
  canonicalJson,
  isOperatorObject,
  isPlainObject,
  NO_PARAMS_LIMITS,
  paramFields,
  stableJson,
  validateParams,
} from './params.js';

function refusal(params: unknown, limits?: { maxInValues: number }): ProtocolError {
  try {
    validateParams(params, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error(`expected ${JSON.stringify(params)} to be refused`);
}

describe('validateParams', () => {
  it('returns valid params unchanged (same object)', () => {
    const p = { type: 'compute', 'obm.host': { $exists: true }, tags: { $in: ['a', 'b'] } };
    expect(validateParams(p)).toBe(p);
    expect(validateParams({})).toEqual({});
  });

  it('allows exactly the documented operators', () => {
    expect([...OPERATORS].sort()).toEqual(['$exists', '$gt', '$gte', '$in', '$lt', '$lte', '$ne', '$nin']);
    for (const op of OPERATORS) {
      const operand = op === '$in' || op === '$nin' ? [1] : op === '$exists' ? true : 1;
      expect(() => validateParams({ a: { [op]: operand } })).not.toThrow();
    }
  });

  it('refuses with code bad-params and a message naming the culprit', () => {
    const err = refusal({ name: { $regex: '.' } });
    expect(err.code).toBe('bad-params');
    expect(err.message).toContain('$regex');
    expect(err.request).toBeUndefined();
    expect(refusal({ $where: '1' }).message).toContain('$where');
    expect(refusal({ a: { b: { $gt: 1 } } }).message).toContain('$gt');
    expect(refusal({ 'a..b': 1 }).message).toContain('empty path segment');
  });

  it('refuses params that are not a plain object', () => {
    for (const p of [null, undefined, 1, 'a', [], [{}], new Date(), Object.create({ a: 1 })]) {
      expect(refusal(p).code).toBe('bad-params');
    }
  });

  it('refuses a $in or $nin list over maxInValues with too-large, naming the field, the size and the limit', () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `id-${i}`);
    expect(() => validateParams({ id: { $in: list(DEFAULTS.maxInValues) } })).not.toThrow();
    const over = refusal({ id: { $in: list(DEFAULTS.maxInValues + 1) } });
    expect([over.code, over.message]).toEqual([
      'too-large',
      '"id.$in" has 1,001 values, over maxInValues (1,000); split it across several filters',
    ]);
    expect(refusal({ 'obm.host': { $nin: list(3) } }, { maxInValues: 2 }).message).toMatch(
      /^"obm\.host\.\$nin" has 3 values, over maxInValues \(2\)/,
    );
    // Checked before the list is walked: a list that is too long and also malformed is too-large.
    expect(refusal({ id: { $in: [...list(2), { $where: '1' }] } }, { maxInValues: 2 }).code).toBe('too-large');
    // Without limits (what a client applies to the params a server echoes, whatever that server allows).
    expect(() => validateParams({ id: { $in: list(DEFAULTS.maxInValues + 1) } }, NO_PARAMS_LIMITS)).not.toThrow();
    // An array literal is one value, not a list of alternatives: the input budget bounds it, not maxInValues.
    expect(() => validateParams({ tags: list(DEFAULTS.maxInValues + 1) })).not.toThrow();
  });

  it('accepts objects with a null prototype (what some parsers produce)', () => {
    const p = Object.assign(Object.create(null) as object, { a: 1 });
    expect(() => validateParams(p)).not.toThrow();
  });

  it('refuses __proto__ / constructor / prototype keys at any depth, from JSON text', () => {
    const texts = [
      '{"__proto__":1}',
      '{"a":{"__proto__":1}}',
      '{"a":[[{"__proto__":1}]]}',
      '{"a":{"$in":[{"b":{"__proto__":1}}]}}',
      '{"a.__proto__":1}',
      '{"constructor":1}',
      '{"a":{"$ne":{"constructor":{"prototype":1}}}}',
      '{"a.b.prototype":1}',
    ];
    for (const text of texts) expect(refusal(JSON.parse(text)).code).toBe('bad-params');
  });

  it('refuses a "$" at the start of any path segment', () => {
    for (const path of ['$where', 'a.$where', 'a.$', 'a.$[]', 'a.$[x].b']) {
      expect(refusal({ [path]: 1 }).code).toBe('bad-params');
    }
    // A "$" elsewhere in a name is an ordinary character.
    expect(() => validateParams({ price$: 1, 'a.b$c': 1 })).not.toThrow();
  });
});

describe('validateParams within the input budget', () => {
  const accepts = (params: unknown): boolean => {
    try {
      validateParams(params);
      return true;
    } catch {
      return false;
    }
  };

  /** The deepest filter of a shape that validateParams accepts, found by adding levels until it refuses one. */
  function deepestAccepted(shape: (inner: unknown) => Params, wrap: (v: unknown) => unknown): Params {
    let inner: unknown = 1;
    for (let level = 0; level < 1_000; level++) {
      if (!accepts(shape(wrap(inner)))) return shape(inner);
      inner = wrap(inner);
    }
    throw new Error('no depth limit found');
  }

  // validateParams has its own limits (literals: the client bundle imports it); the frame's budget is checked first
  // and must never refuse a filter validateParams accepts, or raising one without the other would change verdicts.
  it.each([
    ['arrays in an equality', (v: unknown) => ({ a: v }) as Params, (v: unknown) => [v]],
    ['documents in an equality', (v: unknown) => ({ a: v }) as Params, (v: unknown) => ({ b: v })],
    ['arrays inside $in', (v: unknown) => ({ a: { $in: [v] } }) as Params, (v: unknown) => [v]],
    ['documents inside $ne', (v: unknown) => ({ a: { $ne: v } }) as Params, (v: unknown) => ({ b: v })],
  ])('the deepest filter with %s it accepts is within DEFAULTS.inputBudget as a frame', (_what, shape, wrap) => {
    const deepest = deepestAccepted(shape, wrap);
    expect(accepts(deepest)).toBe(true);
    expect(overBudget({ handler: 'watch', resource: 'nodes', params: deepest }, DEFAULTS.inputBudget)).toBeUndefined();
  });

  it('the longest field path it accepts is within DEFAULTS.inputBudget.maxKeyLength', () => {
    const path = (segments: number) => Array(segments).fill('s').join('.');
    let segments = 1;
    while (segments < 1_000 && accepts({ [path(segments + 1)]: 1 })) segments++;
    expect(segments).toBeLessThan(1_000);
    expect(path(segments).length).toBeLessThanOrEqual(DEFAULTS.inputBudget.maxKeyLength);
    expect(overBudget({ handler: 'watch', params: { [path(segments)]: 1 } }, DEFAULTS.inputBudget)).toBeUndefined();
  });
});

describe('isPlainObject / isOperatorObject', () => {
  it('isPlainObject is true only for {}-style objects', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject(JSON.parse('{"__proto__":1}'))).toBe(true);
    for (const v of [null, undefined, 1, 'x', [], new Date(), new Map(), () => 1, Object.create({})]) {
      expect(isPlainObject(v)).toBe(false);
    }
  });

  it('isOperatorObject is true when every key starts with $ (and there is at least one)', () => {
    expect(isOperatorObject({ $gt: 1 })).toBe(true);
    expect(isOperatorObject({ $gt: 1, $lt: 2 })).toBe(true);
    expect(isOperatorObject({})).toBe(false);
    expect(isOperatorObject({ a: 1 })).toBe(false);
    expect(isOperatorObject({ $gt: 1, a: 1 })).toBe(false);
    expect(isOperatorObject([{ $gt: 1 }])).toBe(false);
    expect(isOperatorObject('$gt')).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('is independent of the order of fields', () => {
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('is independent of the order of operators in an operator object', () => {
    expect(canonicalJson({ a: { $lt: 9, $gt: 1 } })).toBe(canonicalJson({ a: { $gt: 1, $lt: 9 } }));
    expect(canonicalJson({ a: { $lt: 9, $gt: 1 } })).toBe('{"a":{"$gt":1,"$lt":9}}');
  });

  it('keeps arrays in order (an $in list and an array literal are compared as sent)', () => {
    expect(canonicalJson({ a: { $in: [1, 2] } })).not.toBe(canonicalJson({ a: { $in: [2, 1] } }));
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });

  it('keeps the key order of embedded documents, because matches compares them order-sensitively (as MongoDB)', () => {
    expect(canonicalJson({ a: { x: 1, y: 2 } })).not.toBe(canonicalJson({ a: { y: 2, x: 1 } }));
    expect(canonicalJson({ a: { $ne: { x: 1, y: 2 } } })).not.toBe(canonicalJson({ a: { $ne: { y: 2, x: 1 } } }));
  });

  it('distinguishes different filters', () => {
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
    expect(canonicalJson({ 'a.b': 1 })).not.toBe(canonicalJson({ a: { b: 1 } }));
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
  });

  it('is valid JSON that parses back to an equal value', () => {
    const p: Params = { z: { $in: [1, 'x', null] }, a: { b: [1, { c: true }] }, 'm.n': { $exists: false } };
    expect(JSON.parse(canonicalJson(p))).toEqual(p);
  });

  it('handles values that are not params: null, undefined, arrays, scalars', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson([{ b: 1, a: 2 }])).toBe('[{"b":1,"a":2}]');
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(1)).toBe('1');
  });

  it('is deterministic for any shuffling of fields (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), (p) => {
        const reversed = Object.fromEntries(Object.entries(p).reverse());
        expect(canonicalJson(reversed as Params)).toBe(canonicalJson(p as Params));
      }),
      { numRuns: 500 },
    );
  });
});

describe('stableJson', () => {
  it('sorts keys at every level and keeps arrays in order (for content hashes)', () => {
    expect(stableJson({ b: { y: 1, x: [2, { d: 1, c: 0 }] }, a: null })).toBe('{"a":null,"b":{"x":[2,{"c":0,"d":1}],"y":1}}');
    expect(stableJson({ a: { x: 1, y: 2 } })).toBe(stableJson({ a: { y: 2, x: 1 } }));
    expect(stableJson([2, 1])).not.toBe(stableJson([1, 2]));
    expect(stableJson(undefined)).toBe('null');
  });
});

describe('paramFields', () => {
  it('lists the top-level paths a filter reads', () => {
    expect(paramFields({ type: 'compute', 'obm.host': { $exists: true } })).toEqual(['type', 'obm.host']);
    expect(paramFields({})).toEqual([]);
  });
});
