/**
 * Scenario 3b and 3c: what a reconnect costs with resume (issue 14) against re-snapshotting, in the same run. The
 * clients are the storm's (the real SDK, 2 watches each, in the load processes); they reach the server through a TCP
 * proxy in its own process (bench/proxy.ts), which counts every byte the server sends them.
 *
 * - 3b, a network drop with the server alive: the proxy resets every connection (no close frame) and refuses new ones
 *   for `resumeDropMs` (1 s); meanwhile the server's own records change — a share of them (1 %, 10 %, 50 %, one drop
 *   each, in that order, on the same clients). The embedded backend is the truth.
 * - 3c, a server restart with `--amqp`: the truth is MongoDB (the wire-level test server, its own process); the server
 *   exits gracefully, RackHD's writes happen while it is down (MongoDB, and their waterline events on RabbitMQ), and a
 *   new process starts on the same port. With resume on, positions are the offsets of the RabbitMQ stream
 *   `<prefix>monorail-ws.changes`, which the new process reads back; the run deletes the stream and its exchanges.
 *
 * Each row, resume off then on: bytes the server sent from the fault until every store converged, snapshot reads
 * (the server's source reads), watches resumed and refused, how long until every client was back with both watches
 * answered and its store equal to the truth (ids and versions; a version is never given twice, so equal versions
 * are equal records), and how many did not converge.
 */
import { connect as amqpConnect } from 'amqplib';
import { DEFAULTS } from '../protocol/index.js';
import { changeNodes, nowUs, stormNodes, type NodeChanges } from './data.js';
import { type Bench, log, OUT, pollStormReports, quantile, round, split, startLoads, startServer, stopAll } from './harness.js';
import { startChild, type Child } from './ipc.js';
import type { ServerSpec } from './server.js';

const BYTES = 200;

/**
 * Waits until every client's connection has been stable long enough for its backoff to start over
 * (`DEFAULTS.backoff.resetAfterMs`): a network that blinks finds clients that had been connected for a while, not
 * ones still counting the attempts of the last fault (whose next delays would be up to 30 s).
 */
const stable = () => new Promise((r) => setTimeout(r, DEFAULTS.backoff.resetAfterMs + 1000));

interface Stats {
  sourceReads: number;
  resumes: number;
  resumesRefused: number;
}

interface LoadReport {
  converged: number;
  lists: number;
  resumed: number;
  convergedUs: number[];
}

/** Scenario 3b then 3c, each with resume off and on. */
export async function resumeStorm(bench: Bench, run: number): Promise<void> {
  for (const resume of [false, true]) await drop(bench, run, resume);
  for (const resume of [false, true]) await restart(bench, run, resume);
}

/** The proxy, with its upstream set; resolves with the URL clients use. */
async function startProxy(upstreamPort: number): Promise<{ proxy: Child; url: string }> {
  const proxy = await startChild('proxy', `${OUT}/proxy.mjs`);
  await proxy.request('upstream', { port: upstreamPort });
  const { port } = await proxy.request<{ port: number }>('info');
  return { proxy, url: `ws://127.0.0.1:${port}` };
}

/** Connects every client and waits until each has converged on the initial truth. */
async function connectClients(bench: Bench, loads: Child[], url: string): Promise<Array<[number, number]>> {
  const { cfg } = bench;
  const parts = split(cfg.resumeClients, loads.length);
  await Promise.all(
    parts.map(([lo, hi], i) => loads[i]!.request('connect', { mode: 'storm', url, lo, hi, nodes: cfg.stormNodes, bytes: BYTES }, 300_000)),
  );
  return parts;
}

/** Polls the loads until every client converged (or 120 s); the sums and each client's time after `t0`, in ms. */
async function converged(
  loads: Child[],
  clients: number,
  t0: number,
): Promise<{ converged: number; lists: number; resumed: number; ms: number[] }> {
  const reports = await pollStormReports<LoadReport>(loads, clients, 50);
  const ms = reports
    .flatMap((r) => r.convergedUs)
    .filter((t) => t > 0)
    .map((t) => (t - t0) / 1000)
    .sort((a, b) => a - b);
  const sum = (k: 'converged' | 'lists' | 'resumed') => reports.reduce((a, r) => a + r[k], 0);
  return { converged: sum('converged'), lists: sum('lists'), resumed: sum('resumed'), ms };
}

