/**
 * The estimate `maxWatchBytes` is spent in: proportional to what a watch says. Then, through the hub, that it stays
 * above what the heap really holds after a full GC, and what that makes of issue 10's finding 3 (memory amplification
 * by `$in`): a watch of the largest allowed size costs at most 4× its frame, and a connection at most its budget.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import { heapAfterGc } from '../../test/support/heap.js';
import { Hub, type HubOptions } from './hub.js';
import { settle, TableBackend, TestSocket } from '../../test/support/hub-doubles.js';
import { estimateWatchBytes, stringBytes, valueBytes } from './watch-bytes.js';

describe('estimateWatchBytes', () => {
  it('grows with each $in value by its string, its slot and its index entry', () => {
    const ids = (n: number) => ({ id: { $in: Array.from({ length: n }, (_, i) => `${i}`.padStart(24, '0')) } });
    const perValue = estimateWatchBytes('k', ids(101), 101) - estimateWatchBytes('k', ids(100), 100);
    expect(perValue).toBe(stringBytes('0'.repeat(24)) + 8 + 56);
    expect(estimateWatchBytes('k', ids(1_000), 1_000)).toBe(estimateWatchBytes('k', ids(0), 0) + 1_000 * perValue);
  });

  it('counts strings with characters past U+00FF at two bytes a character, as V8 stores them', () => {
    expect(stringBytes('a'.repeat(64))).toBe(16 + 64);
    expect(stringBytes('é'.repeat(64))).toBe(16 + 64);
    expect(stringBytes('€'.repeat(64))).toBe(16 + 128);
    expect(stringBytes('x')).toBe(24);
  });

  it('counts small integers in their slot and other numbers boxed; objects by their properties', () => {
    expect(valueBytes([1, 2, 3])).toBe(48 + 3 * 8);
    expect(valueBytes([1.5, 2 ** 40])).toBe(48 + 2 * 8 + 2 * 16);
    expect(valueBytes({ a: null, b: true })).toBe(56 + 2 * 24);
    expect(estimateWatchBytes('{"a":1}', { a: 1 }, 1)).toBeGreaterThan(estimateWatchBytes('{}', {}, 0));
  });
});

describe('finding 3: memory amplification by $in', () => {
  function setup(options: Partial<HubOptions> = {}) {
    const hub = new Hub({ source: new TableBackend(), ...options });
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel: 'nodes' });
    return { hub, socket, conn };
  }
  /** A 24-hex, ObjectId-shaped id: record `n` of watch `w`. */
  const hexId = (w: number, n: number) => w.toString(16).padStart(8, '0') + n.toString(16).padStart(16, '0');
  /** The largest allowed watch: `$in` of `DEFAULTS.maxInValues` distinct node ids (a RackHD UI following a set of nodes). */
  const idsWatch = (w: number) => ({
    handler: 'watch',
    params: { id: { $in: Array.from({ length: DEFAULTS.maxInValues }, (_, v) => hexId(w, v)) } },
  });

  it('ten watches with $in of 100,000 numbers are refused with too-large, and the heap after GC stays where it was', async () => {
    const { hub, socket } = setup();
    await settle();
    const before = await heapAfterGc();
    for (let w = 0; w < 10; w++) {
      const values = Array.from({ length: 100_000 }, (_, v) => w * 100_000 + v);
      socket.deliverRaw(`{"handler":"watch","params":{"id":{"$in":[${values.join(',')}]}}}`);
    }
    await settle();
    // Taken before measuring: each refusal echoes its request (when within the input budget), which this test socket
    // would otherwise keep.
    const codes = socket.errors().map((e) => e.code);
    const grown = (await heapAfterGc()) - before;
    // What the refusals themselves leave behind is noise; 34 MB per watch (before the bound) is not.
    expect(grown, 'heap growth after GC, bytes').toBeLessThan(2 * 1024 * 1024);
    expect(codes).toEqual(Array(10).fill('too-large'));
    expect(hub.stats().watches).toBe(0);
  });

  it('100 watches of the largest allowed $in on one connection: the budget stops them, the heap holds no more than it says', async () => {
    const { hub, socket, conn } = setup();
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
    const { hub, socket } = setup({ maxWatchBytes: Number.MAX_SAFE_INTEGER });
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
