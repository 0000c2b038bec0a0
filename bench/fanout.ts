/**
 * Scenarios 1 and 4: every watcher receives every change. Scenario 1 injects the changes in the server process,
 * at full speed under flow control (`max`) and at fixed rates (`rate`); scenario 4 (`amqp`) publishes RackHD
 * waterline events to RabbitMQ from this process at a fixed rate, and the server only forwards them.
 */
import { mkdirSync } from 'node:fs';
import { connect as amqpConnect } from 'amqplib';
import { fanoutRecord, hexId, nowUs } from './data.js';
import { injectAndWait, injectAndWaitExternal, type LoadReport, measured, merge, WARMUP } from './deliveries.js';
import { type Bench, log, PROFILES, round, split, startLoads, startServer, stopAll, type Target } from './harness.js';
import type { Child } from './ipc.js';

/** Scenario 1 (and 4 with `amqp`): every watcher receives every change. */
export async function fanout(bench: Bench, run: number, target: Target, mode: 'max' | 'rate' | 'amqp', fixedRate?: number): Promise<void> {
  const { cfg, runId, emitRow } = bench;
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
      result = await publishAndWait(server, loads, amqp, count, rate!, cfg.payloadBytes);
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
    if (amqp) await deleteExchanges(cfg.amqpUrl, amqp.prefix);
  }
}

/** Scenario 4: publishes RackHD waterline events at a fixed rate; each carries its publish time. */
async function publishAndWait(
  server: Child,
  loads: Child[],
  amqp: { url: string; prefix: string },
  count: number,
  rate: number,
  payloadBytes: number,
): Promise<{ startUs: number; cpuUs: number; rssMB: number; reports: LoadReport[] }> {
  const conn = await amqpConnect(amqp.url);
  const ch = await conn.createChannel();
  const exchange = `${amqp.prefix}on.waterline`;
  await ch.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
  const ids = Array.from({ length: 50 }, (_, i) => hexId(0xfa, i));
  const publish = (seq: number): void => {
    const id = ids[seq % ids.length]!;
    const record = fanoutRecord(id, seq, nowUs(), payloadBytes);
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

async function deleteExchanges(amqpUrl: string, prefix: string): Promise<void> {
  try {
    const conn = await amqpConnect(amqpUrl);
    const ch = await conn.createChannel();
    for (const name of ['on.waterline', 'on.events', 'on.logging', 'monorail-ws.broadcast']) await ch.deleteExchange(`${prefix}${name}`);
    await conn.close();
  } catch (err) {
    log(`could not delete the exchanges of ${prefix}: ${(err as Error).message}`);
  }
}
