/**
 * Client messages from frame to answer, on a dispatcher with real channel states and snapshot reads but no hub:
 * the replies to init and ping, every refusal with its stable code and the request echoed, routing by resource,
 * authorization, the watch limit, and a handler that throws. Then the limits through the hub: no error path
 * re-throws, the input budget, and what one connection's requests may cost (maxInValues, maxWatchBytes,
 * maxReadsInFlight, maxReadBytes; issue 10, finding 3).
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, CloseCode, DEFAULTS, type Params, type ServerMessage } from '../../protocol/index.js';
import { ChannelRegistry } from './channels.js';
import { ChannelState } from './channel-state.js';
import { Dispatcher, type Authorize } from './dispatch.js';
import { Hub, type HubOptions } from './hub.js';
import { HubConnection, readBytes } from './hub-connection.js';
import type { Logger } from './logger.js';
import { SnapshotReads } from './reads.js';
import { GLOBAL_TIMERS } from './timers.js';
import type { Source } from './source.js';
import { mib, retainedBy } from '../../test/support/heap.js';
import { errorLog, GatedSource, n, settle, TableBackend, TestSocket, ThrowingSocket, tick } from '../../test/support/hub-doubles.js';

/** A dispatcher over the default channels and a table backend holding one node, and a connection to it. */
function dispatcher(options: { authorize?: Authorize; maxWatches?: number; channel?: string } = {}) {
  const registry = new ChannelRegistry();
  const states = new Map(registry.specs.map((spec) => [spec.name, new ChannelState(spec)]));
  const errors: unknown[] = [];
  const logger: Logger = { debug() {}, info() {}, warn() {}, error: (_msg, fields) => void errors.push(fields?.err) };
  const source = new TableBackend({ nodes: [n('a', 'compute')] });
  const reads = new SnapshotReads({
    source,
    maxListItems: 100,
    maxListBytes: DEFAULTS.maxListBytes,
    coalesceWindowMs: 0,
    timers: GLOBAL_TIMERS,
    logger,
  });
  const d = new Dispatcher({
    registry,
    states,
    reads,
    authorize: options.authorize,
    features: ['ping'],
    maxWatches: options.maxWatches ?? 100,
    maxWatchBytes: DEFAULTS.maxWatchBytes,
    maxReadsInFlight: DEFAULTS.maxReadsInFlight,
    maxReadBytes: DEFAULTS.maxReadBytes,
    limits: { budget: DEFAULTS.inputBudget },
    logger,
  });
  const socket = new TestSocket();
  const conn = new HubConnection('s1', options.channel ?? 'nodes', socket, 'principal', undefined, {
    receive: (c, data, isBinary) => d.receive(c, data, isBinary),
    closed: () => undefined,
    abandoned: (_c, what, err) => void errors.push(`${what}: ${(err as Error).message}`),
  });
  const send = (message: object) => conn.receive(JSON.stringify(message), false);
  return { states, socket, conn, send, errors };
}

const codes = (frames: ServerMessage[]) => frames.map((f) => (f.handler === 'error' ? f.params.code : f.handler));

describe('answered at once', () => {
  it('init: the session id and the features', () => {
    const { socket, send } = dispatcher();
    send({ handler: 'init' });
    expect(socket.take()).toEqual([{ handler: 'session', id: 's1', features: ['ping'] }]);
  });

  it('ping: pong', () => {
    const { socket, send } = dispatcher();
    send({ handler: 'ping' });
    expect(socket.take()).toEqual([{ handler: 'pong' }]);
  });

  it('listeners see every valid message before it is answered, and every refused frame as an error', () => {
    const { conn, send } = dispatcher();
    const seen: string[] = [];
    conn.on('message', (m) => seen.push(m.handler));
    conn.on('error', (e) => seen.push(`error:${(e as { code?: string }).code}`));
    send({ handler: 'init' });
    conn.receive('{', false);
    expect(seen).toEqual(['init', 'error:bad-json']);
  });
});

