/**
 * fast-check arbitraries for hostile client frames: random text and bytes, invalid UTF-8, truncated and deeply
 * nested JSON, huge strings (under and over maxPayload), wrong types in every field, operator injection and
 * prototype-pollution keys, and well-formed messages in between so the server's state (watches, reads) is
 * exercised too. Each frame says whether the server must close the connection for it, and with which code.
 */
import fc from 'fast-check';
import { CLIENT_HANDLERS, DEFAULTS } from '../../protocol/index.js';

/** One frame to send. */
export type FuzzFrame =
  | { readonly kind: string; readonly text: string; readonly expectClose?: number }
  | { readonly kind: string; readonly bytes: Uint8Array; readonly binary: boolean; readonly expectClose?: number };

const CHANNELS = ['nodes', 'catalogs', 'skus', 'workflows', 'graphObjs', 'pollers', 'logs', 'events'];
const HOSTILE_NAMES = ['', 'bogus', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const HANDLERS = [...CLIENT_HANDLERS, 'explode', 'pong', 'list', 'item', 'error', 'session', ...HOSTILE_NAMES];
const ALLOWED_OPS = ['$in', '$nin', '$ne', '$gt', '$gte', '$lt', '$lte', '$exists'];
const INJECTED_OPS = ['$where', '$function', '$expr', '$regex', '$options', '$or', '$and', '$nor', '$not', '$text', '$jsonSchema', '$accumulator', '$elemMatch', '$size', '$mod', '$all', '$type', '$comment', '$', '$$ROOT'];
const FIELDS = ['id', 'type', 'name', 'sku', 'instanceId', 'subject', 'level', 'obms.service', 'a.b.c', 'tags', '.', 'a..b', '$x', 'x.$y'];
/**
 * JSON text can carry `__proto__` as an ordinary key, but a JS object literal cannot: these placeholders are
 * generated as keys and replaced in the serialised text.
 */
const POLLUTION: Readonly<Record<string, string>> = { '@@p1@@': '__proto__', '@@p2@@': 'constructor', '@@p3@@': 'prototype' };

function withPollutionKeys(json: string): string {
  return json.replace(/@@p[123]@@/g, (m) => POLLUTION[m]!);
}

const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIELDS) },
  { weight: 2, arbitrary: fc.constantFrom(...ALLOWED_OPS) },
  { weight: 2, arbitrary: fc.constantFrom(...INJECTED_OPS) },
  { weight: 2, arbitrary: fc.constantFrom(...Object.keys(POLLUTION)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

const leaf = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...CHANNELS, ...HOSTILE_NAMES, 'compute', 'switch'),
);

/** JSON values whose object keys favour operators, field paths and pollution keys. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(key, tie('value'), { maxKeys: 4 }) },
  ),
})).value;

/** Filters built from known fields and operators (allowed and injected). */
const params = fc.dictionary(
  fc.constantFrom(...FIELDS, ...INJECTED_OPS, ...Object.keys(POLLUTION)),
  fc.oneof(leaf, fc.dictionary(fc.constantFrom(...ALLOWED_OPS, ...INJECTED_OPS), fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })), { maxKeys: 2 })),
  { maxKeys: 3 },
);

/** Messages with a possibly wrong type in every field, and extra fields. */
const message = fc.record(
  {
    handler: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...HANDLERS) }, { weight: 1, arbitrary: value }),
    resource: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CHANNELS, ...HOSTILE_NAMES) }, { weight: 1, arbitrary: value }),
    params: fc.oneof({ weight: 3, arbitrary: params }, { weight: 1, arbitrary: value }),
    id: value,
    [Object.keys(POLLUTION)[0]!]: value,
  },
  { requiredKeys: [] },
);

