/**
 * Scenario 5, the client store on its own (no socket): applying a large `list`, a million `item` updates, and
 * `getSnapshot()` when nothing changed (same array, no allocation: no GC may run while it is called a million
 * times, and the heap must not grow); then what two live queries on the store cost (`viewsCost`). Run with
 * --expose-gc.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { applyToStore } from '../client/apply.js';
import { liveQueries, type LiveQueries, type LiveQuery } from '../client/live.js';
import { Store } from '../client/store.js';
import type { Doc, ItemMessage, Params, ServerMessage } from '../protocol/index.js';
import { hexId, padTo } from './data.js';
import { serveRequests } from './ipc.js';

const gc = (globalThis as { gc?: () => void }).gc;

function record(n: number, version: number, bytes: number): Doc {
  return padTo({ id: hexId(0x5702e, n), name: `node-${n}`, type: n % 2 ? 'compute' : 'switch', version }, bytes);
}

const COMPUTE: Params = { type: 'compute' };
const SWITCH: Params = { type: 'switch' };

/** A store as `Connection` feeds it, alone or with two subscribed live queries ({type: compute} and {type: switch}). */
interface Fed {
  store: Store;
  queries: LiveQueries<Doc> | undefined;
  views: LiveQuery<Doc>[];
  /** Updates applied so far (which record and version comes next). */
  step: number;
}

/** A message as `Connection` applies it: to the store, then (with live queries) the views are told. */
function apply(fed: Fed, m: ServerMessage): void {
  applyToStore(fed.store, 'nodes', m, fed.queries);
  fed.queries?.flush();
}

/**
 * Live views on the store (issue 13): a `listSize`-item list under two watches (half compute, half switch), then
 * `updates` item updates, each a real change — the store alone, and the store with two live queries on it, each
 * with a subscriber, as a UI holds them. Runs alternate between the two, three each, best of each kept, so both
 * see the same machine. The ratio is what the views cost; a view is told per message in O(1) (the store says which
 * scopes changed), so it must not grow with the list.
 */
function viewsCost(listSize: number, updates: number, bytes: number) {
  const versions = [0, 1].map((v) => Array.from({ length: listSize }, (_, n) => record(n, v, bytes)));
  const items: ItemMessage[][] = versions.map((docs) =>
    docs.map((d) => ({ handler: 'item', resource: 'nodes', id: d.id as string, data: d })),
  );
  const lists: ServerMessage[] = [COMPUTE, SWITCH].map((params) => ({
    handler: 'list',
    resource: 'nodes',
    params,
    items: versions[0]!.filter((d) => d.type === params.type),
  }));

  const feed = (withViews: boolean): { fed: Fed; listMs: number } => {
    const store = new Store();
    store.subscribe(() => undefined);
    const fed: Fed = { store, queries: undefined, views: [], step: 0 };
    if (withViews) {
      fed.queries = liveQueries<Doc>(
        store,
        () => true,
        (update) => update(),
      );
      fed.views = [fed.queries.open(COMPUTE), fed.queries.open(SWITCH)];
      for (const view of fed.views) view.subscribe(() => undefined);
    } else {
      store.addWatch(COMPUTE);
      store.addWatch(SWITCH);
    }
    gc?.();
    const t = performance.now();
    for (const list of lists) apply(fed, list);
    return { fed, listMs: performance.now() - t };
  };

  const run = (fed: Fed): number => {
    const t = performance.now();
    for (let u = 0; u < updates; u++, fed.step++) {
      const n = fed.step % listSize;
      apply(fed, items[(Math.floor(fed.step / listSize) + 1) % 2]![n]!);
    }
    return updates / ((performance.now() - t) / 1000);
  };

  // The lists, three times each way on fresh stores (the first one also warms the code up); the last pair is kept.
  let alone = feed(false);
  let viewed = feed(true);
  const listMs = { alone: alone.listMs, views: viewed.listMs };
  for (let r = 0; r < 2; r++) {
    alone = feed(false);
    listMs.alone = Math.min(listMs.alone, alone.listMs);
    viewed = feed(true);
    listMs.views = Math.min(listMs.views, viewed.listMs);
  }
  let aloneBest = 0;
  let viewsBest = 0;
  for (let r = 0; r < 3; r++) {
    gc?.();
    aloneBest = Math.max(aloneBest, run(alone.fed));
    gc?.();
    viewsBest = Math.max(viewsBest, run(viewed.fed));
  }
  // The views are live: each shows its half of the list, as the store holds it now.
  const [compute, switches] = viewed.fed.views.map((v) => v.getSnapshot());
  if (compute!.data.length !== listSize / 2 || switches!.data.length !== listSize / 2 || compute!.status !== 'ready') {
    throw new Error('the live views do not show their records');
  }
  if (compute!.data.some((d) => d !== viewed.fed.store.get(d.id as string) || d.type !== 'compute')) {
    throw new Error('a live view shows a record the store does not hold');
  }
  return {
    viewsListItems: listSize,
    aloneListMs: listMs.alone,
    viewsListMs: listMs.views,
    aloneUpdatesPerSec: aloneBest,
    viewsUpdatesPerSec: viewsBest,
    viewsCostRatio: aloneBest / viewsBest,
  };
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
    const views = viewsCost(listSize, updates, bytes);
    return {
      ...views,
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
