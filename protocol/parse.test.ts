import { describe, expect, it } from 'vitest';
import { resolveInputBudget, type InputBudget } from './budget.js';
import { DEFAULTS, type ErrorCode } from './codes.js';
import { ProtocolError } from './errors.js';
import { CLIENT_HANDLERS, type ClientMessage, type Doc, type ErrorRequest, type Params, type ServerMessage } from './messages.js';
import { describeError, parseMessage, stringifyList, stringifyMessage } from './parse.js';

/** The ProtocolError `parseMessage` throws for `data`, as `{code, request}`. */
function rejection(data: unknown, from: 'client' | 'server' = 'client', budget?: InputBudget): { code: ErrorCode; request?: ErrorRequest } {
  try {
    if (from === 'client') parseMessage(data, 'client', { budget });
    else parseMessage(data, 'server', { budget });
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    const e = err as ProtocolError;
    expect(e.message.length).toBeGreaterThan(0);
    return e.request === undefined ? { code: e.code } : { code: e.code, request: e.request };
  }
  throw new Error(`expected ${typeof data === 'string' ? data : JSON.stringify(data)} to be rejected`);
}

const params = { type: 'compute', 'identifiers.0': { $in: ['52:54:00:00:00:01'] } };

const CLIENT_MESSAGES: ClientMessage[] = [
  { handler: 'init' },
  { handler: 'query', params },
  { handler: 'all' },
  { handler: 'get', params: { id: 'n1' } },
  { handler: 'watch', params },
  { handler: 'stop', params },
  { handler: 'ping' },
];

const SERVER_MESSAGES: ServerMessage[] = [
  { handler: 'session', id: 's1' },
  { handler: 'session', id: 's1', features: ['ping'] },
  { handler: 'list', resource: 'nodes', items: [{ id: 'n1', type: 'compute' }] },
  { handler: 'list', resource: 'nodes', params: { type: 'compute' }, items: [] },
  { handler: 'item', resource: 'nodes', id: 'n1', data: { id: 'n1', obm: { host: '10.1.1.1' } } },
  { handler: 'remove', resource: 'nodes', id: 'n1' },
  { handler: 'remove', resource: 'nodes', params: { type: 'switch' } },
  { handler: 'error', params: { code: 'bad-json', message: 'frame is not valid JSON' } },
  {
    handler: 'error',
    resource: 'nodes',
    params: {
      code: 'bad-params',
      message: 'operator "$where" is not allowed',
      request: { handler: 'watch', resource: 'nodes', params: { $where: '1' } },
    },
  },
  { handler: 'pong' },
  { handler: 'list', resource: 'nodes', params: {}, items: [], position: 'k2x.41' },
  { handler: 'item', resource: 'nodes', id: 'n1', data: { id: 'n1' }, position: 'k2x.42' },
  { handler: 'remove', resource: 'nodes', id: 'n1', position: 'k2x.43' },
  { handler: 'progress', resource: 'nodes', position: 'k2x.44' },
  { handler: 'resumed', resource: 'nodes', params: { type: 'compute' }, position: 'k2x.44' },
];

