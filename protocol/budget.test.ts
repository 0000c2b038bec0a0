/**
 * The input budget's walk: each bound exact at its limit, found wherever it is passed (every top-level field, any
 * depth), iterative on values nested half a million deep, and messages that quote nothing from the frame.
 */
import { describe, expect, it } from 'vitest';
import { describeExcess, overBudget, resolveInputBudget, type InputBudget } from './budget.js';
import { DEFAULTS } from './codes.js';

// Small enough to pass in a line; keys and names up to 8 characters, so the envelope's own keys (`resource`) fit.
const budget: InputBudget = { maxDepth: 4, maxNodes: 10, maxStringLength: 10, maxKeyLength: 8 };

/** `levels` arrays nested in one another, the innermost holding `inner` (built without recursion). */
function nestedArrays(levels: number, inner: unknown = 0): unknown {
  let v = inner;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

describe('resolveInputBudget', () => {
  it('is DEFAULTS.inputBudget without overrides, and merges a partial override over it', () => {
    expect(resolveInputBudget()).toEqual(DEFAULTS.inputBudget);
    expect(resolveInputBudget({ maxDepth: 8 })).toEqual({ ...DEFAULTS.inputBudget, maxDepth: 8 });
    expect(resolveInputBudget({ maxNodes: undefined, maxKeyLength: Infinity })).toEqual({
      ...DEFAULTS.inputBudget,
      maxKeyLength: Infinity,
    });
  });

  it.each([0, -1, 1.5, Number.NaN, -Infinity, '64' as unknown as number])('refuses %s as a bound, naming it', (value) => {
    expect(() => resolveInputBudget({ maxStringLength: value })).toThrow(/inputBudget\.maxStringLength must be a positive integer/);
  });
});

describe('overBudget', () => {
  it('accepts what is within every bound, each one exactly at its limit', () => {
    // depth 4 (frame, params, abcdefgh, [2]), 10 keys and elements, a 10-character string, 8-character keys and names
    const frame = { handler: 'watch', resource: 'nodesabc', params: { abcdefgh: ['1234567890', [2]], b: { c: 1 } }, x: 1 };
    expect(overBudget(frame, budget)).toBeUndefined();
    expect(overBudget({ handler: 'query', params: { a: { b: [1] } } }, budget)).toBeUndefined();
    expect(overBudget({ handler: 'watch', params: Array.from({ length: 8 }, () => 0) }, budget)).toBeUndefined();
    expect(overBudget({ handler: 'abcdefgh' }, budget)).toBeUndefined();
    for (const scalar of [null, 1, true, '1234567890', undefined]) expect(overBudget(scalar, budget)).toBeUndefined();
  });

  it('finds nesting one level past maxDepth, in the field it is under', () => {
    expect(overBudget({ handler: 'query', params: { a: { b: [[]] } } }, budget)).toEqual({ bound: 'maxDepth', size: 5, field: 'params' });
    expect(overBudget({ handler: 'query', extra: [[[[]]]] }, budget)).toEqual({ bound: 'maxDepth', size: 5, field: 'extra' });
    expect(overBudget(nestedArrays(4), budget)).toBeUndefined();
    expect(overBudget(nestedArrays(5), budget)).toEqual({ bound: 'maxDepth', size: 5 });
  });

  it('counts keys and array elements over the whole frame, every level', () => {
    const eleven = { handler: 'q', params: { a: [1, 2, 3], b: { c: 1, d: 2 } }, e: [1, 2] };
    expect(overBudget(eleven, budget)).toMatchObject({ bound: 'maxNodes' });
    expect(overBudget({ h: 1, params: Array.from({ length: 200_000 }, () => 0) }, budget)).toEqual({
      bound: 'maxNodes',
      size: 200_002,
      field: 'params',
    });
  });

  it('finds a string over its limit at any depth', () => {
    expect(overBudget({ handler: 'q', params: { a: [1, { b: '12345678901' }] } }, budget)).toEqual({
      bound: 'maxStringLength',
      size: 11,
      field: 'params',
    });
  });

  it('holds a field path (a key) to maxKeyLength', () => {
    expect(overBudget({ handler: 'q', params: { 'a.b.c.de': 1 } }, budget)).toBeUndefined();
    expect(overBudget({ handler: 'q', params: { 'a.b.c.def': 1 } }, budget)).toEqual({ bound: 'maxKeyLength', size: 9, field: 'params' });
    expect(overBudget({ handler: 'q', params: { a: [{ abcdefghi: 1 }] } }, budget)).toEqual({
      bound: 'maxKeyLength',
      size: 9,
      field: 'params',
    });
    expect(overBudget({ handler: 'q', abcdefghi: 1 }, budget)).toEqual({ bound: 'maxKeyLength', size: 9, field: 'abcdefghi' });
  });

  it("holds the frame's handler and resource, which are names, to maxKeyLength; the same keys deeper are not names", () => {
    expect(overBudget({ handler: 'abcdefghi' }, budget)).toEqual({ bound: 'maxKeyLength', size: 9, field: 'handler', name: true });
    expect(overBudget({ handler: 'q', resource: 'abcdefghi' }, budget)).toEqual({
      bound: 'maxKeyLength',
      size: 9,
      field: 'resource',
      name: true,
    });
    // Deeper, or not a string: an ordinary value, held to maxStringLength.
    expect(overBudget({ handler: 'q', params: { handler: 'abcdefghi' } }, budget)).toBeUndefined();
    expect(overBudget({ handler: ['abcdefghi'] }, budget)).toBeUndefined();
  });

  it('measures a part as it stands in its frame when given its level', () => {
    const params = { a: { b: [] } };
    expect(overBudget(params, budget, 2)).toBeUndefined();
    expect(overBudget(params, budget, 3)).toEqual({ bound: 'maxDepth', size: 5 });
  });

  it('walks values nested 500,000 deep (arrays and objects) without recursion, and a frame of the protocol that deep', () => {
    const depth = 500_000;
    const arrays = JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown;
    const objects = JSON.parse(`{"handler":"all","params":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`) as unknown;
    const defaults = DEFAULTS.inputBudget;
    expect(overBudget(arrays, defaults)).toEqual({ bound: 'maxDepth', size: defaults.maxDepth + 1 });
    expect(overBudget(objects, defaults)).toEqual({ bound: 'maxDepth', size: defaults.maxDepth + 1, field: 'params' });
    const unbounded = { maxDepth: Infinity, maxNodes: Infinity, maxStringLength: Infinity, maxKeyLength: Infinity };
    expect(overBudget(arrays, unbounded)).toBeUndefined();
    expect(overBudget(objects, unbounded)).toBeUndefined();
  });

  it('stops at the first excess: a frame of a million elements costs no more than the budget allows', () => {
    const wide = { handler: 'q', params: { a: Array.from({ length: 1_000_000 }, (_, i) => ({ i })) } };
    expect(overBudget(wide, budget)).toMatchObject({ bound: 'maxNodes', field: 'params' });
  });
});

describe('describeExcess', () => {
  const huge = 'x'.repeat(600_000);

  it('quotes nothing from the frame: sizes, bounds and the envelope field name only', () => {
    const big = DEFAULTS.inputBudget;
    const cases: Array<[unknown, RegExp]> = [
      [{ handler: huge }, /^"handler" is 600,000 characters long; a name is at most 1,024 \(inputBudget\.maxKeyLength\)$/],
      [{ handler: 'q', resource: huge }, /^"resource" is 600,000 characters long/],
      [
        { handler: 'q', params: { a: huge } },
        /^a string of 600,000 characters in "params"; the limit is 65,536 \(inputBudget\.maxStringLength\)$/,
      ],
      [
        { handler: 'q', params: { [huge]: 1 } },
        /^a key of 600,000 characters in "params"; the limit is 1,024 \(inputBudget\.maxKeyLength\)$/,
      ],
      [{ handler: 'q', [huge]: 1 }, /^a key of 600,000 characters in an extra field/],
      [
        { handler: 'q', [`${huge.slice(0, 10)}`]: nestedArrays(40) },
        /^an extra field nests deeper than 32 levels \(inputBudget\.maxDepth\)$/,
      ],
      [
        { handler: 'q', params: Array.from({ length: 30_000 }, () => 1) },
        /^the frame holds more than 20,000 keys and array elements \(inputBudget\.maxNodes; over it in "params"\)$/,
      ],
      [nestedArrays(40), /^the frame nests deeper than 32 levels/],
      [huge, /^a string of 600,000 characters in the frame/],
    ];
    for (const [value, message] of cases) {
      const excess = overBudget(value, big)!;
      const text = describeExcess(excess, big);
      expect(text).toMatch(message);
      expect(text).not.toContain('xxxxxxxxxx');
      expect(text.length).toBeLessThan(200);
    }
  });
});
