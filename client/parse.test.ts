/**
 * The client's lean parser must reach exactly the protocol parser's verdicts on server frames: the same frames
 * accepted with the same result, the same error code for every frame refused. Compared on the protocol suite's
 * examples and on frames generated to hit every rule (handlers, field types, hostile params).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProtocolError } from '../protocol/errors.js';
import { parseMessage } from '../protocol/parse.js';
import { parseServerFrame } from './parse.js';

function reference(data: unknown): { ok: unknown } | { code: string } {
  try {
    return { ok: parseMessage(data, 'server') };
  } catch (err) {
    return { code: (err as ProtocolError).code };
  }
}

function lean(data: unknown): { ok: unknown } | { code: string } {
  const r = parseServerFrame(data);
  return 'kind' in r ? { code: r.code } : { ok: r };
}

const key = fc.constantFrom(
  'a',
  'type',
  'a.b',
  'a.0',
  'tags.1.x',
  '$in',
  '$nin',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$exists',
  '$where',
  '$regex',
  '$',
  'a.$b',
  '__proto__',
  'constructor',
  'prototype',
  'a.__proto__',
  '',
  'a..b',
  '.a',
  'x\u0000y',
  'a'.repeat(3),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Infinity, -Infinity, NaN, undefined),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 3 }),
}));
/** Deeply nested values, around the depth limit (16). */
const deep = fc.integer({ min: 12, max: 20 }).map((n) => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
});
const longPath = fc.integer({ min: 30, max: 34 }).map((n) => ({ [Array.from({ length: n }, () => 's').join('.')]: 1 }));
const params = fc.oneof(fc.dictionary(key, fc.oneof(value, deep), { maxKeys: 3 }), longPath, value, fc.constant(undefined));
const id = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(undefined), fc.constant(null), fc.constant({}));
const handler = fc.constantFrom('session', 'list', 'item', 'remove', 'error', 'pong', 'progress', 'resumed', 'init', 'nope', 1, undefined);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const frame = fc.record(
  {
    handler,
    resource: maybe(fc.oneof(fc.string({ maxLength: 4 }), fc.integer())),
    id,
    params: fc.oneof(
      params,
      fc.record({
        code: maybe(fc.oneof(fc.string(), fc.integer())),
        message: maybe(fc.string()),
        request: maybe(fc.oneof(value, fc.record({ handler: fc.oneof(fc.string(), fc.integer()), params }))),
      }),
    ),
    items: maybe(fc.oneof(fc.array(fc.oneof(fc.dictionary(fc.string({ maxLength: 2 }), value), scalar), { maxLength: 3 }), value)),
    data: maybe(value),
    features: maybe(fc.oneof(fc.array(fc.string()), fc.array(value))),
    position: maybe(fc.oneof(fc.string({ maxLength: 6 }), value)),
  },
  { requiredKeys: [] },
);

/** Frames that pass every other check, so that the params rules decide: mostly plausible filters, near every limit. */
const goodKey = fc.constantFrom('a', 'type', 'a.b', 'a.0', 'tags.1.x');
const op = fc.constantFrom('$in', '$nin', '$ne', '$gt', '$gte', '$lt', '$lte', '$exists', '$where', '$regex');
const operand = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), value, deep, fc.array(deep, { maxLength: 1 }));
const condition = fc.oneof(
  scalar,
  value,
  deep,
  fc.dictionary(op, operand, { minKeys: 1, maxKeys: 2 }),
  fc.tuple(op, operand, goodKey, scalar).map(([o, x, k, y]) => ({ [o]: x, [k]: y })),
);
const filter = fc.oneof(fc.dictionary(fc.oneof(goodKey, goodKey, key), condition, { maxKeys: 3 }), longPath);
const filtered = fc.oneof(
  fc.record({ handler: fc.constant('list'), resource: fc.constant('nodes'), items: fc.constant([]), params: filter }),
  fc.record({ handler: fc.constant('remove'), resource: fc.constant('nodes'), id: maybe(fc.constant('x')), params: maybe(filter) }),
);

describe('parseServerFrame', () => {
  it('agrees with parseMessage(…, "server") on frames where the params rules decide', () => {
    let accepted = 0;
    fc.assert(
      fc.property(filtered, (f) => {
        const r = reference(f);
        if ('ok' in r) accepted++;
        expect(lean(f)).toEqual(r);
      }),
      { numRuns: 20_000 },
    );
    // Both verdicts are well represented, or the comparison would prove little.
    expect(accepted).toBeGreaterThan(3000);
    expect(accepted).toBeLessThan(17_000);
  });

  it('agrees with parseMessage(…, "server") on generated frames, parsed or as JSON text', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(lean(f)).toEqual(reference(f));
        const text = JSON.stringify(f);
        expect(lean(text)).toEqual(reference(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees on text that is not a frame at all', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (data) => {
        expect(lean(data)).toEqual(reference(data));
      }),
      { numRuns: 5_000 },
    );
  });

  it('agrees on the protocol examples', () => {
    const examples: unknown[] = [
      '{"handler":"session","id":"s1","features":["ping"]}',
      '{"handler":"list","resource":"nodes","params":{"type":"compute"},"items":[{"id":"a"}]}',
      '{"handler":"list","resource":"nodes","items":[]}',
      '{"handler":"item","resource":"nodes","id":7,"data":{"id":7}}',
      '{"handler":"remove","resource":"nodes","id":8}',
      '{"handler":"remove","resource":"nodes","params":{"type":{"$in":["a"]}}}',
      '{"handler":"remove","resource":"nodes"}',
      '{"handler":"list","resource":"nodes","params":{"$where":"1"},"items":[]}',
      '{"handler":"list","resource":"nodes","params":{"a":{"$gt":{"x":1}}},"items":[]}',
      '{"handler":"list","resource":"nodes","params":{"a":{"$gt":1,"b":2}},"items":[]}',
      '{"handler":"list","resource":"nodes","params":{"__proto__":{"x":1}},"items":[]}',
      '{"handler":"list","resource":"nodes","params":[],"items":[]}',
      '{"handler":"error","params":{"code":"brand-new","message":"m"}}',
      '{"handler":"error","params":{"code":"x","message":"m","request":{"handler":"watch","params":{"a":1}}}}',
      '{"handler":"error","params":{"code":"x","message":"m","request":{"params":{}}}}',
      '{"handler":"pong"}',
      '{"handler":"pong","id":5}',
      '{"handler":"item","resource":"nodes","id":"a","data":{"id":"a"},"position":"k2.7"}',
      '{"handler":"item","resource":"nodes","id":"a","data":{"id":"a"},"position":7}',
      '{"handler":"list","resource":"nodes","params":{},"items":[],"position":"k2.7"}',
      '{"handler":"remove","resource":"nodes","id":"a","position":null}',
      '{"handler":"progress","resource":"nodes","position":"k2.9"}',
      '{"handler":"progress","resource":"nodes"}',
      '{"handler":"resumed","resource":"nodes","params":{"type":"compute"},"position":"k2.9"}',
      '{"handler":"resumed","resource":"nodes","params":{"$where":"1"},"position":"k2.9"}',
      '{"handler":"resumed","resource":"nodes","position":"k2.9"}',
      'not json',
      '[1,2]',
      '{"handler":5}',
    ];
    for (const e of examples) expect([e, lean(e)]).toEqual([e, reference(e)]);
  });
});
