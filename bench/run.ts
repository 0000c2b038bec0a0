/**
 * `npm run bench`: every scenario of issue 7, with the baselines (a raw `ws` broadcast server, Socket.IO 4
 * websocket-only) in the same run, the server and the client load in separate processes. Prints one JSON line
 * per scenario and target as it finishes, then a table. Sizes come from environment variables (bench/config.ts).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { connect as amqpConnect } from 'amqplib';
import { build } from 'esbuild';
import { benchConfig, type BenchConfig } from './config.js';
import { fanoutRecord, hexId, nowUs, stormNodes, stormNodesAfter, STORM_SKUS } from './data.js';
import { Histogram, type HistogramData } from './histogram.js';
import { startChild, type Child } from './ipc.js';
import { printTable, type Row } from './report.js';
import type { ServerSpec } from './server.js';
import { bundleSize, CLIENT_ENTRY } from './size.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const OUT = `${HERE}.build`;
const PROFILES = `${HERE}.profiles`;
const cfg: BenchConfig = benchConfig();
const rows: Row[] = [];
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const runId = `${Date.now().toString(36)}${process.pid}`;

function emitRow(row: Row): void {
  rows.push(row);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

function log(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

async function bundle(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  await build({
    entryPoints: ['server', 'load', 'store-bench', 'mongo-truth'].map((n) => `${HERE}${n}.ts`),
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

async function startServer(spec: ServerSpec, flags: string[] = []): Promise<{ child: Child; port: number }> {
  const child = await startChild(`server ${spec.target}`, `${OUT}/server.mjs`, ['--expose-gc', ...flags], {
    BENCH_SERVER: JSON.stringify(spec),
  });
  const { port } = await child.request<{ port: number }>('info');
  return { child, port };
}

async function startLoads(n: number): Promise<Child[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startChild(`load ${i}`, `${OUT}/load.mjs`, ['--max-old-space-size=4096'])));
}

/** Splits `count` clients over the load processes: `[lo, hi)` each. */
function split(count: number, parts: number): Array<[number, number]> {
  return Array.from({ length: parts }, (_, i) => [Math.floor((count * i) / parts), Math.floor((count * (i + 1)) / parts)]);
}

interface Progress {
  min: number;
  received: number;
  expected: number;
}

/**
 * Injects `count` changes after `from` and waits until every load process received what it expects (or nothing
 * arrived for `idleMs`). Forwards the slowest client's progress to the server as credit.
 */
async function injectAndWait(
  server: Child,
  loads: Child[],
  opts: { from: number; count: number; rate?: number; window?: number; lo?: number[]; filtered?: object },
): Promise<{ startUs: number; cpuUs: number; rssMB: number; reports: LoadReport[] }> {
  const progress: Progress[] = loads.map(() => ({ min: 0, received: 0, expected: Infinity }));
  let credit = 0;
  let wake: (() => void) | undefined;
  for (const [i, l] of loads.entries()) {
    l.on('progress', (p) => {
      progress[i] = p as unknown as Progress;
      const min = Math.min(...progress.map((x) => x.min));
      if (min > credit) {
        credit = min;
        server.request('credit', { upTo: credit }).catch(() => undefined);
      }
      wake?.();
    });
  }
  await Promise.all(
    loads.map((l, i) =>
      l.request('arm', {
        from: opts.from,
        count: opts.count,
        lo: opts.lo?.[i] ?? 0,
        ...(opts.filtered ? { filtered: opts.filtered } : {}),
      }),
    ),
  );
  await server.request('cpu-start');
  const injected = server.request<{ startUs: number }>(
    'inject',
    {
      from: opts.from,
      count: opts.count,
      ...(opts.rate ? { rate: opts.rate } : {}),
      ...(opts.window ? { window: opts.window } : {}),
    },
    600_000,
  );
  let lastTotal = -1;
  let lastChange = Date.now();
  for (;;) {
    const total = progress.reduce((a, p) => a + p.received, 0);
    const expected = progress.reduce((a, p) => a + p.expected, 0);
    if (total >= expected) break;
    if (total !== lastTotal) {
      lastTotal = total;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 15_000) {
      log(`no progress for 15 s (${total}/${expected}); reporting what arrived`);
      break;
    }
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 100);
    });
  }
  const { startUs } = await injected;
  const { cpuUs, rssMB } = await server.request<{ cpuUs: number; rssMB: number }>('cpu-end');
  const reports = await Promise.all(loads.map((l) => l.request<LoadReport>('report')));
  for (const l of loads) l.proc.removeAllListeners('progress');
  return { startUs, cpuUs, rssMB, reports };
}