/** The common fields of a row. */
function row(
  bench: Bench,
  run: number,
  scenario: string,
  resume: boolean,
  sharePct: number,
  changes: NodeChanges,
  result: Awaited<ReturnType<typeof converged>>,
  bytesDown: number,
  stats: Stats,
  extra: Record<string, unknown>,
): void {
  const clients = bench.cfg.resumeClients;
  const q = (p: number): number | null => quantile(result.ms, p);
  bench.emitRow({
    scenario,
    target: 'monorail-ws',
    run,
    clients,
    events: changes.upserts.length + changes.removes.length,
    deliveries: null,
    lost: clients - result.converged,
    deliveriesPerSec: null,
    serverCpuUsPerDelivery: null,
    p50Ms: round(q(0.5), 1),
    p99Ms: round(q(0.99), 1),
    serverRssMB: null,
    resume,
    sharePct,
    records: changes.next.length,
    bytesFromServer: bytesDown,
    bytesPerClient: Math.round(bytesDown / clients),
    sourceReads: stats.sourceReads,
    resumes: stats.resumes,
    resumesRefused: stats.resumesRefused,
    listsReceived: result.lists,
    resumedReceived: result.resumed,
    allConvergedMs: round(result.ms.at(-1) ?? null, 1),
    everyStoreEqualsTruth: result.converged === clients,
    ...extra,
  });
}

const delta = (a: Stats, b: Stats): Stats => ({
  sourceReads: b.sourceReads - a.sourceReads,
  resumes: b.resumes - a.resumes,
  resumesRefused: b.resumesRefused - a.resumesRefused,
});

/** 3b: every client's network drops for `resumeDropMs`, once per share of records changed meanwhile. */
async function drop(bench: Bench, run: number, resume: boolean): Promise<void> {
  const { cfg } = bench;
  const loads = await startLoads(cfg.loadProcs);
  let server: Child | undefined;
  let proxy: Child | undefined;
  try {
    let truth = stormNodes(cfg.stormNodes, BYTES);
    const spec: ServerSpec = { target: 'monorail-ws', scenario: 'resume', payloadBytes: BYTES, seed: { nodes: truth }, resume };
    const started = await startServer(spec);
    server = started.child;
    const p = await startProxy(started.port);
    proxy = p.proxy;
    const parts = await connectClients(bench, loads, p.url);
    log(`resume ${resume ? 'on' : 'off'}: ${cfg.resumeClients} clients converged; dropping the network ${cfg.resumeDropMs} ms at a time`);
    for (const [k, sharePct] of cfg.resumeShares.entries()) {
      await stable();
      const changes = changeNodes(truth, sharePct / 100, k + 1, BYTES);
      truth = changes.next;
      await Promise.all(parts.map(([lo], i) => loads[i]!.request('storm-arm', { lo, truth, answers: true })));
      const before = await server.request<Stats>('stats');
      await proxy.request('reset');
      const t0 = nowUs();
      const { dropped } = await proxy.request<{ dropped: number }>('drop', { ms: cfg.resumeDropMs });
      // The server stays up: its records change while the clients are away.
      await server.request('apply', { upserts: changes.upserts, removes: changes.removes });
      const result = await converged(loads, cfg.resumeClients, t0);
      const stats = delta(before, await server.request<Stats>('stats'));
      const { down } = await proxy.request<{ down: number }>('bytes');
      row(bench, run, '3b-resume-drop', resume, sharePct, changes, result, down, stats, { dropMs: cfg.resumeDropMs, dropped });
    }
  } finally {
    await stopAll(server, loads);
    await proxy?.request('exit').catch(() => undefined);
    await proxy?.stop();
  }
}