describe('refusals: an error with a stable code, and the connection stays open', () => {
  it('bad JSON, a binary frame, an unknown handler, bad params', () => {
    const { socket, conn, send } = dispatcher();
    conn.receive('{"handler":', false);
    conn.receive('{"handler":"init"}', true);
    send({ handler: 'subscribe', params: {} });
    send({ handler: 'watch', params: { $where: '1' } });
    const frames = socket.take();
    expect(codes(frames)).toEqual(['bad-json', 'bad-message', 'unknown-handler', 'bad-params']);
    // The connection's channel is the resource of a refusal, and what parsed is echoed.
    expect(frames.map((f) => f.handler === 'error' && [f.resource, f.params.request])).toEqual([
      ['nodes', undefined],
      ['nodes', undefined],
      ['nodes', { handler: 'subscribe', params: {} }],
      ['nodes', { handler: 'watch', params: { $where: '1' } }],
    ]);
    send({ handler: 'init' });
    expect(codes(socket.take())).toEqual(['session']);
  });

  it('an unknown channel names the channels there are', () => {
    const { socket, send } = dispatcher({ channel: 'nope' });
    send({ handler: 'all' });
    const [frame] = socket.take();
    expect(frame).toMatchObject({ handler: 'error', resource: 'nope', params: { code: 'unknown-channel', request: { handler: 'all' } } });
    expect(frame!.handler === 'error' && frame!.params.message).toContain('nodes, catalogs');
  });

  it('a connection to no channel gets no resource on a refusal', () => {
    const { socket, send } = dispatcher({ channel: '' });
    send({ handler: 'all' });
    expect(socket.take()).toEqual([
      {
        handler: 'error',
        params: { code: 'unknown-channel', message: expect.stringContaining('unknown channel ""'), request: { handler: 'all' } },
      },
    ]);
  });

  it('a handler that throws is logged and answered internal, and the next message is answered', () => {
    const { socket, send, errors } = dispatcher({
      authorize: () => {
        throw new Error('policy bug');
      },
    });
    send({ handler: 'query', params: { type: 'x' } });
    expect(socket.take()).toEqual([
      {
        handler: 'error',
        params: {
          code: 'internal',
          message: 'the server failed to answer this message',
          request: { handler: 'query', params: { type: 'x' } },
        },
      },
    ]);
    expect(errors).toEqual([new Error('policy bug')]);
    send({ handler: 'ping' });
    expect(codes(socket.take())).toEqual(['pong']);
  });

  it('frames after the connection closed are ignored', () => {
    const { socket, conn, send } = dispatcher();
    conn.closed = true;
    send({ handler: 'init' });
    expect(socket.frames).toEqual([]);
  });
});

describe('routing, authorization, watches', () => {
  it('a message may address another channel by name or alias; answers carry the name it used', async () => {
    const { socket, send } = dispatcher();
    send({ handler: 'all', resource: 'graphObjs' });
    send({ handler: 'get', params: { id: 'a' } });
    await tick();
    expect(socket.take()).toEqual([
      { handler: 'list', resource: 'graphObjs', params: {}, items: [] },
      { handler: 'item', resource: 'nodes', id: 'a', data: n('a', 'compute') },
    ]);
  });

  it('authorize sees the principal, the canonical channel, the handler and the params (all: {})', () => {
    const calls: Array<[unknown, string, string, Params]> = [];
    const { socket, send } = dispatcher({
      authorize: (...args) => {
        calls.push(args);
        return false;
      },
    });
    send({ handler: 'all', resource: 'graphObjs' });
    send({ handler: 'watch', params: { type: 'x' } });
    expect(calls).toEqual([
      ['principal', 'workflows', 'all', {}],
      ['principal', 'nodes', 'watch', { type: 'x' }],
    ]);
    expect(socket.take().map((f) => f.handler === 'error' && [f.resource, f.params.code])).toEqual([
      ['graphObjs', 'forbidden'],
      ['nodes', 'forbidden'],
    ]);
  });

  it('watch adds a watch once per params; stop removes it, and stopping what is not watched is a no-op', async () => {
    const { states, conn, socket, send } = dispatcher();
    send({ handler: 'watch', params: { type: 'compute' } });
    send({ handler: 'watch', params: { type: 'compute' } });
    await tick();
    expect([conn.watchCount, states.get('nodes')!.subs.size, codes(socket.take())]).toEqual([1, 1, ['list', 'list']]);
    send({ handler: 'stop', params: { type: 'other' } });
    send({ handler: 'stop', params: { type: 'compute' } });
    send({ handler: 'stop', params: { type: 'compute' } });
    expect([conn.watchCount, states.get('nodes')!.subs.size, socket.take()]).toEqual([0, 0, []]);
  });

  it('maxWatches counts watches on every channel of the connection', async () => {
    const { socket, send } = dispatcher({ maxWatches: 2 });
    send({ handler: 'watch', params: {} });
    send({ handler: 'watch', params: {}, resource: 'skus' });
    send({ handler: 'watch', params: {}, resource: 'pollers' });
    await tick();
    expect(codes(socket.take())).toEqual(['too-many-watches', 'list', 'list']);
  });
});