interface LoadReport {
  deliveries: number;
  expected: number;
  lost: number;
  disorder: number;
  lastUs: number;
  hist: HistogramData;
  cpuUs: number;
}

/** The measured fields of a row where clients counted deliveries (fan-out, filtered watches). */
function measured(
  result: { startUs: number; cpuUs: number; rssMB: number },
  m: ReturnType<typeof merge>,
): Pick<Row, 'deliveries' | 'lost' | 'deliveriesPerSec' | 'serverCpuUsPerDelivery' | 'p50Ms' | 'p99Ms' | 'serverRssMB'> {
  const seconds = (m.lastUs - result.startUs) / 1e6;
  return {
    deliveries: m.deliveries,
    lost: m.lost,
    deliveriesPerSec: Math.round(m.deliveries / seconds),
    serverCpuUsPerDelivery: round(result.cpuUs / Math.max(1, m.deliveries), 3),
    p50Ms: round(m.hist.quantileMs(0.5), 2),
    p99Ms: round(m.hist.quantileMs(0.99), 2),
    serverRssMB: round(result.rssMB, 1),
  };
}

function merge(reports: LoadReport[]): {
  deliveries: number;
  lost: number;
  disorder: number;
  lastUs: number;
  hist: Histogram;
  clientCpuUs: number;
} {
  const hist = new Histogram();
  for (const r of reports) hist.merge(r.hist);
  return {
    deliveries: reports.reduce((a, r) => a + r.deliveries, 0),
    lost: reports.reduce((a, r) => a + r.lost, 0),
    disorder: reports.reduce((a, r) => a + r.disorder, 0),
    lastUs: Math.max(...reports.map((r) => r.lastUs)),
    hist,
    clientCpuUs: reports.reduce((a, r) => a + r.cpuUs, 0),
  };
}

type Target = 'monorail-ws' | 'raw-ws' | 'socket.io';
const TARGETS = cfg.targets as Target[];

async function stopAll(server: Child | undefined, loads: Child[]): Promise<void> {
  await Promise.all(loads.map((l) => l.request('close').catch(() => undefined)));
  await Promise.all(loads.map((l) => l.stop()));
  if (server) {
    await server.request('exit').catch(() => undefined);
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
    await server.stop('SIGKILL');
  }
}

/** Scenario 1 (and 4 with `amqp`): every watcher receives every change. */
async function fanout(run: number, target: Target, mode: 'max' | 'rate' | 'amqp', fixedRate?: number): Promise<void> {
  const amqp = mode === 'amqp' ? { url: cfg.amqpUrl, prefix: `bench-${runId}-${run}-${target}.` } : undefined;
  const profile = cfg.profile && target === 'monorail-ws' && mode === 'max';
  if (profile) mkdirSync(PROFILES, { recursive: true });
  const { child: server, port } = await startServer(
    { target, scenario: amqp ? 'amqp' : 'fanout', payloadBytes: cfg.payloadBytes, records: 50, ...(amqp ? { amqp } : {}) },
    profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, `--cpu-prof-name=fanout-${runId}-${run}.cpuprofile`] : [],
  );
  const loads = await startLoads(cfg.loadProcs);
  try {
    const url = `ws://127.0.0.1:${port}`;
    await Promise.all(
      split(cfg.watchers, loads.length).map(([lo, hi], i) =>
        loads[i]!.request('connect', { mode: 'fanout', target, url, lo, hi }, 300_000),
      ),
    );
    const rate = mode === 'max' ? undefined : fixedRate!;
    const count = rate === undefined ? cfg.changes : rate * cfg.rateSeconds;
    let result: Awaited<ReturnType<typeof publishAndWait>>;
    if (amqp) {
      result = await publishAndWait(server, loads, amqp, count, rate!);
    } else {
      // Warm-up (not measured): the JIT and the buffers of every target get the same start.
      await injectAndWait(server, loads, {
        from: 0,
        count: Math.min(WARMUP, count),
        window: cfg.window,
        ...(rate ? { rate: rate * 4 } : {}),
      });
      result = await injectAndWait(server, loads, { from: WARMUP, count, window: cfg.window, ...(rate ? { rate } : {}) });
    }
    const m = merge(result.reports);
    emitRow({
      scenario: mode === 'max' ? '1-fanout' : mode === 'rate' ? `1-fanout-${rate}/s` : `4-amqp-${rate}/s`,
      target,
      run,
      clients: cfg.watchers,
      events: count,
      ...measured(result, m),
      disorder: m.disorder,
      clientCpuUsPerDelivery: round(m.clientCpuUs / Math.max(1, m.deliveries), 3),
      ...(amqp ? { broker: 'rabbitmq on.waterline' } : {}),
    });
  } finally {
    await stopAll(server, loads);
    if (amqp) await deleteExchanges(amqp.prefix);
  }
}

