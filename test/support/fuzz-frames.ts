/**
 * fast-check arbitraries for hostile client frames: random text and bytes, invalid UTF-8, truncated and deeply
 * nested JSON, huge strings (under and over maxPayload), wrong types in every field, operator injection and
 * prototype-pollution keys, and well-formed messages in between so the server's state (watches, reads) is
 * exercised too. Each frame says whether the server must close the connection for it, and with which code.
 */
import fc from 'fast-check';
import { CLIENT_HANDLERS, DEFAULTS, type InputBudget } from '../../protocol/index.js';

/** One frame to send. */
export type FuzzFrame =
  | { readonly kind: string; readonly text: string; readonly expectClose?: number }
  | { readonly kind: string; readonly bytes: Uint8Array; readonly binary: boolean; readonly expectClose?: number };

const CHANNELS = [
  'nodes',
  'catalogs',
  'skus',
  'workflows',
  'graphObjs',
  'pollers',
  'logs',
  'events',
  // RackHD's other resources (issue 12), under their names and RackHD's aliases, and the mq stream.
  'graphdefinitions',
  'graphDefs',
  'taskdefinitions',
  'taskDefs',
  'templates',
  'profiles',
  'files',
  'lookups',
  'mq',
];
const HOSTILE_NAMES = ['', 'bogus', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const HANDLERS = [...CLIENT_HANDLERS, 'explode', 'pong', 'list', 'item', 'error', 'session', ...HOSTILE_NAMES];
const ALLOWED_OPS = ['$in', '$nin', '$ne', '$gt', '$gte', '$lt', '$lte', '$exists'];
const INJECTED_OPS = [
  '$where',
  '$function',
  '$expr',
  '$regex',
  '$options',
  '$or',
  '$and',
  '$nor',
  '$not',
  '$text',
  '$jsonSchema',
  '$accumulator',
  '$elemMatch',
  '$size',
  '$mod',
  '$all',
  '$type',
  '$comment',
  '$',
  '$$ROOT',
];
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
  fc.oneof(
    leaf,
    fc.dictionary(fc.constantFrom(...ALLOWED_OPS, ...INJECTED_OPS), fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })), { maxKeys: 2 }),
  ),
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
  params: fc.dictionary(
    fc.constantFrom('type', 'name', 'id', 'subject', 'level'),
    fc.oneof(
      fc.constantFrom('compute', 'switch', 'info', 'x'),
      fc.record({ $in: fc.array(fc.constantFrom('compute', 'pdu'), { maxLength: 2 }) }),
    ),
    { maxKeys: 2 },
  ),
});

const text =
  (kind: string) =>
  (t: string): FuzzFrame => ({ kind, text: t });

function nested(depth: number, open: string, close: string, inner: string): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** Well-formed `mq` requests (an allowed exchange or not, topic patterns), so mq watches come and go too. */
const validMq = fc.record({
  handler: fc.constantFrom('watch', 'stop', 'query'),
  resource: fc.constant('mq'),
  params: fc.record({
    exchange: fc.constantFrom('on.logging', 'on.events', 'on.nope'),
    routingKey: fc.constantFrom('#', '*', 'info', 'graph.#', 'a..b', '*x'),
  }),
});

/**
 * Every kind of frame, weighted so that the large ones (deep nesting up to 500 KB, strings up to maxPayload,
 * frames over it) stay about one in 350 each: with 20,000 frames that is still ~50 of each, ~100 MB in all.
 */
export const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  {
    weight: 80,
    arbitrary: fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: validMq }).map((m) => text('valid')(JSON.stringify(m))),
  },
  { weight: 100, arbitrary: message.map((m) => text('wrong-types')(withPollutionKeys(JSON.stringify(m)))) },
  {
    weight: 60,
    arbitrary: fc
      .record({ handler: fc.constantFrom('query', 'watch', 'get', 'stop'), params })
      .map((m) => text('injection')(withPollutionKeys(JSON.stringify(m)))),
  },
  {
    weight: 20,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          '{"@@p1@@":{"polluted":true},"handler":"query"}',
          '{"handler":"watch","params":{"@@p1@@":{"polluted":1}}}',
          '{"handler":"query","params":{"a":{"@@p2@@":{"@@p3@@":{"polluted":1}}}}}',
          '{"handler":"@@p1@@","resource":"@@p2@@"}',
        ),
        value,
      )
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
    arbitrary: fc
      .tuple(fc.integer({ min: 64 * 1024, max: DEFAULTS.maxPayload - 200 }), fc.constantFrom('name', '@@p1@@', '$where', 'resource'))
      .map(([n, field]) => {
        const big = 'x'.repeat(n);
        const t = field === 'resource' ? `{"handler":"all","resource":"${big}"}` : `{"handler":"query","params":{"${field}":"${big}"}}`;
        return text('huge-string')(withPollutionKeys(t));
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: DEFAULTS.maxPayload + 1, max: DEFAULTS.maxPayload + 64 * 1024 })
      .map((n): FuzzFrame => ({ kind: 'oversized', text: `{"handler":"query","params":{"name":"${'y'.repeat(n)}"}}`, expectClose: 1009 })),
  },
  {
    weight: 2,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 32 })
      .map((b): FuzzFrame => ({ kind: 'invalid-utf8', bytes: Uint8Array.from([...b, 0xc3, 0x28]), binary: false, expectClose: 1007 })),
  },
);