describe('through the hub', () => {
  it('limits watches per connection with too-many-watches', async () => {
    const backend = new TableBackend();
    const hub = new Hub({ source: backend, feed: backend, maxWatches: 2 });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    for (const t of ['a', 'b', 'c']) socket.deliver({ handler: 'watch', params: { type: t } });
    socket.deliver({ handler: 'watch', params: { type: 'a' } }); // re-watching an active watch is not a new one
    await tick();
    const frames = socket.take();
    expect(frames.filter((f) => f.handler === 'list')).toHaveLength(3);
    expect(frames.filter((f) => f.handler === 'error')).toEqual([
      expect.objectContaining({
        params: expect.objectContaining({ code: 'too-many-watches', request: { handler: 'watch', params: { type: 'c' } } }),
      }),
    ]);
  });

  it('authorize refusals are forbidden errors', async () => {
    const backend = new TableBackend();
    const hub = new Hub({ source: backend, feed: backend, authorize: (_p, channel) => channel !== 'catalogs' });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'catalogs' });
    socket.deliver({ handler: 'all' });
    socket.deliver({ handler: 'all', resource: 'nodes' });
    await tick();
    expect(socket.take().map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual(['forbidden', 'list']);
  });
});

describe('no error path re-throws', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  function hubWith(options: Partial<ConstructorParameters<typeof Hub>[0]> = {}) {
    const backend = new TableBackend({ nodes: [n('a', 'compute')] });
    const logger = errorLog();
    const hub = new Hub({ source: backend, feed: backend, logger, ...options });
    const open = (socket = new TestSocket(), channel = 'nodes') => {
      hub.accept(socket, { channel });
      return socket;
    };
    /** Another connection is still served: a query answered with the seeded record. */
    const othersServed = async () => {
      const other = open();
      other.deliver({ handler: 'query', params: { type: 'compute' } });
      await tick();
      expect(other.take()).toMatchObject([{ handler: 'list', items: [{ id: 'a' }] }]);
    };
    return { hub, logger, open, othersServed };
  }

  it('a socket whose send throws: the error reply that cannot be sent either closes that connection with 1011, logged', async () => {
    const { logger, open, othersServed } = hubWith();
    for (const frame of ['{"handler":"init"}', 'not json', '{"handler":"explode"}']) {
      const socket = open(new ThrowingSocket());
      expect(() => socket.deliverRaw(frame)).not.toThrow();
      expect(socket.closedWith).toBe(CloseCode.InternalError);
    }
    expect(logger.errors).toEqual([
      'handler failed',
      'an error reply (internal) could not be sent, closing the connection',
      'an error reply (bad-json) could not be sent, closing the connection',
      'an error reply (unknown-handler) could not be sent, closing the connection',
    ]);
    await othersServed();
  });

  it('an authorize that throws is an internal error; the connection stays open and answers the next request', async () => {
    const authorize = (_principal: unknown, _channel: string, handler: string): boolean => {
      if (handler === 'watch') throw new Error('authorize bug');
      return true;
    };
    const { open } = hubWith({ authorize });
    const socket = open();
    socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    socket.deliver({ handler: 'query', params: { type: 'compute' } });
    await tick();
    expect(socket.take()).toMatchObject([
      { handler: 'error', params: { code: 'internal', request: { handler: 'watch', params: { type: 'compute' } } } },
      { handler: 'list', items: [{ id: 'a' }] },
    ]);
    expect(socket.closedWith).toBeUndefined();
  });

  it('a source that throws synchronously is an internal error for that read; other channels are served', async () => {
    const backend = new TableBackend({ nodes: [n('a', 'compute')] });
    const source: Source = {
      read: (channel, params, limit) => {
        if (channel === 'skus') throw new Error('sync bug');
        return backend.read(channel, params, limit);
      },
      get: (channel, params) => backend.get(channel, params),
    };
    const { open } = hubWith({ source });
    const socket = open();
    socket.deliver({ handler: 'all', resource: 'skus' });
    socket.deliver({ handler: 'all' });
    await tick();
    expect(socket.take()).toMatchObject([
      { handler: 'error', resource: 'skus', params: { code: 'internal' } },
      { handler: 'list', resource: 'nodes', items: [{ id: 'a' }] },
    ]);
  });

  // Finding 1 of issue 10 with the budget switched off: the echo of the unknown-channel error cannot be serialised.
  it('a reply that cannot be serialised (the budget off, params 100,000 deep) closes that connection with 1011, logged', async () => {
    const unbounded = { maxDepth: Infinity, maxNodes: Infinity, maxStringLength: Infinity, maxKeyLength: Infinity };
    const { open, logger, othersServed } = hubWith({ inputBudget: unbounded });
    const socket = open();
    socket.deliverRaw(`{"handler":"all","resource":"nope","params":${nested(100_000)}}`);
    expect(socket.closedWith).toBe(CloseCode.InternalError);
    expect(logger.errors).toEqual(['an error reply (unknown-channel) could not be sent, closing the connection']);
    await othersServed();
  });

  it('without a hub: whatever escapes answering a frame abandons the connection through its host', () => {
    const { conn, socket, errors } = dispatcher();
    socket.send = () => {
      throw new Error('send broke');
    };
    // The session reply throws, the internal error reply throws too: the host hears of it once, the socket is closed.
    conn.receive('{"handler":"init"}', false);
    expect(errors).toEqual([new Error('send broke'), 'an error reply (internal) could not be sent: send broke']);
    expect(socket.closedWith).toBe(CloseCode.InternalError);
  });
});

