/**
 * The memory of recent reads behind the coalescing window: alone (what a new read waits for, the sweep, the bounds
 * in entries and length), then through the hub, where its keys are what clients send (issue 10: bounded caches),
 * measured as the heap after a full GC.
 */
import { describe, expect, it } from 'vitest';
import type { Params } from '../../protocol/index.js';
import { mib, retainedBy } from '../../test/support/heap.js';
import { Hub } from './hub.js';
import { RECENT_READS, RecentReads } from './recent-reads.js';
import { manualClock, TableBackend, TestSocket, tick } from '../../test/support/hub-doubles.js';

describe('alone', () => {
  it('a read noted makes an identical one wait for the rest of the window; the sweep forgets it two windows later', () => {
    const clock = manualClock();
    const recent = new RecentReads(50, clock.timers);
    expect(recent.waitFor('k')).toBe(0);
    recent.note('k');
    clock.advance(20);
    expect([recent.waitFor('k'), recent.waitFor('other'), recent.size]).toEqual([30, 0, 1]);
    clock.advance(80);
    expect([recent.waitFor('k') <= 0, recent.size]).toEqual([true, 0]);
  });

  it('keeps no key over maxKeyLength, and forgets the oldest start first past maxEntries', () => {
    const clock = manualClock();
    const recent = new RecentReads(50, clock.timers);
    recent.note('x'.repeat(RECENT_READS.maxKeyLength + 1));
    expect(recent.size).toBe(0);
    for (let i = 0; i <= RECENT_READS.maxEntries; i++) recent.note(`k${i}`);
    expect([recent.size, recent.waitFor('k0'), recent.waitFor('k1')]).toEqual([RECENT_READS.maxEntries, 0, 50]);
    // Noted again, a key moves to the end: it is the newest, not the next to go.
    recent.note('k1');
    recent.note('one more');
    expect([recent.waitFor('k1'), recent.waitFor('k2')]).toEqual([50, 0]);
  });

  it('forgets the oldest starts first past maxTotalLength', () => {
    const clock = manualClock();
    const recent = new RecentReads(50, clock.timers);
    const long = (i: number) => `${i}.`.padEnd(RECENT_READS.maxKeyLength, 'k');
    const fit = RECENT_READS.maxTotalLength / RECENT_READS.maxKeyLength;
    for (let i = 0; i <= fit; i++) recent.note(long(i));
    expect([recent.size, recent.waitFor(long(0)), recent.waitFor(long(fit))]).toEqual([fit, 0, 50]);
  });
});

describe('through the hub, a bounded memory of what clients sent (issue 10: bounded caches)', () => {
  const kept: unknown[] = [];
  /**
   * Sends `count` queries with distinct params `params(i)` to a hub whose coalescing window never ends (its clock
   * stands still, so nothing noted is ever forgotten by time), on a source that answers at once; replies are counted
   * and dropped. Resolves with the number of replies.
   */
  async function readDistinct(count: number, params: (i: number) => Params, batch = 1, advanceAfterMs = 0): Promise<number> {
    const clock = manualClock();
    const backend = new TableBackend();
    const hub = new Hub({ source: backend, coalesceWindowMs: 50, timers: clock.timers });
    let replies = 0;
    const socket = new (class extends TestSocket {
      override send(): void {
        replies++;
      }
    })();
    hub.accept(socket, { channel: 'nodes' });
    for (let i = 0; i < count; i++) {
      socket.deliver({ handler: 'query', params: params(i) });
      // Answered before the next batch is built, so the frames of only one batch are ever alive at once (and a batch
      // stays under DEFAULTS.maxReadsInFlight).
      if ((i + 1) % batch === 0) await tick();
    }
    await tick();
    expect(hub.stats()).toMatchObject({ sourceReads: count, coalescedReads: 0 });
    clock.advance(advanceAfterMs);
    // The hub is what the test keeps: whatever it still holds is what `retainedBy` measures.
    kept.push(hub, clock);
    return replies;
  }

  /** `$in` params whose canonical JSON is about `length` characters, different for every `i` (all within the input budget). */
  const inParams = (i: number, length: number): Params => {
    const values = Array.from({ length: Math.ceil(length / 1_000) }, (_, j) => `${i}.${j}.`.padEnd(998, 'v'));
    return { id: { $in: values } };
  };

  /** What a measurement moves by itself. */
  const noise = 1024 * 1024;

  it(`keeps nothing of reads whose key is over ${RECENT_READS.maxKeyLength} characters: 100 distinct 900 KB $in lists`, async () => {
    // Before the bounds: every key, held by the map and by the timer that was to forget it (86 MiB here).
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(100, (i) => inParams(i, 900_000))));
    expect(replies).toBe(100);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(noise);
  });

  it('keeps a bounded total length of keys: 300 distinct 60 KB $in lists', async () => {
    // Keys at 2 bytes a code unit at worst.
    const bound = 2 * RECENT_READS.maxTotalLength + noise;
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(300, (i) => inParams(i, 60_000))));
    expect(replies).toBe(300);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });

  it('a read whose key it does not keep is not held back by the window; one it keeps is, until the sweep forgets it', async () => {
    const clock = manualClock();
    const backend = new TableBackend();
    const hub = new Hub({ source: backend, coalesceWindowMs: 50, timers: clock.timers });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    const huge = inParams(0, RECENT_READS.maxKeyLength + 1_000);
    for (const params of [huge, huge, { type: 'a' }, { type: 'a' }]) {
      socket.deliver({ handler: 'query', params });
      await tick();
    }
    // Both huge reads went to the source at once; the second small one waits for the window of the first.
    expect(hub.stats()).toMatchObject({ sourceReads: 3, coalescedReads: 0 });
    clock.advance(50);
    await tick();
    expect(hub.stats().sourceReads).toBe(4);
    expect(socket.take().map((f) => f.handler)).toEqual(['list', 'list', 'list', 'list']);
    // After the window, the next read goes to the source at once.
    clock.advance(100);
    socket.deliver({ handler: 'query', params: { type: 'a' } });
    await tick();
    expect(hub.stats().sourceReads).toBe(5);
  });

  it('forgets every key two windows after its read: 3,000 distinct 1 KB filters', async () => {
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(3_000, (i) => inParams(i, 1_000), 100, 100)));
    expect(replies).toBe(3_000);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(noise);
  });

  it('keeps a bounded number of short keys: 30,000 distinct small filters', async () => {
    // About 320 bytes an entry for a key of 35 characters (measured: Map entry, the key and its string headers).
    const bound = 320 * RECENT_READS.maxEntries + noise;
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(30_000, (i) => ({ name: `node-${i}` }), 200)));
    expect(replies).toBe(30_000);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });
});