/*
 * Grammar mode: frames built from the protocol's grammar — a handler, then its envelope (`handler`, `resource`,
 * `params`, an extra field) and the positions inside a filter (a field path, a field's value, an `$in` element) —
 * with one slot filled by a value sized against the input budget: nesting (arrays or documents), a string (or a
 * key), an array or a document with many entries, either right around the bound (two under to two over) or as
 * large as maxPayload allows. Every handler × every slot × every bomb. Each frame carries the verdict the grammar
 * predicts, worked out from the slot's level and the bomb's size (arithmetic, not the server's walk), so the test
 * can check the server refuses exactly what is over and nothing else.
 */

/** Where a grammar frame puts its bomb. */
export const GRAMMAR_SLOTS = ['handler', 'resource', 'params', 'extra', 'extra-key', 'path', 'value', '$in'] as const;
export type GrammarSlot = (typeof GRAMMAR_SLOTS)[number];
/** What the bomb is. */
export const GRAMMAR_BOMBS = ['nested-arrays', 'nested-objects', 'string', 'array', 'object'] as const;
export type GrammarBomb = (typeof GRAMMAR_BOMBS)[number];
/** The handlers of grammar frames: every client handler and an unknown one. */
export const GRAMMAR_HANDLERS: readonly string[] = [...CLIENT_HANDLERS, 'explode'];

/** A grammar frame, with what the grammar says of it. */
export interface GrammarFrame {
  readonly kind: 'grammar';
  readonly text: string;
  readonly handler: string;
  /** The resource the frame names (unless the bomb is the resource). */
  readonly resource: string;
  readonly slot: GrammarSlot;
  readonly bomb: GrammarBomb;
  /** The bound the frame is over (the server must answer `too-large`), or undefined when it is within all. */
  readonly over: keyof InputBudget | undefined;
  /** A one-line summary, for fast-check's report of a failing batch. */
  readonly [fc.toStringMethod]: () => string;
}

interface Slot {
  /** The frame with the bomb's JSON text at its place (`h`: the handler, `r`: the resource, as JSON). */
  readonly frame: (h: string, r: string, bomb: string) => string;
  /** Keys and array elements of the frame besides the bomb's own. */
  readonly nodes: number;
  /** The level of the bomb in the frame (the frame is level 1); undefined where the bomb is a key. */
  readonly level?: number;
  /** A string here is a name (handler, resource) or a key: held to maxKeyLength instead of maxStringLength. */
  readonly short?: boolean;
}

const SLOTS: Readonly<Record<GrammarSlot, Slot>> = {
  handler: { frame: (_h, r, b) => `{"handler":${b},"resource":${r},"params":{"type":"compute"}}`, nodes: 4, level: 2, short: true },
  resource: { frame: (h, _r, b) => `{"handler":${h},"resource":${b},"params":{"type":"compute"}}`, nodes: 4, level: 2, short: true },
  params: { frame: (h, r, b) => `{"handler":${h},"resource":${r},"params":${b}}`, nodes: 3, level: 2 },
  extra: { frame: (h, r, b) => `{"handler":${h},"resource":${r},"params":{"type":"compute"},"extra":${b}}`, nodes: 5, level: 2 },
  'extra-key': { frame: (h, r, b) => `{"handler":${h},"resource":${r},${b}:1}`, nodes: 3, short: true },
  path: { frame: (h, r, b) => `{"handler":${h},"resource":${r},"params":{${b}:1}}`, nodes: 4, short: true },
  value: { frame: (h, r, b) => `{"handler":${h},"resource":${r},"params":{"name":${b}}}`, nodes: 4, level: 3 },
  $in: { frame: (h, r, b) => `{"handler":${h},"resource":${r},"params":{"name":{"$in":["a",${b}]}}}`, nodes: 7, level: 5 },
};

/**
 * The resources of grammar frames: a channel, and one that does not exist, whose `unknown-channel` error echoes the
 * request — the path of finding 1 of issue 10, where the echo of 5,000 nested arrays ended the process.
 */
const GRAMMAR_RESOURCES = ['nodes', 'nope'] as const;
/**
 * Nesting past this many levels costs the server's `JSON.parse` more (~100 ms at 500,000) and finds nothing new:
 * any recursion overflows long before. Strings, arrays and documents still go up to maxPayload.
 */