describe('round trips', () => {
  for (const message of CLIENT_MESSAGES) {
    it(`client ${message.handler} without resource`, () => {
      expect(parseMessage(stringifyMessage(message), 'client')).toEqual(message);
    });
    it(`client ${message.handler} with resource`, () => {
      const withResource = { ...message, resource: 'workflows' };
      expect(parseMessage(stringifyMessage(withResource), 'client')).toEqual(withResource);
    });
  }

  for (const message of SERVER_MESSAGES) {
    const variant = [
      'features' in message ? 'with features' : '',
      message.handler === 'list' ? ('params' in message ? 'with params' : 'without params') : '',
      message.handler === 'remove' ? ('id' in message ? 'with id' : 'with params') : '',
      message.handler === 'error' ? ('request' in message.params ? 'with request' : 'without request') : '',
    ].join('');
    it(`server ${message.handler} ${variant}`.trim(), () => {
      expect(parseMessage(stringifyMessage(message), 'server')).toEqual(message);
    });
  }

  it('takes positions as they come (opaque to clients: a server answers one it cannot use with a list)', () => {
    for (const text of [
      '{"handler":"item","resource":"n","id":"a","data":{},"position":7}',
      '{"handler":"progress","resource":"n"}',
      '{"handler":"resumed","resource":"n","position":"p"}',
    ]) {
      expect(parseMessage(text, 'server')).toEqual(JSON.parse(text));
    }
  });

  it('stringifyMessage is plain JSON text that JSON.parse reads back', () => {
    for (const message of [...CLIENT_MESSAGES, ...SERVER_MESSAGES]) {
      expect(JSON.parse(stringifyMessage(message))).toEqual(message);
    }
  });

  it('stringifyList (the list fast path) writes exactly what stringifyMessage writes, and it parses to the same message', () => {
    const lists: Array<{ resource: string; params: Params; items: Doc[] }> = [
      { resource: 'nodes', params: {}, items: [] },
      { resource: 'graphObjs', params, items: [{ id: 'n1', type: 'compute', tags: ['a', 'b'], obm: { host: '10.1.1.1' } }] },
      // Characters JSON must escape, in every part of the frame.
      { resource: 'no"des\\', params: { 'na"me': 'line\nbreak \u2028' }, items: [{ id: 'q"\u0000', n: 1.5, b: null }] },
    ];
    for (const { resource, params, items } of lists) {
      const text = stringifyList(resource, params, JSON.stringify(items));
      expect(text).toBe(stringifyMessage({ handler: 'list', resource, params, items }));
      expect(parseMessage(text, 'server')).toEqual(parseMessage(stringifyMessage({ handler: 'list', resource, params, items }), 'server'));
      expect(parseMessage(text, 'server')).toEqual({ handler: 'list', resource, params, items });
      const positioned = stringifyList(resource, params, JSON.stringify(items), 'k2"x.7');
      expect(positioned).toBe(stringifyMessage({ handler: 'list', resource, params, items, position: 'k2"x.7' }));
    }
  });

  it('parseMessage also takes an already-parsed value', () => {
    expect(parseMessage({ handler: 'watch', params: { a: 1 } })).toEqual({ handler: 'watch', params: { a: 1 } });
  });

  it('the direction defaults to client', () => {
    expect(parseMessage('{"handler":"init"}')).toEqual({ handler: 'init' });
    expect(rejection('{"handler":"session","id":"s"}').code).toBe('unknown-handler');
  });
});

describe('client messages: lenient where older clients need it', () => {
  it('absent params on query/get/watch/stop read as {} (older clients)', () => {
    for (const handler of ['query', 'get', 'watch', 'stop'] as const) {
      expect(parseMessage(`{"handler":"${handler}"}`)).toEqual({ handler, params: {} });
    }
  });

  it('does not modify an already-parsed object (regression: absent params were written into the caller object)', () => {
    const input = { handler: 'watch' };
    expect(parseMessage(input)).toEqual({ handler: 'watch', params: {} });
    expect(input).toEqual({ handler: 'watch' });
  });

  it('accepts every allowed operator, dotted paths, embedded documents and arrays', () => {
    const ok = {
      a: 1,
      'b.c.0': 'x',
      d: { e: [1, { f: null }] },
      g: { $in: [1, 'x', null, [1], { h: 1 }], $nin: [2] },
      i: { $ne: { j: 1 } },
      k: { $gt: 1, $gte: 'a', $lt: true, $lte: 5 },
      l: { $exists: false },
      m: {},
      n: [],
    };
    expect(parseMessage(JSON.stringify({ handler: 'watch', params: ok }))).toEqual({ handler: 'watch', params: ok });
  });
});