describe('input budget', () => {
  it('refuses a frame over the default budget with too-large before the handler runs, and keeps the connection', async () => {
    const backend = new TableBackend({ nodes: [n('a', 'compute')] });
    const hub = new Hub({ source: backend, feed: backend });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nope' });
    socket.deliverRaw(`{"handler":"all","params":${'['.repeat(5_000)}${']'.repeat(5_000)}}`);
    socket.deliver({ handler: 'all', resource: 'nodes' });
    await tick();
    expect(socket.take()).toMatchObject([
      { handler: 'error', resource: 'nope', params: { code: 'too-large', request: { handler: 'all' } } },
      { handler: 'list', items: [{ id: 'a' }] },
    ]);
  });

  it('takes a partial budget: the fields given replace the defaults, the others stay', async () => {
    const backend = new TableBackend({ nodes: [n('a', 'compute')] });
    const hub = new Hub({ source: backend, feed: backend, inputBudget: { maxDepth: 3 } });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    socket.deliver({ handler: 'query', params: { type: { $in: ['compute'] } } }); // level 4: over
    socket.deliver({ handler: 'query', params: { type: 'compute', tags: { $exists: false } } }); // level 3
    socket.deliver({ handler: 'query', params: { id: 'a'.repeat(DEFAULTS.inputBudget.maxStringLength) } });
    socket.deliver({ handler: 'query', params: { id: 'a'.repeat(DEFAULTS.inputBudget.maxStringLength + 1) } });
    await tick();
    expect(codes(socket.take())).toEqual(['too-large', 'too-large', 'list', 'list']);
  });

  it('refuses an invalid budget when it is built', () => {
    expect(() => new Hub({ source: new TableBackend(), inputBudget: { maxNodes: 0 } })).toThrow(/inputBudget\.maxNodes/);
  });
});