const DEEPEST = 100_000;

/** A bomb of size `n`: its JSON text, and what it adds to the frame's depth, nodes and longest string. */
function bomb(kind: GrammarBomb, n: number): { text: string; depth: number; nodes: number; length: number } {
  switch (kind) {
    case 'nested-arrays':
      return { text: nested(n, '[', ']', ''), depth: n, nodes: n - 1, length: 0 };
    case 'nested-objects':
      return { text: nested(n, '{"a":', '}', '1'), depth: n, nodes: n, length: 0 };
    case 'string':
      return { text: `"${'x'.repeat(n)}"`, depth: 0, nodes: 0, length: n };
    case 'array':
      return { text: `[${'0,'.repeat(n - 1)}0]`, depth: 1, nodes: n, length: 0 };
    case 'object':
      return { text: `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`, depth: 1, nodes: n, length: 0 };
  }
}

/** The largest size of a bomb whose text fits in `room` characters. */
function largest(kind: GrammarBomb, room: number): number {
  switch (kind) {
    case 'nested-arrays':
      return Math.floor(room / 2);
    case 'nested-objects':
      return Math.floor((room - 1) / 6);
    case 'string':
      return room - 2;
    case 'array':
      return Math.floor((room - 1) / 2);
    case 'object':
      return Math.floor(room / 12); // `"k123456":0,` is 12 characters, and n stays under a million
  }
}

/** The size at which a bomb of `kind` in `slot` reaches its bound exactly (one more is over). */
function atBound(kind: GrammarBomb, slot: Slot): number {
  const budget = DEFAULTS.inputBudget;
  if (kind === 'string') return slot.short ? budget.maxKeyLength : budget.maxStringLength;
  if (kind === 'array' || kind === 'object') return budget.maxNodes - slot.nodes;
  return budget.maxDepth - slot.level! + 1;
}

/** The bound a frame passes, by the grammar's arithmetic. */
function verdict(kind: GrammarBomb, slot: Slot, b: ReturnType<typeof bomb>): keyof InputBudget | undefined {
  const budget = DEFAULTS.inputBudget;
  if (kind === 'string')
    return b.length > (slot.short ? budget.maxKeyLength : budget.maxStringLength)
      ? slot.short
        ? 'maxKeyLength'
        : 'maxStringLength'
      : undefined;
  if (slot.level! + b.depth - 1 > budget.maxDepth) return 'maxDepth';
  if (slot.nodes + b.nodes > budget.maxNodes) return 'maxNodes';
  return undefined;
}

/**
 * A frame of `handler` with a bomb of `kind` in `slot`, on a channel or an unknown one, sized near its bound (mostly)
 * or far past it: nesting up to DEEPEST levels (more often: it is cheap, and it is what crashed), the others as large
 * as a frame can carry.
 */
export function grammarFrame(handler: string, slotName: GrammarSlot, kind: GrammarBomb): fc.Arbitrary<GrammarFrame> {
  const slot = SLOTS[slotName];
  const h = JSON.stringify(handler);
  const room = DEFAULTS.maxPayload - slot.frame(h, '"nodes"', '').length - 8;
  const bound = atBound(kind, slot);
  const nesting = kind === 'nested-arrays' || kind === 'nested-objects';
  const size = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: -2, max: 2 }).map((delta) => Math.max(1, bound + delta)) },
    {
      weight: nesting ? 3 : 1,
      arbitrary: fc.integer({ min: bound + 3, max: nesting ? Math.min(DEEPEST, largest(kind, room)) : largest(kind, room) }),
    },
  );
  return fc.tuple(size, fc.constantFrom(...GRAMMAR_RESOURCES)).map(([n, resource]): GrammarFrame => {
    const b = bomb(kind, n);
    const text = slot.frame(h, JSON.stringify(resource), b.text);
    const over = verdict(kind, slot, b);
    // fast-check prints a failing batch with this instead of megabytes of frame text.
    const summary = `${handler} ${slotName} ${kind} n=${n} on ${resource} (${text.length} characters, over: ${over ?? 'none'})`;
    return { kind: 'grammar', text, handler, resource, slot: slotName, bomb: kind, over, [fc.toStringMethod]: () => summary };
  });
}

/** Every handler × every slot × every bomb that fits it (a key can only be a string): one frame each, in that order. */
export const grammarBatch: fc.Arbitrary<GrammarFrame[]> = fc.tuple(
  ...GRAMMAR_HANDLERS.flatMap((handler) =>
    GRAMMAR_SLOTS.flatMap((slot) =>
      (SLOTS[slot].level === undefined ? (['string'] as const) : GRAMMAR_BOMBS).map((kind) => grammarFrame(handler, slot, kind)),
    ),
  ),
);