describe('rejections: stable code, and the request echoed when the message parsed', () => {
  it('a frame that is not JSON is bad-json, with nothing to echo', () => {
    expect(rejection('{"handler":')).toEqual({ code: 'bad-json' });
    expect(rejection('not json')).toEqual({ code: 'bad-json' });
    expect(rejection('')).toEqual({ code: 'bad-json' });
  });

  it('JSON that is not an object (array, null, number, string, boolean) is bad-message', () => {
    for (const text of ['[]', '[{"handler":"init"}]', 'null', '42', '"init"', 'true']) {
      expect(rejection(text)).toEqual({ code: 'bad-message' });
    }
    // Already-parsed values that are not plain objects.
    for (const value of [undefined, new Date(), new Map(), ['init']]) {
      expect(rejection(value)).toEqual({ code: 'bad-message' });
    }
  });

  it('a missing or non-string handler is bad-message', () => {
    for (const text of ['{}', '{"params":{}}', '{"handler":5}', '{"handler":null}', '{"handler":["init"]}']) {
      expect(rejection(text)).toEqual({ code: 'bad-message' });
    }
  });

  it('an unknown handler is unknown-handler, with the request echoed', () => {
    expect(rejection('{"handler":"subscribe","resource":"nodes","params":{"a":1}}')).toEqual({
      code: 'unknown-handler',
      request: { handler: 'subscribe', resource: 'nodes', params: { a: 1 } },
    });
    expect(rejection('{"handler":"__proto__"}')).toEqual({
      code: 'unknown-handler',
      request: { handler: '__proto__' },
    });
    expect(rejection('{"handler":"list","resource":"nodes","items":[]}')).toMatchObject({ code: 'unknown-handler' });
  });

  it('params that is not an object is bad-params, with the request echoed', () => {
    for (const value of ['5', '"type"', '[]', '[{"a":1}]', 'null', 'true']) {
      expect(rejection(`{"handler":"watch","resource":"nodes","params":${value}}`)).toEqual({
        code: 'bad-params',
        request: { handler: 'watch', resource: 'nodes', params: JSON.parse(value) },
      });
    }
  });

  const badParams: Array<[string, string]> = [
    ['$where', '{"$where":"1"}'],
    ['$regex on a field', '{"name":{"$regex":"."}}'],
    ['$regex with $options', '{"name":{"$regex":"a","$options":"i"}}'],
    ['$function', '{"$function":{"body":"return true","args":[],"lang":"js"}}'],
    ['$expr', '{"$expr":{"$eq":["$a","$b"]}}'],
    ['$or', '{"$or":[{"a":1},{"b":2}]}'],
    ['$and', '{"$and":[{"a":1}]}'],
    ['$nor', '{"$nor":[{"a":1}]}'],
    ['$comment', '{"$comment":"x"}'],
    ['$not on a field', '{"a":{"$not":{"$gt":1}}}'],
    ['$elemMatch on a field', '{"a":{"$elemMatch":{"b":1}}}'],
    ['$eq (outside the allowlist)', '{"a":{"$eq":1}}'],
    ['nested $regex inside an embedded document', '{"a":{"b":{"$regex":"."}}}'],
    ['nested $regex deeper inside an embedded document', '{"a":{"b":{"c":{"$regex":"."}}}}'],
    ['$regex inside an $in array', '{"a":{"$in":[{"$regex":"."}]}}'],
    ['$regex inside a $nin array', '{"a":{"$nin":["x",{"$regex":"."}]}}'],
    ['$where inside an $ne operand', '{"a":{"$ne":{"$where":"1"}}}'],
    ['an operator-shaped key inside an array literal', '{"a":[{"$gt":1}]}'],
    ['an operator-shaped key inside an object inside an array', '{"a":[1,{"b":{"$exists":true}}]}'],
    ['an operator-shaped key inside an embedded document', '{"a":{"b":{"$gt":1}}}'],
    ['a mixed operator/field object (field first)', '{"a":{"b":1,"$gt":0}}'],
    ['a mixed operator/field object (operator first)', '{"a":{"$gt":0,"b":1}}'],
    ['a "$" segment inside a dotted path', '{"a.$where":1}'],
    ['a positional "$" segment', '{"a.$":1}'],
    ['an all-positional "$[]" segment', '{"a.$[].b":1}'],
    ['$in with a non-array operand', '{"a":{"$in":1}}'],
    ['$nin with an object operand', '{"a":{"$nin":{"0":1}}}'],
    ['$exists with a number', '{"a":{"$exists":1}}'],
    ['$gt with an object', '{"a":{"$gt":{"b":1}}}'],
    ['$lt with an array', '{"a":{"$lt":[1]}}'],
    ['$gte with null', '{"a":{"$gte":null}}'],
    ['__proto__ as a field', '{"__proto__":{"a":1}}'],
    ['__proto__ in a dotted path', '{"a.__proto__.b":1}'],
    ['__proto__ inside an embedded document', '{"a":{"__proto__":{"b":1}}}'],
    ['__proto__ inside an array', '{"a":[{"__proto__":1}]}'],
    ['__proto__ inside an $in operand', '{"a":{"$in":[{"__proto__":{"x":1}}]}}'],
    ['__proto__ inside an $ne operand', '{"a":{"$ne":{"b":{"__proto__":1}}}}'],
    ['constructor as a field', '{"constructor":{"prototype":{"x":1}}}'],
    ['constructor inside a dotted path', '{"a.constructor":1}'],
    ['constructor inside an embedded document', '{"a":{"constructor":1}}'],
    ['prototype as a field', '{"prototype":1}'],
    ['prototype deep inside arrays', '{"a":[[{"b":[{"prototype":1}]}]]}'],
    ['a number too large to be finite (1e999 parses as Infinity)', '{"a":1e999}'],
    ['a non-finite number inside $in', '{"a":{"$in":[-1e999]}}'],
    ['a non-finite number as a comparison operand', '{"a":{"$gt":1e999}}'],
    ['an empty field name', '{"":1}'],
    ['an empty path segment in the middle', '{"a..b":1}'],
    ['an empty leading path segment', '{".a":1}'],
    ['an empty trailing path segment', '{"a.":1}'],
    ['a NUL in a field name', '{"a\\u0000b":1}'],
    ['a NUL in an embedded document key', '{"a":{"b\\u0000":1}}'],
    ['a path of more than 32 segments', `{"${Array.from({ length: 33 }, () => 'a').join('.')}":1}`],
    ['nesting deeper than 16 levels (arrays)', `{"a":${'['.repeat(17)}${']'.repeat(17)}}`],
    ['nesting deeper than 16 levels (documents)', `{"a":${'{"b":'.repeat(17)}1${'}'.repeat(17)}}`],
    ['nesting deeper than 16 levels inside $in', `{"a":{"$in":[${'['.repeat(16)}${']'.repeat(16)}]}}`],
  ];

  for (const [what, text] of badParams) {
    it(`bad-params: ${what}`, () => {
      const frame = `{"handler":"watch","resource":"nodes","params":${text}}`;
      expect(rejection(frame)).toEqual({
        code: 'bad-params',
        request: { handler: 'watch', resource: 'nodes', params: JSON.parse(text) },
      });
    });
  }

  it('bad params are refused on every handler that carries params (query, get, watch, stop)', () => {
    for (const handler of ['query', 'get', 'watch', 'stop']) {
      expect(rejection(`{"handler":"${handler}","params":{"$where":"1"}}`)).toEqual({
        code: 'bad-params',
        request: { handler, params: { $where: '1' } },
      });
    }
  });

  it("a $in or $nin over maxInValues is too-large (not bad-params), with the request echoed; the limit is the caller's", () => {
    const frame = (n: number) => ({ handler: 'watch', params: { id: { $in: Array.from({ length: n }, (_, i) => i) } } });
    expect(rejection(frame(DEFAULTS.maxInValues + 1))).toEqual({ code: 'too-large', request: frame(DEFAULTS.maxInValues + 1) });
    expect(parseMessage(frame(DEFAULTS.maxInValues))).toEqual(frame(DEFAULTS.maxInValues));
    // A server configured with another limit passes it.
    expect(() => parseMessage(frame(3), 'client', { params: { maxInValues: 2 } })).toThrow(/over maxInValues \(2\)/);
    expect(parseMessage(frame(DEFAULTS.maxInValues + 1), 'client', { params: { maxInValues: 5_000 } })).toMatchObject({ handler: 'watch' });
    // A client takes the params a server echoes whatever their size: that server may allow more than the default.
    const list = { handler: 'list', resource: 'nodes', params: frame(DEFAULTS.maxInValues + 1).params, items: [] };
    expect(parseMessage(list, 'server')).toEqual(list);
  });

  it('nesting of 16 levels is still accepted (the limit is exact)', () => {
    const text = `{"a":${'['.repeat(16)}${']'.repeat(16)}}`;
    const deepest = { handler: 'watch', params: JSON.parse(text) as unknown };
    expect(parseMessage(`{"handler":"watch","params":${text}}`)).toEqual(deepest);
    const path = Array.from({ length: 32 }, () => 'a').join('.');
    expect(parseMessage(`{"handler":"watch","params":{"${path}":1}}`)).toMatchObject({ handler: 'watch' });
  });

  it('non-finite numbers in already-parsed params (NaN, Infinity) are bad-params', () => {
    const nonFinite = [
      { a: Number.NaN },
      { a: Number.POSITIVE_INFINITY },
      { a: { $gt: Number.NEGATIVE_INFINITY } },
      { a: { $in: [Number.NaN] } },
    ];
    for (const p of nonFinite) {
      expect(rejection({ handler: 'watch', params: p })).toMatchObject({ code: 'bad-params' });
    }
  });

  it('values that are not plain JSON in already-parsed params (Date, undefined, function, instance): bad-params', () => {
    class Point {
      x = 1;
    }
    const notJson = [{ a: new Date() }, { a: undefined }, { a: () => 1 }, { a: new Point() }, { a: { $in: [new Map()] } }, { a: 1n }];
    for (const p of notJson) {
      expect(rejection({ handler: 'watch', params: p })).toMatchObject({ code: 'bad-params' });
    }
  });

  it('a refused __proto__ key never reaches Object.prototype', () => {
    rejection('{"handler":"watch","params":{"__proto__":{"polluted":1}}}');
    rejection('{"handler":"watch","params":{"a":{"__proto__":{"polluted":1}}}}');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('a resource of the wrong type is bad-message, with the request echoed (resource left out)', () => {
    for (const value of ['5', 'null', '{}', '["nodes"]', 'true']) {
      expect(rejection(`{"handler":"watch","resource":${value},"params":{"a":1}}`)).toEqual({
        code: 'bad-message',
        request: { handler: 'watch', params: { a: 1 } },
      });
    }
    expect(rejection('{"handler":"init","resource":""}')).toEqual({
      code: 'bad-message',
      request: { handler: 'init', resource: '' },
    });
  });

  // Regression: echoing 200,000 nested arrays made JSON.stringify of the error reply overflow the stack.
  it('over-deep params are refused as too-large and left out of the echo, so the error reply can be serialised', () => {
    const depth = 200_000;
    const frame = `{"handler":"watch","resource":"nodes","params":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const refused = rejection(frame);
    expect(refused).toEqual({ code: 'too-large', request: { handler: 'watch', resource: 'nodes' } });
    const reply = stringifyMessage({
      handler: 'error',
      resource: 'nodes',
      params: { code: refused.code, message: 'params nest too deep', request: refused.request! },
    });
    expect(reply.length).toBeLessThan(1_000);
  });
});

describe('the input budget (client frames, before anything else reads them)', () => {
  const small: InputBudget = { maxDepth: 4, maxNodes: 12, maxStringLength: 10, maxKeyLength: 8 };

  it('is DEFAULTS.inputBudget unless given: a frame over it is too-large, on every handler, known or not', () => {
    const deep = `${'['.repeat(DEFAULTS.inputBudget.maxDepth)}${']'.repeat(DEFAULTS.inputBudget.maxDepth)}`;
    for (const handler of [...CLIENT_HANDLERS, 'explode']) {
      expect(rejection(`{"handler":"${handler}","params":${deep}}`)).toEqual({ code: 'too-large', request: { handler } });
      expect(rejection(`{"handler":"${handler}","params":{"a":1},"extra":${deep}}`)).toEqual({
        code: 'too-large',
        request: { handler, params: { a: 1 } },
      });
    }
  });

  it('is checked before the rest of the parser: a frame over it is too-large whatever else is wrong with it', () => {
    expect(rejection(JSON.stringify(Array.from({ length: DEFAULTS.inputBudget.maxNodes + 1 }, () => 0)))).toEqual({ code: 'too-large' });
    expect(rejection(JSON.stringify({ handler: 5, params: { $where: 'x'.repeat(70_000) } }))).toEqual({ code: 'too-large' });
  });

  it('echoes params unchanged when they are within it, and leaves them out when not; never a truncated copy', () => {
    const params = { type: 'compute' };
    expect(rejection({ handler: 'watch', resource: 'nodes', params, extra: 'x'.repeat(11) }, 'client', small)).toEqual({
      code: 'too-large',
      request: { handler: 'watch', resource: 'nodes', params },
    });
    expect(rejection({ handler: 'watch', params: { a: 'x'.repeat(11) } }, 'client', small)).toEqual({
      code: 'too-large',
      request: { handler: 'watch' },
    });
    // Params are measured where they stand (level 2 of the frame): within maxDepth there, echoed.
    expect(rejection({ handler: 'watch', params: { a: [[]] }, extra: [[[[]]]] }, 'client', small)).toEqual({
      code: 'too-large',
      request: { handler: 'watch', params: { a: [[]] } },
    });
  });

  it('bounds the handler and resource of an echo and of a message: a name over maxKeyLength is neither echoed nor quoted', () => {
    const huge = 'h'.repeat(500_000);
    const refused = rejection(`{"handler":"${huge}","resource":"nodes","params":{"a":1}}`);
    expect(refused).toEqual({ code: 'too-large' });
    expect(rejection({ handler: 'watch', resource: 'r'.repeat(9), params: { a: 1 } }, 'client', small)).toEqual({
      code: 'too-large',
      request: { handler: 'watch', params: { a: 1 } },
    });
    try {
      parseMessage(`{"handler":"${huge}"}`);
      expect.unreachable();
    } catch (err) {
      expect((err as ProtocolError).message).toBe(
        '"handler" is 500,000 characters long; a name is at most 1,024 (inputBudget.maxKeyLength)',
      );
    }
  });

  it('a budget can be given, also for server frames (none by default: a list carries up to maxListItems records)', () => {
    const list = { handler: 'list', resource: 'nodes', params: {}, items: Array.from({ length: 30_000 }, (_, i) => ({ id: String(i) })) };
    expect(parseMessage(list, 'server')).toBe(list);
    expect(rejection(list, 'server', DEFAULTS.inputBudget)).toEqual({
      code: 'too-large',
      request: { handler: 'list', resource: 'nodes', params: {} },
    });
    expect(
      parseMessage({ handler: 'query', params: { a: [[[[[1]]]]] } }, 'client', { budget: resolveInputBudget({ maxDepth: 8 }) }),
    ).toMatchObject({ handler: 'query' });
  });

  it('an unknown handler over the bound of names, where no budget applied (a server frame), is told by its length', () => {
    const huge = 'h'.repeat(600_000);
    try {
      parseMessage({ handler: huge }, 'server');
      expect.unreachable();
    } catch (err) {
      expect((err as ProtocolError).code).toBe('unknown-handler');
      expect((err as ProtocolError).message).toMatch(/^unknown handler \(600,000 characters\); expected one of session/);
      expect((err as ProtocolError).request).toBeUndefined();
    }
  });
});

describe('server messages', () => {
  it('numeric ids in item and remove are turned into strings, without modifying the input', () => {
    const input = { handler: 'item', resource: 'nodes', id: 7, data: { id: 7 } };
    expect(parseMessage(input, 'server')).toEqual({ handler: 'item', resource: 'nodes', id: '7', data: { id: 7 } });
    expect(input.id).toBe(7);
    expect(parseMessage('{"handler":"remove","resource":"nodes","id":8}', 'server')).toEqual({
      handler: 'remove',
      resource: 'nodes',
      id: '8',
    });
  });

  const bad: Array<[string, string, ErrorCode]> = [
    ['session without id', '{"handler":"session"}', 'bad-message'],
    ['session with a numeric id', '{"handler":"session","id":1}', 'bad-message'],
    ['session with features that are not strings', '{"handler":"session","id":"s","features":[1]}', 'bad-message'],
    ['list without resource', '{"handler":"list","items":[]}', 'bad-message'],
    ['list without items', '{"handler":"list","resource":"nodes"}', 'bad-message'],
    ['list with items that are not objects', '{"handler":"list","resource":"nodes","items":[1]}', 'bad-message'],
    ['list with params that are not an object', '{"handler":"list","resource":"nodes","items":[],"params":[]}', 'bad-message'],
    ['list with params outside the allowlist', '{"handler":"list","resource":"nodes","items":[],"params":{"$where":"1"}}', 'bad-params'],
    ['item without id', '{"handler":"item","resource":"nodes","data":{}}', 'bad-message'],
    ['item without data', '{"handler":"item","resource":"nodes","id":"n1"}', 'bad-message'],
    ['item with data that is an array', '{"handler":"item","resource":"nodes","id":"n1","data":[]}', 'bad-message'],
    ['item without resource', '{"handler":"item","id":"n1","data":{}}', 'bad-message'],
    ['remove with neither id nor params', '{"handler":"remove","resource":"nodes"}', 'bad-message'],
    ['remove with params outside the allowlist', '{"handler":"remove","resource":"nodes","params":{"a":{"$regex":"."}}}', 'bad-params'],
    ['remove with a boolean id', '{"handler":"remove","resource":"nodes","id":true}', 'bad-message'],
    ['error without code', '{"handler":"error","params":{"message":"m"}}', 'bad-message'],
    ['error without params', '{"handler":"error"}', 'bad-message'],
    ['error with a numeric resource', '{"handler":"error","resource":1,"params":{"code":"internal","message":"m"}}', 'bad-message'],
    [
      'error with a request that is not an object',
      '{"handler":"error","params":{"code":"internal","message":"m","request":"watch"}}',
      'bad-message',
    ],
    ['error with a request without handler', '{"handler":"error","params":{"code":"internal","message":"m","request":{}}}', 'bad-message'],
    ['a client handler', '{"handler":"watch","params":{}}', 'unknown-handler'],
  ];
  for (const [what, text, code] of bad) {
    it(`rejects ${what} as ${code}`, () => {
      const refused = rejection(text, 'server');
      expect(refused.code).toBe(code);
      expect(refused.request?.handler).toBe(JSON.parse(text).handler);
    });
  }

  it('an error frame with an error code this client does not know still parses (newer servers)', () => {
    expect(parseMessage('{"handler":"error","params":{"code":"brand-new","message":"m"}}', 'server')).toMatchObject({
      handler: 'error',
    });
  });
});

describe('describeError', () => {
  it('gives the human description of a code', () => {
    expect(describeError('bad-json')).toMatch(/JSON/);
  });
});