/** A hub on `source` (an empty table by default), and `open()` to connect a `TestSocket` on nodes. */
function costHub(options: Partial<HubOptions> = {}, source: Source = new TableBackend()) {
  const hub = new Hub({ source, ...options });
  const open = () => {
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel: 'nodes' });
    return { socket, conn };
  };
  return { hub, open };
}

describe('maxInValues', () => {
  it('refuses a $in or $nin over it with too-large naming the field, the size and the limit; the connection goes on', async () => {
    const { hub, open } = costHub();
    const { socket } = open();
    const over = Array.from({ length: DEFAULTS.maxInValues + 1 }, (_, i) => i);
    socket.deliver({ handler: 'watch', params: { id: { $in: over } } });
    socket.deliver({ handler: 'query', params: { rack: { $nin: over } } });
    socket.deliver({ handler: 'watch', params: { id: { $in: over.slice(1) } } });
    await settle();
    const frames = socket.take();
    expect(codes(frames)).toEqual(['too-large', 'too-large', 'list']);
    const [watch, query] = frames as Array<Extract<ServerMessage, { handler: 'error' }>>;
    expect(watch!.params.message).toBe('"id.$in" has 1,001 values, over maxInValues (1,000); split it across several filters');
    expect(query!.params.message).toMatch(/^"rack\.\$nin" has 1,001 values, over maxInValues/);
    // The request is echoed, so a client knows which watch was refused.
    expect(watch!.params.request).toEqual({ handler: 'watch', params: { id: { $in: over } } });
    expect(hub.stats().watches).toBe(1);
  });

  it('is the hub option', async () => {
    const { open } = costHub({ maxInValues: 2 });
    const { socket } = open();
    socket.deliver({ handler: 'get', params: { id: { $in: ['a', 'b', 'c'] } } });
    socket.deliver({ handler: 'query', params: { id: { $in: ['a', 'b'] } } });
    await settle();
    expect(codes(socket.take())).toEqual(['too-large', 'list']);
  });
});

describe('maxWatchBytes', () => {
  const watch = (rack: string) => ({ handler: 'watch', params: { rack } });

  it('refuses a watch that would pass it with too-many-watches, and gives it back on stop and on close', async () => {
    const { hub, open } = costHub();
    open().socket.deliver(watch('r0'));
    await settle();
    const one = hub.stats().watchBytes;
    const { hub: small, open: openSmall } = costHub({ maxWatchBytes: 2 * one });
    const { socket, conn } = openSmall();
    for (const rack of ['r1', 'r2', 'r3']) socket.deliver(watch(rack));
    await settle();
    // The refusal goes at once, the lists once their reads are done.
    expect(socket.take().map((f) => (f.handler === 'error' ? [f.params.code, f.params.request] : f.handler))).toEqual([
      ['too-many-watches', watch('r3')],
      'list',
      'list',
    ]);
    expect(conn.watchBytes).toBe(2 * one);
    socket.deliver({ handler: 'stop', params: { rack: 'r1' } });
    socket.deliver(watch('r3'));
    await settle();
    expect(socket.errors()).toEqual([]);
    expect(small.stats()).toMatchObject({ watches: 2, watchBytes: 2 * one });
    conn.close(1000);
    expect(small.stats()).toMatchObject({ connections: 0, watches: 0, watchBytes: 0 });
    expect(small.channelState('nodes')!.subs.size).toBe(0);
  });

  it('charges a filter shared with other connections in full to each: one budget never depends on another connection', async () => {
    const { hub, open } = costHub();
    open().socket.deliver(watch('r0'));
    await settle();
    const one = hub.stats().watchBytes;
    const { hub: small, open: openSmall } = costHub({ maxWatchBytes: one });
    const a = openSmall();
    const b = openSmall();
    // Names as long as the probe's: every watch here costs `one`.
    a.socket.deliver(watch('r1'));
    b.socket.deliver(watch('r1'));
    b.socket.deliver(watch('r2'));
    await settle();
    expect(a.socket.errors()).toEqual([]);
    expect(b.socket.errors().map((e) => e.code)).toEqual(['too-many-watches']);
    expect([a.conn.watchBytes, b.conn.watchBytes]).toEqual([one, one]);
    // a leaving changes nothing for b: it still holds what it was charged, and may hold no more.
    a.conn.close(1000);
    b.socket.deliver(watch('r2'));
    await settle();
    expect(b.socket.errors().map((e) => e.code)).toEqual(['too-many-watches']);
    expect(small.stats()).toMatchObject({ watches: 1, watchBytes: one });
  });
});