/** Scenario 4: publishes RackHD waterline events at a fixed rate; each carries its publish time. */
async function publishAndWait(
  server: Child,
  loads: Child[],
  amqp: { url: string; prefix: string },
  count: number,
  rate: number,
): Promise<{ startUs: number; cpuUs: number; rssMB: number; reports: LoadReport[] }> {
  const conn = await amqpConnect(amqp.url);
  const ch = await conn.createChannel();
  const exchange = `${amqp.prefix}on.waterline`;
  await ch.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
  const ids = Array.from({ length: 50 }, (_, i) => hexId(0xfa, i));
  const publish = (seq: number): void => {
    const id = ids[seq % ids.length]!;
    const record = fanoutRecord(id, seq, nowUs(), cfg.payloadBytes);
    ch.publish(exchange, `nodes.updated.${id}`, Buffer.from(JSON.stringify({ event: 'updated', record })), {
      contentType: 'application/json',
    });
  };
  const round = async (
    from: number,
    n: number,
    r: number,
  ): Promise<{ startUs: number; cpuUs: number; rssMB: number; reports: LoadReport[] }> => {
    // The server is not the injector here: the orchestrator publishes, and the server only forwards.
    const waiting = injectAndWaitExternal(server, loads, from, n);
    const start = nowUs();
    for (let i = 1; i <= n; i++) {
      const due = start + ((i - 1) * 1e6) / r;
      const ms = (due - nowUs()) / 1000;
      if (ms > 0) await new Promise((res) => setTimeout(res, ms));
      publish(from + i);
    }
    const result = await waiting;
    return { ...result, startUs: start };
  };
  try {
    await round(0, Math.min(WARMUP, count), rate * 4);
    return await round(WARMUP, count, rate);
  } finally {
    await conn.close();
  }
}

/** Like `injectAndWait`, for changes that something else injects (the broker). */
async function injectAndWaitExternal(
  server: Child,
  loads: Child[],
  from: number,
  count: number,
): Promise<{ cpuUs: number; rssMB: number; reports: LoadReport[] }> {
  const progress: Progress[] = loads.map(() => ({ min: 0, received: 0, expected: Infinity }));
  loads.forEach((l, i) => {
    l.on('progress', (p) => {
      progress[i] = p as unknown as Progress;
    });
  });
  await Promise.all(loads.map((l) => l.request('arm', { from, count })));
  await server.request('cpu-start');
  let lastTotal = -1;
  let lastChange = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const total = progress.reduce((a, p) => a + p.received, 0);
    if (total >= progress.reduce((a, p) => a + p.expected, 0)) break;
    if (total !== lastTotal) {
      lastTotal = total;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 15_000) break;
  }
  const { cpuUs, rssMB } = await server.request<{ cpuUs: number; rssMB: number }>('cpu-end');
  const reports = await Promise.all(loads.map((l) => l.request<LoadReport>('report')));
  for (const l of loads) l.proc.removeAllListeners('progress');
  return { cpuUs, rssMB, reports };
}

