/**
 * Scenario 5, the client store on its own (no socket): applying a large `list`, a million `item` updates, and
 * `getSnapshot()` when nothing changed (same array, no allocation: no GC may run while it is called a million
 * times, and the heap must not grow). Run with --expose-gc.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Store } from '../client/store.js';
import type { Doc } from '../protocol/index.js';
import { hexId, padTo } from './data.js';
import { serveRequests } from './ipc.js';

const gc = (globalThis as { gc?: () => void }).gc;

function record(n: number, version: number, bytes: number): Doc {
  return padTo({ id: hexId(0x5702e, n), name: `node-${n}`, type: n % 2 ? 'compute' : 'switch', version }, bytes);
}

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });

serveRequests({
  run: async (m) => {
    const listSize = m.list as number;
    const updates = m.updates as number;
    const bytes = m.bytes as number;

    // A list of `listSize` records into an empty store under a watch, then the first snapshot a UI reads.
    const items = Array.from({ length: listSize }, (_, n) => record(n, 0, bytes));
    const listRuns: number[] = [];
    for (let run = 0; run < 5; run++) {
      const store = new Store();
      store.addWatch({});
      store.subscribe(() => undefined);
      gc?.();
      const t = performance.now();
      store.applyList({}, items);
      if (store.getSnapshot().length !== listSize) throw new Error('list not applied');
      listRuns.push(performance.now() - t);
    }

    // Item updates: 10,000 records under two watches, each update a real change (two versions alternate).
    const ids = 10_000;
    const versions = [0, 1].map((v) => Array.from({ length: ids }, (_, n) => record(n, v, bytes)));
    const store = new Store();
    store.addWatch({ type: 'compute' });
    store.addWatch({ type: 'switch' });
    let notified = 0;
    store.subscribe(() => notified++);
    store.applyList(
      { type: 'compute' },
      versions[0]!.filter((d) => d.type === 'compute'),
    );
    store.applyList(
      { type: 'switch' },
      versions[0]!.filter((d) => d.type === 'switch'),
    );
    const idOf = versions[0]!.map((d) => d.id as string);
    let best = 0;
    for (let run = 0; run < 3; run++) {
      const t = performance.now();
      for (let u = 0; u < updates; u++) {
        const n = u % ids;
        const v = (Math.floor(u / ids) + 1 + run) % 2;
        store.applyItem(idOf[n]!, versions[v]![n]!);
      }
      const perSec = updates / ((performance.now() - t) / 1000);
      if (perSec > best) best = perSec;
    }
    if (notified < updates) throw new Error('updates did not notify');

    // getSnapshot() when nothing changed: the same frozen array, and nothing allocated.
    const first = store.getSnapshot();
    gc?.();
    // GC entries of the update loop reach the observer asynchronously: let them arrive before counting.
    await new Promise((r) => setTimeout(r, 200));
    const heapBefore = process.memoryUsage().heapUsed;
    const gcsBefore = gcs;
    let same = true;
    const calls = 1_000_000;
    const t = performance.now();
    for (let i = 0; i < calls; i++) if (store.getSnapshot() !== first) same = false;
    const snapshotNs = ((performance.now() - t) * 1e6) / calls;
    const heapDelta = process.memoryUsage().heapUsed - heapBefore;
    // GC entries reach the observer asynchronously.
    await new Promise((r) => setTimeout(r, 100));
    return {
      listMs: Math.min(...listRuns),
      listRunsMs: listRuns,
      updatesPerSec: best,
      snapshotSame: same,
      snapshotNs,
      snapshotGcs: gcs - gcsBefore,
      snapshotHeapDeltaBytes: heapDelta,
    };
  },
});
