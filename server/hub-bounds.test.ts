/**
 * The hub's bounds on what one connection's requests cost (issue 10, "cost of a watch proportional to what it
 * says, and capped"): `$in`/`$nin` sizes, the bytes a connection's watches hold, snapshot reads in flight, and the
 * bytes of one `list`. Kept apart from `hub.test.ts` (the engine's behaviour) because these tests measure the heap
 * after a full GC, which wants a process of its own.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, matches, type Doc, type Params, type ServerMessage } from '../protocol/index.js';
import { Hub, type HubOptions } from './hub.js';
import type { HubSocket } from './hub-connection.js';
import { MemoryBackend } from './memory.js';
import type { Source } from './source.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Heap in use after a full GC, run from a fresh macrotask (large objects the current one touched last are only
 * released once it has ended), twice (the first may leave finalised objects for the second).
 */
async function heapAfterGc(): Promise<number> {
  await new Promise((r) => setImmediate(r));
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

type ErrorParams = Extract<ServerMessage, { handler: 'error' }>['params'];

class TestSocket implements HubSocket {
  readonly frames: ServerMessage[] = [];
  private onMsg: (data: string, isBinary: boolean) => void = () => {};
  private onEnd: (code: number, reason: string) => void = () => {};
  send(data: string): void {
    this.frames.push(JSON.parse(data) as ServerMessage);
  }
  close(code: number): void {
    this.onEnd(code, '');
  }
  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.onMsg = handler;
  }
  onClose(handler: (code: number, reason: string) => void): void {
    this.onEnd = handler;
  }
  deliver(message: object | string): void {
    this.onMsg(typeof message === 'string' ? message : JSON.stringify(message), false);
  }
  take(): ServerMessage[] {
    return this.frames.splice(0);
  }
  /** The `error` frames' params since the last `take`, and forgets every frame. */
  errors(): ErrorParams[] {
    return this.take().flatMap((f) => (f.handler === 'error' ? [f.params] : []));
  }
}

/** A source whose reads stay pending until the test releases them. */
class GatedSource implements Source {
  readonly rows: Doc[] = [];
  readonly pending: Array<() => void> = [];
  reads = 0;
  read(_channel: string, params: Params): Promise<Doc[]> {
    this.reads++;
    const snapshot = this.rows.filter((d) => matches(d, params));
    return new Promise((resolve) => this.pending.push(() => resolve(snapshot)));
  }
  async get(channel: string, params: Params): Promise<Doc | undefined> {
    return (await this.read(channel, params))[0];
  }
  releaseAll(): void {
    for (const resolve of this.pending.splice(0)) resolve();
  }
}

const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

function setup(options: Partial<HubOptions> = {}, source: Source = new MemoryBackend({ seed: {} })) {
  const hub = new Hub({ source, ...options });
  const open = () => {
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel: 'nodes' });
    return { socket, conn };
  };
  return { hub, open };
}

/** A 24-hex, ObjectId-shaped id: record `n` of watch `w`. */
const hexId = (w: number, n: number) => w.toString(16).padStart(8, '0') + n.toString(16).padStart(16, '0');
/** The largest allowed watch: `$in` of `DEFAULTS.maxInValues` distinct node ids (a RackHD UI following a set of nodes). */
const idsWatch = (w: number) => ({
  handler: 'watch',
  params: { id: { $in: Array.from({ length: DEFAULTS.maxInValues }, (_, v) => hexId(w, v)) } },
});

describe('finding 3: memory amplification by $in', () => {
  it('ten watches with $in of 100,000 numbers are refused with too-large, and the heap after GC stays where it was', async () => {
    const { hub, open } = setup();
    const { socket } = open();
    await settle();
    const before = await heapAfterGc();
    for (let w = 0; w < 10; w++) {
      const values = Array.from({ length: 100_000 }, (_, v) => w * 100_000 + v);
      socket.deliver(`{"handler":"watch","params":{"id":{"$in":[${values.join(',')}]}}}`);
    }
    await settle();
    // Taken before measuring: each refusal echoes its request, which this test socket would otherwise keep.
    const codes = socket.errors().map((e) => e.code);
    const grown = (await heapAfterGc()) - before;
    // What the refusals themselves leave behind is noise; 34 MB per watch (before the bound) is not.
    expect(grown, 'heap growth after GC, bytes').toBeLessThan(2 * 1024 * 1024);
    expect(codes).toEqual(Array(10).fill('too-large'));
    expect(hub.stats().watches).toBe(0);
  });

  it('100 watches of the largest allowed $in on one connection: the budget stops them, the heap holds no more than it says', async () => {
    const { hub, open } = setup();
    const { socket, conn } = open();
    await settle();
    const before = await heapAfterGc();
    for (let w = 0; w < DEFAULTS.maxWatches; w++) socket.deliver(idsWatch(w));
    await settle();
    // Without the echoed requests, which this test socket would otherwise keep.
    const errors = socket.errors().map(({ code, message }) => ({ code, message }));
    const grown = (await heapAfterGc()) - before;
    const { watches, watchBytes } = hub.stats();
    // Bytes, not milliseconds: the index and the filters hold what the budget lets in, and that is what a GC keeps.
    expect(watchBytes).toBeLessThanOrEqual(DEFAULTS.maxWatchBytes);
    expect(conn.watchBytes).toBe(watchBytes);
    // The estimate is an upper bound of what the watches hold; the slack is the code V8 compiles on first use.
    expect(grown, 'heap growth after GC, bytes').toBeLessThanOrEqual(watchBytes + 256 * 1024);
    expect(watches).toBeGreaterThan(30);
    expect(errors).toHaveLength(DEFAULTS.maxWatches - watches);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['too-many-watches']));
    expect(errors[0]!.message).toMatch(/over maxWatchBytes \(4,194,304\)/);
  });

  it(`one watch of ${DEFAULTS.maxInValues} distinct 24-hex ids costs at most 4× its frame, and no more than the budget charges`, async () => {
    const watches = 100;
    const { hub, open } = setup({ maxWatchBytes: Number.MAX_SAFE_INTEGER });
    const { socket } = open();
    const frameBytes = JSON.stringify(idsWatch(0)).length;
    await settle();
    const before = await heapAfterGc();
    for (let w = 0; w < watches; w++) socket.deliver(idsWatch(w));
    await settle();
    socket.take();
    const perWatch = ((await heapAfterGc()) - before) / watches;
    expect(hub.stats().watches).toBe(watches);
    expect(perWatch).toBeLessThanOrEqual(4 * frameBytes);
    expect(perWatch).toBeLessThanOrEqual(hub.stats().watchBytes / watches);
  });
});