async function deleteExchanges(prefix: string): Promise<void> {
  try {
    const conn = await amqpConnect(cfg.amqpUrl);
    const ch = await conn.createChannel();
    for (const name of ['on.waterline', 'on.events', 'on.logging', 'monorail-ws.broadcast']) await ch.deleteExchange(`${prefix}${name}`);
    await conn.close();
  } catch (err) {
    log(`could not delete the exchanges of ${prefix}: ${(err as Error).message}`);
  }
}

/** Scenario 2: one `{node: id}` watch per connection; CPU per change must not grow with the watches that do not match. */
async function filtered(run: number, watches: number): Promise<void> {
  const changes = cfg.filteredChanges;
  const f = { nodes: watches, perNode: 2, changes: WARMUP + changes, moveShare: 0.1 };
  const { child: server, port } = await startServer({
    target: 'monorail-ws',
    scenario: 'filtered',
    payloadBytes: cfg.payloadBytes,
    filtered: f,
  });
  const loads = await startLoads(cfg.loadProcs);
  try {
    const url = `ws://127.0.0.1:${port}`;
    const parts = split(watches, loads.length);
    await Promise.all(
      parts.map(([lo, hi], i) => loads[i]!.request('connect', { mode: 'filtered', target: 'monorail-ws', url, lo, hi }, 300_000)),
    );
    const lo = parts.map(([l]) => l);
    await injectAndWait(server, loads, { from: 0, count: WARMUP, lo, filtered: f });
    const result = await injectAndWait(server, loads, { from: WARMUP, count: changes, lo, filtered: f });
    const m = merge(result.reports);
    emitRow({
      scenario: '2-filtered',
      target: 'monorail-ws',
      run,
      clients: watches,
      events: changes,
      ...measured(result, m),
      serverCpuUsPerChange: round(result.cpuUs / changes, 2),
      disorder: m.disorder,
    });
  } finally {
    await stopAll(server, loads);
  }
}

/** Scenario 3: every client reconnects at once after a server restart, while the truth changed. */
async function storm(run: number, coalesceWindowMs: number): Promise<void> {
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
    let reports: Array<{ converged: number; reopenedUs: number[]; convergedUs: number[] }> = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      reports = await Promise.all(loads.map((l) => l.request<(typeof reports)[number]>('storm-report')));
      if (reports.reduce((a, r) => a + r.converged, 0) === clients || Date.now() > deadline) break;
    }
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
    const q = (p: number): number | null => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : null);
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

/** Scenario 5: the client store alone. */
async function store(run: number): Promise<void> {
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
    });
  } finally {
    await child.request('exit').catch(() => undefined);
    await child.stop();
  }
}

/** Scenario 6: bundle sizes, with socket.io-client measured the same way in the same run. */
async function size(run: number): Promise<void> {
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
async function memory(run: number, target: Target): Promise<void> {
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

function round(v: number | null, digits: number): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const started = Date.now();
log(
  `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
await bundle();
for (let run = 1; run <= cfg.repeat; run++) {
  for (const scenario of cfg.scenarios) {
    log(`run ${run}: ${scenario}`);
    switch (scenario) {
      case 'fanout':
        for (const t of TARGETS) await fanout(run, t, 'max');
        for (const rate of cfg.rates) for (const t of TARGETS) await fanout(run, t, 'rate', rate);
        break;
      case 'filtered':
        for (const w of cfg.filteredWatches) await filtered(run, w);
        break;
      case 'storm':
        for (const w of cfg.stormWindows) await storm(run, w);
        break;
      case 'amqp':
        for (const t of TARGETS) await fanout(run, t, 'amqp', cfg.rates[0]!);
        break;
      case 'store':
        await store(run);
        break;
      case 'size':
        await size(run);
        break;
      case 'memory':
        for (const t of TARGETS) await memory(run, t);
        break;
      default:
        throw new Error(`unknown scenario "${scenario}"`);
    }
  }
}
printTable(rows, cfg);
if (cfg.profile)
  log(
    `CPU profiles: ${readdirSync(PROFILES)
      .map((f) => `${PROFILES}/${f}`)
      .join(', ')}`,
  );
log(
  `done in ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