describe('maxReadsInFlight', () => {
  it('refuses a request that would start one more read with too-many-reads; joining a read in flight is never refused', async () => {
    const source = new GatedSource();
    const { hub, open } = costHub({ maxReadsInFlight: 2 }, source);
    const { socket, conn } = open();
    socket.deliver({ handler: 'query', params: { rack: 'r1' } });
    socket.deliver({ handler: 'watch', params: { rack: 'r2' } });
    socket.deliver({ handler: 'get', params: { id: 'n1' } });
    socket.deliver({ handler: 'watch', params: { rack: 'r3' } });
    // Identical to reads in flight: they join them.
    socket.deliver({ handler: 'query', params: { rack: 'r2' } });
    socket.deliver({ handler: 'watch', params: { rack: 'r1' } });
    await settle();
    const errors = socket.errors();
    expect(errors.map((e) => [e.code, e.request])).toEqual([
      ['too-many-reads', { handler: 'get', params: { id: 'n1' } }],
      ['too-many-reads', { handler: 'watch', params: { rack: 'r3' } }],
    ]);
    expect(errors[0]!.message).toMatch(/at most 2 snapshot reads in flight \(maxReadsInFlight\)/);
    // The refused watch was never added (the client drops it too).
    expect(hub.stats().watches).toBe(2);
    expect([source.reads, conn.readsInFlight]).toEqual([2, 2]);
    // Re-sending a watch the connection holds is a re-snapshot, never refused (refusing would end the watch).
    socket.deliver({ handler: 'watch', params: { rack: 'r2' } });
    source.releaseAll();
    await settle();
    expect(socket.take().map((f) => f.handler)).toEqual(['list', 'list', 'list', 'list', 'list']);
    expect(conn.readsInFlight).toBe(0);
    socket.deliver({ handler: 'get', params: { id: 'n1' } });
    await settle();
    expect(source.pending).toHaveLength(1);
  });

  it('a reconnect — init, 100 watches and a full queue of 1,000 distinct queries at once, none answered yet — is not refused', async () => {
    const source = new GatedSource();
    const { hub, open } = costHub({}, source);
    const { socket } = open();
    socket.deliver({ handler: 'init' });
    for (let w = 0; w < DEFAULTS.maxWatches; w++) socket.deliver({ handler: 'watch', params: { rack: `r${w}` } });
    for (let q = 0; q < DEFAULTS.maxQueue; q++) socket.deliver({ handler: 'query', params: { sku: `s${q}` } });
    // A listener's request right after the open, repeating one of them: it joins that read.
    socket.deliver({ handler: 'query', params: { sku: 's0' } });
    await settle();
    expect(socket.errors()).toEqual([]);
    expect(source.reads).toBe(DEFAULTS.maxWatches + DEFAULTS.maxQueue);
    expect(source.reads).toBeLessThanOrEqual(DEFAULTS.maxReadsInFlight);
    source.releaseAll();
    await settle();
    expect(socket.take().filter((f) => f.handler === 'list')).toHaveLength(DEFAULTS.maxWatches + DEFAULTS.maxQueue + 1);
    expect(hub.stats().watches).toBe(DEFAULTS.maxWatches);
  });
});