/** Well-formed requests, so watches and reads happen between the garbage. */
const valid = fc.record({
  handler: fc.constantFrom(...CLIENT_HANDLERS),
  resource: fc.constantFrom(...CHANNELS),
  params: fc.dictionary(fc.constantFrom('type', 'name', 'id', 'subject', 'level'), fc.oneof(fc.constantFrom('compute', 'switch', 'info', 'x'), fc.record({ $in: fc.array(fc.constantFrom('compute', 'pdu'), { maxLength: 2 }) })), { maxKeys: 2 }),
});

const text = (kind: string) => (t: string): FuzzFrame => ({ kind, text: t });

function nested(depth: number, open: string, close: string, inner: string): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/**
 * Every kind of frame, weighted so that the large ones (deep nesting up to 500 KB, strings up to maxPayload,
 * frames over it) stay about one in 350 each: with 20,000 frames that is still ~50 of each, ~100 MB in all.
 */
export const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  { weight: 80, arbitrary: valid.map((m) => text('valid')(JSON.stringify(m))) },
  { weight: 100, arbitrary: message.map((m) => text('wrong-types')(withPollutionKeys(JSON.stringify(m)))) },
  { weight: 60, arbitrary: fc.record({ handler: fc.constantFrom('query', 'watch', 'get', 'stop'), params }).map((m) => text('injection')(withPollutionKeys(JSON.stringify(m)))) },
  {
    weight: 20,
    arbitrary: fc
      .tuple(fc.constantFrom('{"@@p1@@":{"polluted":true},"handler":"query"}', '{"handler":"watch","params":{"@@p1@@":{"polluted":1}}}', '{"handler":"query","params":{"a":{"@@p2@@":{"@@p3@@":{"polluted":1}}}}}', '{"handler":"@@p1@@","resource":"@@p2@@"}'), value)
      .map(([t, v]) => text('pollution')(withPollutionKeys(t.replace('"polluted":1', `"polluted":${JSON.stringify(v) ?? 1}`)))),
  },
  {
    weight: 20,
    arbitrary: fc.tuple(fc.oneof(valid, message), fc.nat()).map(([m, cut]) => {
      const json = withPollutionKeys(JSON.stringify(m));
      return text('truncated')(json.slice(0, cut % Math.max(1, json.length)));
    }),
  },
  { weight: 32, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }).map(text('random-text')) },
  { weight: 20, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes): FuzzFrame => ({ kind: 'binary', bytes, binary: true })) },
  {
    weight: 10,
    arbitrary: fc.tuple(fc.integer({ min: 17, max: 5000 }), fc.boolean(), fc.boolean()).map(([depth, arrays, wrapped]) => {
      const inner = arrays ? nested(depth, '[', ']', '1') : nested(depth, '{"a":', '}', '1');
      return text('nested')(wrapped ? `{"handler":"query","params":{"x":${inner}}}` : inner);
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 50_000, max: 250_000 }), fc.boolean()).map(([depth, truncated]) => {
      const t = `{"handler":"watch","params":${nested(depth, '[', ']', '0')}}`;
      return text('deep-nested')(truncated ? t.slice(0, t.length - 7) : t);
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 64 * 1024, max: DEFAULTS.maxPayload - 200 }), fc.constantFrom('name', '@@p1@@', '$where', 'resource')).map(([n, field]) => {
      const big = 'x'.repeat(n);
      const t = field === 'resource' ? `{"handler":"all","resource":"${big}"}` : `{"handler":"query","params":{"${field}":"${big}"}}`;
      return text('huge-string')(withPollutionKeys(t));
    }),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: DEFAULTS.maxPayload + 1, max: DEFAULTS.maxPayload + 64 * 1024 }).map(
      (n): FuzzFrame => ({ kind: 'oversized', text: `{"handler":"query","params":{"name":"${'y'.repeat(n)}"}}`, expectClose: 1009 }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 32 }).map(
      (b): FuzzFrame => ({ kind: 'invalid-utf8', bytes: Uint8Array.from([...b, 0xc3, 0x28]), binary: false, expectClose: 1007 }),
    ),
  },
);