describe('maxInValues', () => {
  it('refuses a $in or $nin over it with too-large naming the field, the size and the limit; the connection goes on', async () => {
    const { hub, open } = setup();
    const { socket } = open();
    const over = Array.from({ length: DEFAULTS.maxInValues + 1 }, (_, i) => i);
    socket.deliver({ handler: 'watch', params: { id: { $in: over } } });
    socket.deliver({ handler: 'query', params: { rack: { $nin: over } } });
    socket.deliver({ handler: 'watch', params: { id: { $in: over.slice(1) } } });
    await settle();
    const frames = socket.take();
    expect(frames.map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual(['too-large', 'too-large', 'list']);
    const [watch, query] = frames as Array<Extract<ServerMessage, { handler: 'error' }>>;
    expect(watch!.params.message).toBe('"id.$in" has 1,001 values, over maxInValues (1,000); split it across several filters');
    expect(query!.params.message).toMatch(/^"rack\.\$nin" has 1,001 values, over maxInValues/);
    // The request is echoed, so a client knows which watch was refused.
    expect(watch!.params.request).toEqual({ handler: 'watch', params: { id: { $in: over } } });
    expect(hub.stats().watches).toBe(1);
  });

  it('is the hub option', async () => {
    const { open } = setup({ maxInValues: 2 });
    const { socket } = open();
    socket.deliver({ handler: 'get', params: { id: { $in: ['a', 'b', 'c'] } } });
    socket.deliver({ handler: 'query', params: { id: { $in: ['a', 'b'] } } });
    await settle();
    expect(socket.take().map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual(['too-large', 'list']);
  });
});

describe('maxWatchBytes', () => {
  const watch = (rack: string) => ({ handler: 'watch', params: { rack } });

  it('refuses a watch that would pass it with too-many-watches, and gives it back on stop and on close', async () => {
    const { hub, open } = setup();
    const probe = open();
    probe.socket.deliver(watch('r0'));
    await settle();
    const one = hub.stats().watchBytes;
    const { hub: small, open: openSmall } = setup({ maxWatchBytes: 2 * one });
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
    const { hub, open } = setup();
    const probe = open();
    probe.socket.deliver(watch('r0'));
    await settle();
    const one = hub.stats().watchBytes;
    const { hub: small, open: openSmall } = setup({ maxWatchBytes: one });
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
    const { hub, open } = setup({ maxReadsInFlight: 2 }, source);
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
    const { hub, open } = setup({}, source);
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

describe('maxListBytes', () => {
  const record = (id: string) => ({ id, type: 'compute', pad: 'x'.repeat(100) });

  it('refuses a snapshot over it with too-large, never a cut list; a refused watch ends on the server as on the client', async () => {
    const backend = new MemoryBackend({ seed: { nodes: [record('a'), record('b')] } });
    const one = JSON.stringify([record('a')]).length;
    const hub = new Hub({ source: backend, feed: backend, maxListBytes: one + 10 });
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel: 'nodes' });
    socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    socket.deliver({ handler: 'query', params: { type: 'compute' } });
    socket.deliver({ handler: 'watch', params: { id: 'a' } });
    await settle();
    const frames = socket.take();
    expect(frames.map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual(['too-large', 'too-large', 'list']);
    const refused = frames[0] as Extract<ServerMessage, { handler: 'error' }>;
    expect(refused.params.message).toMatch(/over maxListBytes \(\d+ characters of JSON\) on "nodes"; watch a narrower filter/);
    expect(refused.params.request).toEqual({ handler: 'watch', params: { type: 'compute' } });
    expect([hub.stats().watches, conn.watchCount]).toEqual([1, 1]);
    // Only the watch that fits still follows changes: b's update reaches nobody.
    backend.upsert('nodes', { ...record('b'), rack: 'r1' });
    backend.upsert('nodes', { ...record('a'), rack: 'r1' });
    expect(socket.take().map((f) => f.handler === 'item' && f.id)).toEqual(['a']);
  });

  it('a list that cannot be serialised at all (past the longest string) is refused the same way, without a crash', async () => {
    const huge = { id: 'h', toJSON: () => { throw new RangeError('Invalid string length'); } } as unknown as Doc;
    const source: Source = { read: () => [huge], get: () => undefined };
    const { open } = setup({}, source);
    const { socket } = open();
    socket.deliver({ handler: 'all' });
    socket.deliver({ handler: 'init' });
    await settle();
    expect(socket.take().map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual(['session', 'too-large']);
  });
});
