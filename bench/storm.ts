/**
 * Scenario 3: the reconnect storm. Every client (the real SDK, in the load processes) converges, the server
 * restarts gracefully while the truth changes, and every client reconnects at once. The row says how long until
 * all converged again and whether the server read each channel+params at most once per 50 ms window.
 */
import { nowUs, stormNodes, stormNodesAfter } from './data.js';
import { type Bench, log, OUT, pollStormReports, quantile, round, split, startLoads, startServer, stopAll } from './harness.js';
import { startChild, type Child } from './ipc.js';
import type { ServerSpec } from './server.js';

/** Scenario 3: every client reconnects at once after a server restart, while the truth changed. */
export async function storm(bench: Bench, run: number, coalesceWindowMs: number): Promise<void> {
  const { cfg, emitRow } = bench;
  const clients = cfg.stormClients;
  const nodes = cfg.stormNodes;
  const bytes = 200;
  const useMongo = cfg.stormSource === 'mongo';
  const truth = useMongo ? await startChild('mongo truth', `${OUT}/mongo-truth.mjs`) : undefined;
  let server: Child | undefined;
  const loads = await startLoads(cfg.loadProcs);
  try {
    let mongoUrl: string | undefined;
    if (truth) {
      await truth.request('seed', { nodes, bytes });
      mongoUrl = (await truth.request<{ url: string }>('info')).url;
    }
    const base: ServerSpec = {
      target: 'monorail-ws',
      scenario: 'storm',
      payloadBytes: bytes,
      coalesceWindowMs,
      ...(mongoUrl ? { mongoUrl } : { seed: { nodes: stormNodes(nodes, bytes) } }),
    };
    const first = await startServer(base);
    server = first.child;
    const url = `ws://127.0.0.1:${first.port}`;
    const parts = split(clients, loads.length);
    await Promise.all(parts.map(([lo, hi], i) => loads[i]!.request('connect', { mode: 'storm', url, lo, hi, nodes, bytes }, 300_000)));
    log(`storm: ${clients} clients converged; restarting the server`);
    await Promise.all(parts.map(([lo], i) => loads[i]!.request('storm-arm', { lo, nodes, bytes })));
    const t0 = nowUs();
    // A graceful restart: 1001 to every client, the process exits, the truth changes, a new process starts.
    await server.request('exit').catch(() => undefined);
    await server.exited;
    if (truth) await truth.request('after', { nodes, bytes });
    const second = await startServer({
      ...base,
      port: first.port,
      ...(mongoUrl ? {} : { seed: { nodes: stormNodesAfter(nodes, bytes) } }),
    });
    server = second.child;
    const tListen = nowUs();
    const reports = await pollStormReports<{ converged: number; reopenedUs: number[]; convergedUs: number[] }>(loads, clients, 100);
    const log3 = await server.request<{
      reads: Array<[number, string]>;
      requests: Array<[number, string]>;
      stats: { sourceReads: number; coalescedReads: number };
    }>('storm-log');
    const reopened = reports
      .flatMap((r) => r.reopenedUs)
      .filter((t) => t > 0)
      .map((t) => (t - t0) / 1000);
    const convergedMs = reports
      .flatMap((r) => r.convergedUs)
      .filter((t) => t > 0)
      .map((t) => (t - t0) / 1000);
    const converged = convergedMs.length;
    const windows = windowCheck(log3.reads, tListen);
    const sorted = [...convergedMs].sort((a, b) => a - b);
    const q = (p: number): number | null => quantile(sorted, p);
    emitRow({
      scenario: '3-storm',
      target: 'monorail-ws',
      run,
      clients,
      events: log3.requests.length,
      deliveries: null,
      lost: clients - converged,
      deliveriesPerSec: null,
      serverCpuUsPerDelivery: null,
      p50Ms: round(q(0.5), 1),
      p99Ms: round(q(0.99), 1),
      serverRssMB: null,
      source: useMongo ? 'mongodb (wire-level test server, own process)' : 'memory',
      coalesceWindowMs,
      restartToListenMs: round((tListen - t0) / 1000, 1),
      allConvergedMs: round(sorted[sorted.length - 1] ?? null, 1),
      snapshotRequests: log3.requests.length,
      sourceReads: log3.stats.sourceReads,
      coalescedReads: log3.stats.coalescedReads,
      distinctParams: new Set(log3.requests.map(([, k]) => k)).size,
      windows50ms: windows.windows,
      windowsOverTarget: windows.over,
      busiestWindow: windows.worst,
      minGapBetweenIdenticalReadsMs: windows.minGapMs,
      reconnectHistogram250ms: histogram(reopened, 250),
    });
  } finally {
    await stopAll(server, loads);
    if (truth) {
      await truth.request('exit').catch(() => undefined);
      await truth.stop();
    }
  }
}

/**
 * Source reads per 50 ms window (aligned to the moment the server listened again) against the distinct
 * channel+params among them: a window is over the target when some channel+params was read twice in it. Also the
 * smallest gap between two reads of the same channel+params (a sliding-window view of the same rule).
 */
function windowCheck(
  reads: Array<[number, string]>,
  t0: number,
): { windows: number; over: number; worst: string; minGapMs: number | null } {
  const byWindow = new Map<number, { reads: number; keys: Set<string> }>();
  const lastByKey = new Map<string, number>();
  let minGap = Infinity;
  for (const [t, k] of [...reads].sort((a, b) => a[0] - b[0])) {
    const w = Math.floor((t - t0) / 50_000);
    let e = byWindow.get(w);
    if (!e) byWindow.set(w, (e = { reads: 0, keys: new Set() }));
    e.reads++;
    e.keys.add(k);
    const last = lastByKey.get(k);
    if (last !== undefined) minGap = Math.min(minGap, (t - last) / 1000);
    lastByKey.set(k, t);
  }
  let over = 0;
  let worst = '';
  let worstReads = 0;
  for (const [w, e] of byWindow) {
    if (e.reads > e.keys.size) over++;
    if (e.reads > worstReads) {
      worstReads = e.reads;
      worst = `window ${w} (${w * 50}-${w * 50 + 50} ms after listen): ${e.reads} reads of ${e.keys.size} distinct params`;
    }
  }
  return { windows: byWindow.size, over, worst, minGapMs: Number.isFinite(minGap) ? Math.round(minGap * 100) / 100 : null };
}

/** Counts per bucket of `width` ms: `{"0": n, "250": n, …}`. */
function histogram(values: number[], width: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const b = String(Math.floor(v / width) * width);
    out[b] = (out[b] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => Number(a[0]) - Number(b[0])));
}