describe('maxReadBytes', () => {
  /** A query of ~60 KB, different for every `i` and all of one size (~182 KB as `readBytes` estimates it). */
  const big = (i: number): Params => ({ rack: `${i}.`.padEnd(60_000, 'r') });

  it('refuses a distinct read past it with too-many-reads; joins and held watches are not refused; answers give the bytes back', async () => {
    const source = new GatedSource();
    const { open } = costHub({ maxReadBytes: 600_000 }, source);
    const { socket, conn } = open();
    socket.deliver({ handler: 'watch', params: big(0) });
    for (let i = 1; i <= 4; i++) socket.deliver({ handler: 'query', params: big(i) });
    await settle();
    const one = conn.readBytesInFlight / source.reads;
    expect(one).toBeGreaterThan(3 * 60_000);
    // Three fit in 600,000 bytes, a fourth would not.
    expect([source.reads, conn.readsInFlight, conn.readBytesInFlight]).toEqual([3, 3, 3 * one]);
    const errors = socket.errors();
    expect(errors.map((e) => [e.code, e.request])).toEqual([
      ['too-many-reads', { handler: 'query', params: big(3) }],
      ['too-many-reads', { handler: 'query', params: big(4) }],
    ]);
    expect(errors[0]!.message).toBe(
      `this read holds about ${one.toLocaleString('en-US')} bytes and the connection's reads in flight already ` +
        `${(3 * one).toLocaleString('en-US')}: over maxReadBytes (600,000); wait for their answers`,
    );
    // Identical to a read in flight: it joins it, starts nothing and holds no result of its own.
    socket.deliver({ handler: 'query', params: big(1) });
    await settle();
    expect([socket.errors(), source.reads]).toEqual([[], 3]);
    // The watch's read answers: its bytes come back, and a new read fits again.
    source.pending.shift()!.resolve();
    await settle();
    expect(conn.readBytesInFlight).toBe(2 * one);
    socket.deliver({ handler: 'query', params: big(5) });
    // Re-sending the watch it holds re-snapshots it even past the budget (refusing would end the watch).
    socket.deliver({ handler: 'watch', params: big(0) });
    socket.deliver({ handler: 'query', params: big(6) });
    await settle();
    expect(socket.take().map((f) => (f.handler === 'error' ? [f.params.code, f.params.request?.params] : f.handler))).toEqual([
      'list',
      ['too-many-reads', big(6)],
    ]);
    expect([source.reads, conn.readBytesInFlight]).toEqual([5, 4 * one]);
    // A read that fails and a read whose connection closed give their bytes back too.
    const other = open();
    other.socket.deliver({ handler: 'query', params: big(7) });
    await settle();
    other.socket.close(1000);
    source.fail = new Error('the source went away');
    socket.deliver({ handler: 'watch', params: big(0) });
    source.releaseAll();
    await settle();
    expect([conn.readsInFlight, conn.readBytesInFlight, other.conn.readsInFlight, other.conn.readBytesInFlight]).toEqual([0, 0, 0, 0]);
  });

  it('a reconnect whose watches fill maxWatchBytes (40 watches of 1,000 ids) and a full queue of 1,000 queries is not refused', async () => {
    const source = new GatedSource();
    const { hub, open } = costHub({}, source);
    const { socket, conn } = open();
    const ids = (w: number) => Array.from({ length: DEFAULTS.maxInValues }, (_, j) => `${w}`.padStart(8, '0') + `${j}`.padStart(16, '0'));
    for (let w = 0; w < 40; w++) socket.deliver({ handler: 'watch', params: { id: { $in: ids(w) } } });
    for (let q = 0; q < DEFAULTS.maxQueue; q++) socket.deliver({ handler: 'query', params: { sku: `s${q}` } });
    await settle();
    expect(socket.errors()).toEqual([]);
    expect(hub.stats().watches).toBe(40);
    expect(source.reads).toBe(40 + DEFAULTS.maxQueue);
    expect(conn.readBytesInFlight).toBeLessThanOrEqual(DEFAULTS.maxReadBytes);
  });

  /** Distinct queries of one shape, each within the input budget and `maxInValues`. */
  const shapes: Record<string, (i: number) => Params> = {
    'long strings (15 × 65,000 characters)': (i) =>
      Object.fromEntries(Array.from({ length: 15 }, (_, f) => [`f${f}`, `${i}.${f}.`.padEnd(65_000, 's')])),
    '$in of 48-character strings (19 × 1,000)': (i) =>
      Object.fromEntries(
        Array.from({ length: 19 }, (_, f) => [
          `f${f}`,
          { $in: Array.from({ length: 1_000 }, (_, j) => `${i}.${f}.${j}.`.padEnd(48, 'v')) },
        ]),
      ),
    '$in of one-digit numbers (19 × 1,000)': (i) => ({
      id: `q${i}`,
      ...Object.fromEntries(Array.from({ length: 19 }, (_, f) => [`f${f}`, { $in: Array.from({ length: 1_000 }, (_, j) => j % 10) }])),
    }),
    '9,000 short keys': (i) => Object.fromEntries(Array.from({ length: 9_000 }, (_, f) => [`k${i}.${f}`, f % 10])),
    '900 keys of 1,000 characters': (i) => Object.fromEntries(Array.from({ length: 900 }, (_, f) => [`${i}.${f}.`.padEnd(1_000, 'k'), 1])),
    'a tiny one ({"rack":"r1"})': (i) => ({ rack: `r${i}` }),
  };
  /** What a measurement moves by itself. */
  const noise = 1024 * 1024;

  /** Starts `count` distinct reads of `shape` on one connection of a hub whose source never answers; kept alive in `kept`. */
  function stall(kept: unknown[], count: number, shape: (i: number) => Params, options: Partial<HubOptions> = {}) {
    const source = new GatedSource();
    const { hub } = costHub(options, source);
    // A socket that keeps no frames: refusals echo their requests, and those are the client's, not the hub's.
    const socket = new (class extends TestSocket {
      refused = 0;
      override send(): void {
        this.refused++;
      }
    })();
    const conn = hub.accept(socket, { channel: 'nodes' });
    let estimate = 0;
    for (let i = 0; i < count; i++) {
      const params = shape(i);
      estimate += readBytes(`nodes\0list\0${canonicalJson(params)}`, params);
      socket.deliver({ handler: 'query', params });
    }
    kept.push(hub, source);
    return { conn, socket, source, estimate };
  }

  // The method behind `readBytes`: the heap a stalled read holds after a full GC, against the estimate.
  for (const [name, shape] of Object.entries(shapes)) {
    it(`estimates at or above what a stalled read holds: ${name}`, async () => {
      const kept: unknown[] = [];
      const count = name.startsWith('a tiny') ? 1_000 : 30;
      let estimate = 0;
      const held = await retainedBy(async () => {
        ({ estimate } = stall(kept, count, shape, { maxReadBytes: Number.MAX_SAFE_INTEGER }));
        await settle();
      });
      expect(held, `${count} reads hold ${mib(held)}, estimated ${mib(estimate)}`).toBeLessThanOrEqual(estimate);
      expect(kept).toHaveLength(2);
    });
  }

  it(`a connection whose source never answers holds at most maxReadBytes (+${mib(noise)}): 40 distinct ~1 MB queries`, async () => {
    const kept: unknown[] = [];
    let accepted = 0;
    let refused = 0;
    const held = await retainedBy(async () => {
      const { conn, socket, source } = stall(kept, 40, shapes['$in of 48-character strings (19 × 1,000)']!);
      await settle();
      [accepted, refused] = [source.reads, socket.refused];
      expect(conn.readBytesInFlight).toBeLessThanOrEqual(DEFAULTS.maxReadBytes);
    });
    // Before the bound: all 40 started, ~2.3 MB each (~89 MiB).
    expect([accepted + refused, accepted]).toEqual([40, expect.any(Number)]);
    expect(accepted).toBeLessThan(10);
    expect(held, `${accepted} reads in flight hold ${mib(held)}`).toBeLessThanOrEqual(DEFAULTS.maxReadBytes + noise);
  });

  it(`identical ~1 MB queries joining one stalled read hold the read's params, not a copy each: 40 joins within one read (+${mib(noise)})`, async () => {
    const kept: unknown[] = [];
    const shape = shapes['$in of 48-character strings (19 × 1,000)']!;
    const one = readBytes(`nodes\0list\0${canonicalJson(shape(0))}`, shape(0));
    const held = await retainedBy(async () => {
      // The same params 40 times: one read starts, 39 requests join it (a fresh parse of the frame each time).
      const { source } = stall(kept, 40, () => shape(0));
      await settle();
      expect(source.reads).toBe(1);
    });
    // Before the joiners shared the read's params: ~1.35 MB a join, 54,029,072 bytes for these 40.
    expect(held, `40 identical reads hold ${mib(held)} (one read: ${mib(one)})`).toBeLessThanOrEqual(one + noise);
  });
});