/** 3c: the server restarts with `--amqp` while RackHD writes `resumeShares[0]` % of the records. */
async function restart(bench: Bench, run: number, resume: boolean): Promise<void> {
  const { cfg, runId } = bench;
  const prefix = `bench-${runId}-${run}-resume-${resume ? 'on' : 'off'}.`;
  const truthChild = await startChild('mongo truth', `${OUT}/mongo-truth.mjs`);
  const loads = await startLoads(cfg.loadProcs);
  const broker = await amqpConnect(cfg.amqpUrl);
  let server: Child | undefined;
  let proxy: Child | undefined;
  try {
    const ch = await broker.createConfirmChannel();
    const exchange = `${prefix}on.waterline`;
    await ch.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
    await truthChild.request('seed', { nodes: cfg.stormNodes, bytes: BYTES });
    const { url: mongoUrl } = await truthChild.request<{ url: string }>('info');
    const spec: ServerSpec = {
      target: 'monorail-ws',
      scenario: 'resume',
      payloadBytes: BYTES,
      mongoUrl,
      amqp: { url: cfg.amqpUrl, prefix },
      resume,
    };
    const first = await startServer(spec);
    server = first.child;
    const p = await startProxy(first.port);
    proxy = p.proxy;
    const parts = await connectClients(bench, loads, p.url);
    const sharePct = cfg.resumeShares[0]!;
    const changes = changeNodes(stormNodes(cfg.stormNodes, BYTES), sharePct / 100, 1, BYTES);
    await Promise.all(parts.map(([lo], i) => loads[i]!.request('storm-arm', { lo, truth: changes.next, answers: true })));
    await stable();
    log(`resume ${resume ? 'on' : 'off'}, --amqp: ${cfg.resumeClients} clients converged; restarting the server`);
    await proxy.request('reset');
    const t0 = nowUs();
    await server.request('exit').catch(() => undefined);
    await server.exited;
    // RackHD writes while no instance runs: MongoDB, and a waterline event each (which the stream keeps).
    await truthChild.request('apply', { upserts: changes.upserts, removes: changes.removes });
    const created = new Set(changes.upserts.filter((d) => String(d.name).startsWith('found-')).map((d) => d.id));
    for (const doc of changes.upserts) {
      const event = created.has(doc.id) ? 'created' : 'updated';
      ch.publish(exchange, `nodes.${event}.${String(doc.id)}`, Buffer.from(JSON.stringify({ event, record: doc })));
    }
    for (const doc of changes.removes) {
      ch.publish(exchange, `nodes.destroyed.${String(doc.id)}`, Buffer.from(JSON.stringify({ event: 'destroyed', record: doc })));
    }
    await ch.waitForConfirms();
    const second = await startServer({ ...spec, port: first.port });
    server = second.child;
    const listenMs = (nowUs() - t0) / 1000;
    const result = await converged(loads, cfg.resumeClients, t0);
    // The new process's whole life: every snapshot read it made was for these clients.
    const stats = await server.request<Stats>('stats');
    const { down } = await proxy.request<{ down: number }>('bytes');
    row(bench, run, '3c-resume-restart', resume, sharePct, changes, result, down, stats, {
      broker: 'rabbitmq',
      source: 'mongodb (wire-level test server, own process)',
      restartToListenMs: round(listenMs, 1),
    });
  } finally {
    await stopAll(server, loads);
    await proxy?.request('exit').catch(() => undefined);
    await proxy?.stop();
    await truthChild.request('exit').catch(() => undefined);
    await truthChild.stop();
    await cleanUp(broker, prefix, resume);
  }
}

/** Deletes the run's exchanges and, with resume, its stream (a durable queue: it would outlive the run). */
async function cleanUp(broker: Awaited<ReturnType<typeof amqpConnect>>, prefix: string, resume: boolean): Promise<void> {
  try {
    const ch = await broker.createChannel();
    if (resume) await ch.deleteQueue(`${prefix}monorail-ws.changes`);
    for (const name of ['on.waterline', 'on.events', 'on.logging', 'monorail-ws.broadcast']) await ch.deleteExchange(`${prefix}${name}`);
  } catch (err) {
    log(`could not clean up ${prefix}: ${(err as Error).message}`);
  } finally {
    await broker.close().catch(() => undefined);
  }
}
