/**
 * Scenarios 5 to 7, what things cost rather than how fast changes travel: the client store alone (list load,
 * updates per second, snapshots), the client bundle against socket.io-client, and the server's memory per idle
 * connection for every target.
 */
import { mkdirSync } from 'node:fs';
import { STORM_SKUS, stormNodes } from './data.js';
import { type Bench, log, OUT, PROFILES, round, split, startLoads, startServer, stopAll, type Target } from './harness.js';
import { startChild } from './ipc.js';
import { bundleSize, CLIENT_ENTRY } from './size.js';

/** Scenario 5: the client store alone, and with two live queries on it. */
export async function store(bench: Bench, run: number): Promise<void> {
  const { cfg, emitRow } = bench;
  const child = await startChild('store bench', `${OUT}/store-bench.mjs`, ['--expose-gc']);
  try {
    const r = await child.request<Record<string, unknown>>(
      'run',
      { list: cfg.storeList, updates: cfg.storeUpdates, bytes: cfg.payloadBytes },
      300_000,
    );
    emitRow({
      scenario: '5-store',
      target: 'monorail-ws',
      run,
      clients: 1,
      events: cfg.storeUpdates,
      deliveries: null,
      lost: 0,
      deliveriesPerSec: Math.round(r.updatesPerSec as number),
      serverCpuUsPerDelivery: null,
      p50Ms: null,
      p99Ms: null,
      serverRssMB: null,
      listItems: cfg.storeList,
      listMs: round(r.listMs as number, 1),
      updatesPerSec: Math.round(r.updatesPerSec as number),
      snapshotSameArray: r.snapshotSame,
      snapshotNs: round(r.snapshotNs as number, 2),
      snapshotGcs: r.snapshotGcs,
      snapshotHeapDeltaBytes: r.snapshotHeapDeltaBytes,
      viewsListItems: r.viewsListItems,
      aloneListMs: round(r.aloneListMs as number, 1),
      viewsListMs: round(r.viewsListMs as number, 1),
      aloneUpdatesPerSec: Math.round(r.aloneUpdatesPerSec as number),
      viewsUpdatesPerSec: Math.round(r.viewsUpdatesPerSec as number),
      viewsCostRatio: round(r.viewsCostRatio as number, 2),
    });
  } finally {
    await child.request('exit').catch(() => undefined);
    await child.stop();
  }
}

/** Scenario 6: bundle sizes, with socket.io-client measured the same way in the same run. */
export async function size(bench: Bench, run: number): Promise<void> {
  const { emitRow } = bench;
  const ours = await bundleSize(CLIENT_ENTRY);
  const sio = await bundleSize(`export { io } from 'socket.io-client';`);
  for (const [target, s] of [
    ['monorail-ws', ours],
    ['socket.io-client', sio],
  ] as const) {
    emitRow({
      scenario: '6-size',
      target,
      run,
      clients: null,
      events: null,
      deliveries: null,
      lost: 0,
      deliveriesPerSec: null,
      serverCpuUsPerDelivery: null,
      p50Ms: null,
      p99Ms: null,
      serverRssMB: null,
      minifiedBytes: s.minified,
      gzipBytes: s.gzip,
      what: target === 'monorail-ws' ? 'Connection + Store' : 'io()',
    });
  }
}

/** Scenario 7: server memory per idle connection (monorail-ws with 2 watches each). */
export async function memory(bench: Bench, run: number, target: Target): Promise<void> {
  const { cfg, emitRow } = bench;
  const n = cfg.idleConnections;
  const seed = { nodes: stormNodes(40, 200) };
  // A young generation of fixed size: V8 growing it during the run would otherwise count as connection memory.
  const { child: server, port } = await startServer({ target, scenario: 'memory', payloadBytes: 200, seed }, [
    '--min-semi-space-size=8',
    '--max-semi-space-size=8',
  ]);
  const loads = await startLoads(cfg.loadProcs);
  try {
    const url = `ws://127.0.0.1:${port}`;
    const watches = [{ type: 'pdu' }, { sku: STORM_SKUS[3]! }];
    const connect = (count: number) =>
      Promise.all(
        split(count, loads.length).map(([lo, hi], i) =>
          loads[i]!.request('connect', { mode: 'idle', target, url, lo, hi, watches }, 300_000),
        ),
      );
    // A first tenth of the connections before the baseline sample, so that what the first connections cost once
    // (compiled code, the channel's filters and remembered records) is not counted per connection, for any target.
    const warm = Math.ceil(n / 10);
    await connect(warm);
    await new Promise((r) => setTimeout(r, 500));
    const before = await server.request<{ rss: number; heapUsed: number; heapTotal: number; external: number }>('gc');
    const snapshot = (when: string) => `${PROFILES}/memory-${target}-run${run}-${when}.heapsnapshot`;
    if (cfg.heapSnapshot) {
      mkdirSync(PROFILES, { recursive: true });
      await server.request('heap-snapshot', { path: snapshot('before') }, 300_000);
    }
    await connect(n);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await server.request<{ rss: number; heapUsed: number; heapTotal: number; external: number }>('gc');
    if (cfg.heapSnapshot) {
      await server.request('heap-snapshot', { path: snapshot('after') }, 300_000);
      log(`heap snapshots: ${snapshot('before')} ${snapshot('after')} (npx tsx bench/heap-diff.ts both --per ${n})`);
    }
    const { connections } = await server.request<{ connections: number }>('connections');
    emitRow({
      scenario: '7-memory',
      target,
      run,
      clients: n,
      events: null,
      deliveries: null,
      lost: n + warm - connections,
      deliveriesPerSec: null,
      serverCpuUsPerDelivery: null,
      p50Ms: null,
      p99Ms: null,
      serverRssMB: round(after.rss / 2 ** 20, 1),
      rssKBPerConnection: round((after.rss - before.rss) / n / 1024, 2),
      heapKBPerConnection: round((after.heapUsed - before.heapUsed) / n / 1024, 2),
      heapTotalKBPerConnection: round((after.heapTotal - before.heapTotal) / n / 1024, 2),
      externalKBPerConnection: round((after.external - before.external) / n / 1024, 2),
      watchesPerConnection: target === 'monorail-ws' ? watches.length : 0,
    });
  } finally {
    await stopAll(server, loads);
  }
}
