/**
 * A bench server process: monorail-ws, or one of the baselines (a raw `ws` broadcast server that serialises each
 * message once and sends it to every client; Socket.IO 4 with the websocket transport only). The orchestrator
 * configures it through `BENCH_SERVER` (JSON) and drives it over IPC: inject changes, grant credit, read CPU
 * time, RSS and counters. The clients live in other processes.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { connect as amqpConnect } from 'amqplib';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import { canonicalJson, type Doc, type Params } from '../protocol/index.js';
import type { Change, ChangeFeed, Source } from '../server/hub/source.js';
import { MongoSource } from '../server/sources/mongo.js';
import { createServer, type MonorailServer } from '../server/server.js';
import { fanoutRecord, filteredSchedule, hexId, nowUs, workflowRecord } from './data.js';
import { emit, serveRequests } from './ipc.js';

/** What the orchestrator asks for. */
export interface ServerSpec {
  target: 'monorail-ws' | 'raw-ws' | 'socket.io';
  scenario: 'fanout' | 'filtered' | 'storm' | 'amqp' | 'memory' | 'resume';
  port?: number;
  payloadBytes: number;
  /** fanout: records the changes rotate over. */
  records?: number;
  /** filtered: nodes, workflows per node, changes, move share. */
  filtered?: { nodes: number; perNode: number; changes: number; moveShare: number };
  /** storm: MongoDB URL of the truth (else an in-memory source seeded with `seed`). */
  mongoUrl?: string;
  /** storm/memory: seed records per channel. */
  seed?: Record<string, Doc[]>;
  /** storm: the server's coalescing window (ms). */
  coalesceWindowMs?: number;
  /** amqp, resume: broker and exchange prefix. */
  amqp?: { url: string; prefix: string };
  /** resume: the server's `resume` (positions; with `amqp`, from the RabbitMQ stream `<prefix>monorail-ws.changes`). */
  resume?: boolean;
}

const spec = JSON.parse(process.env.BENCH_SERVER ?? '{}') as ServerSpec;
const bytes = spec.payloadBytes;
const FANOUT_IDS = Array.from({ length: spec.records ?? 50 }, (_, i) => hexId(0xfa, i));

interface Target {
  port: number;
  /** Injects change number `seq` (1-based) through the target's own path. */
  inject(seq: number): void;
  /** resume, on the memory backend: writes `nodes` records and deletes others (the server's own writes). */
  apply?(upserts: Doc[], removes: Doc[]): void;
  connections(): number;
  stats(): Record<string, unknown>;
  close(): Promise<void>;
}

async function listen(http: HttpServer, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  return (http.address() as AddressInfo).port;
}

function itemFrame(id: string, data: Doc): { handler: 'item'; resource: string; id: string; data: Doc } {
  return { handler: 'item', resource: 'nodes', id, data };
}

/** Consumes `on.waterline` `nodes.*.*` with plain amqplib, as a baseline server would. */
async function consumeWaterline(url: string, prefix: string, onRecord: (record: Doc) => void): Promise<() => Promise<void>> {
  const conn = await amqpConnect(url, { clientProperties: { connection_name: `bench baseline ${process.pid}` } });
  const ch = await conn.createChannel();
  const exchange = `${prefix}on.waterline`;
  await ch.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  await ch.bindQueue(queue, exchange, 'nodes.*.*');
  await ch.prefetch(256);
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    const { record } = JSON.parse(msg.content.toString('utf8')) as { record: Doc };
    onRecord(record);
    ch.ack(msg);
  });
  return async () => {
    await conn.close().catch(() => undefined);
  };
}

/**
 * A baseline server: its own `broadcast` of one item to every client, fed by injected changes or by
 * RabbitMQ's `on.waterline` when the scenario goes through the broker.
 */
async function baseline(
  http: HttpServer,
  broadcast: (id: string, data: Doc) => void,
  connections: () => number,
  stop: () => void,
): Promise<Target> {
  const stopAmqp = spec.amqp ? await consumeWaterline(spec.amqp.url, spec.amqp.prefix, (r) => broadcast(String(r.id), r)) : undefined;
  const port = await listen(http, spec.port);
  return {
    port,
    inject(seq) {
      const id = FANOUT_IDS[seq % FANOUT_IDS.length]!;
      broadcast(id, fanoutRecord(id, seq, nowUs(), bytes));
    },
    connections,
    stats: () => ({}),
    async close() {
      await stopAmqp?.();
      stop();
    },
  };
}

async function rawWs(): Promise<Target> {
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  const broadcast = (id: string, data: Doc): void => {
    // The naive baseline: serialise once, send the same string to every open client.
    const frame = JSON.stringify(itemFrame(id, data));
    for (const ws of wss.clients) if (ws.readyState === 1) ws.send(frame);
  };
  return baseline(
    http,
    broadcast,
    () => wss.clients.size,
    () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.close();
    },
  );
}

async function socketIo(): Promise<Target> {
  const http = createHttpServer();
  const io = new SocketIoServer(http, { transports: ['websocket'], perMessageDeflate: false, httpCompression: false, serveClient: false });
  const broadcast = (id: string, data: Doc): void => {
    io.emit('message', itemFrame(id, data));
  };
  return baseline(
    http,
    broadcast,
    () => io.engine.clientsCount,
    () => io.close(),
  );
}

/** Changes pushed straight into the hub without `prev`, like RabbitMQ's: the hub decides with what it remembers. */
class PushFeed implements ChangeFeed {
  private readonly listeners = new Set<(change: Change) => void>();
  onChange(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  push(change: Change): void {
    for (const l of this.listeners) l(change);
  }
}

/** Logs of the storm scenario: every source read and every snapshot request, with their times. */
const reads: Array<[number, string]> = [];
const requests: Array<[number, string]> = [];

function loggedSource(source: Source): Source {
  return {
    read(channel, params, limit) {
      reads.push([nowUs(), `${channel} ${canonicalJson(params)}`]);
      return source.read(channel, params, limit);
    },
    get(channel, params) {
      reads.push([nowUs(), `${channel} get ${canonicalJson(params)}`]);
      return source.get(channel, params);
    },
  };
}

async function monorail(): Promise<Target> {
  const feed = new PushFeed();
  let mongo: MongoSource | undefined;
  let source: Source | undefined;
  if ((spec.scenario === 'storm' || spec.scenario === 'resume') && spec.mongoUrl) {
    mongo = await MongoSource.create({ url: spec.mongoUrl });
    await mongo.connect();
    source = loggedSource(mongo);
  }
  let seed = spec.seed ?? {};
  if (spec.scenario === 'fanout' || spec.scenario === 'amqp') {
    seed = { nodes: FANOUT_IDS.map((id) => fanoutRecord(id, 0, 0, bytes)) };
  }
  let schedule: ReturnType<typeof filteredSchedule> | undefined;
  if (spec.scenario === 'filtered') {
    const f = spec.filtered!;
    schedule = filteredSchedule(f.nodes, f.perNode, f.changes, f.moveShare);
    seed = { workflows: Array.from({ length: f.nodes * f.perNode }, (_, r) => workflowRecord(r, Math.floor(r / f.perNode), 0, 0, bytes)) };
  }
  const server: MonorailServer = await createServer({
    port: spec.port ?? 0,
    seed,
    feeds: [feed],
    ...(source ? { source } : {}),
    ...(spec.coalesceWindowMs !== undefined ? { coalesceWindowMs: spec.coalesceWindowMs } : {}),
    ...(spec.amqp ? { amqp: { url: spec.amqp.url, exchangePrefix: spec.amqp.prefix } } : {}),
    // BENCH_RESUME=1: positions on every frame (resume, issue 14), to measure what they cost the fan-out.
    ...(process.env.BENCH_RESUME === '1' || spec.resume ? { resume: true } : {}),
  });
  if (spec.scenario === 'storm') {
    if (!source) {
      // The in-memory variant: the same logging around the memory backend (the hub reads through `source`).
      const backend = server.backend!;
      const original = { read: backend.read.bind(backend), get: backend.get.bind(backend) };
      const logged = loggedSource(original);
      backend.read = logged.read as typeof backend.read;
      backend.get = logged.get as typeof backend.get;
    }
    server.on('connection', (conn) => {
      conn.on('message', (m) => {
        if (m.handler === 'watch' || m.handler === 'query' || m.handler === 'all' || m.handler === 'get') {
          const params: Params = m.handler === 'all' ? {} : m.params;
          requests.push([nowUs(), `${m.resource ?? conn.channel} ${m.handler === 'get' ? 'get ' : ''}${canonicalJson(params)}`]);
        }
      });
    });
  }
  if (server.amqp) {
    await server.amqp.link.whenUp();
    await server.amqp.link.settled();
  }
  return {
    port: server.port,
    inject(seq) {
      if (schedule) {
        const c = schedule[seq - 1]!;
        feed.push({ channel: 'workflows', id: hexId(0xf10a, c.record), data: workflowRecord(c.record, c.node, seq, nowUs(), bytes) });
        return;
      }
      const id = FANOUT_IDS[seq % FANOUT_IDS.length]!;
      server.backend!.upsert('nodes', fanoutRecord(id, seq, nowUs(), bytes));
    },
    apply(upserts, removes) {
      for (const doc of upserts) server.backend!.upsert('nodes', doc);
      for (const doc of removes) server.backend!.remove('nodes', doc.id as string);
    },
    connections: () => server.hub.connections.size,
    stats: () => ({ ...server.hub.stats() }),
    async close() {
      await server.close();
      await mongo?.close();
    },
  };
}

const target = await (spec.target === 'raw-ws' ? rawWs() : spec.target === 'socket.io' ? socketIo() : monorail());

let credit = 0;
let creditWaiter: (() => void) | undefined;
let cpuStart = process.cpuUsage();
const gc = (globalThis as { gc?: () => void }).gc;

function sleepUntilUs(t: number): Promise<void> {
  const ms = (t - nowUs()) / 1000;
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

serveRequests({
  info: () => ({ port: target.port, pid: process.pid }),
  connections: () => ({ connections: target.connections() }),
  stats: () => target.stats(),
  credit: (m) => {
    credit = Math.max(credit, m.upTo as number);
    creditWaiter?.();
  },
  'cpu-start': () => {
    cpuStart = process.cpuUsage();
  },
  'cpu-end': () => {
    const d = process.cpuUsage(cpuStart);
    return { cpuUs: d.user + d.system, rssMB: process.memoryUsage().rss / 2 ** 20 };
  },
  gc: () => {
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, gc: Boolean(gc) };
  },
  /**
   * Injects changes `from+1 … from+count`: at `rate` per second, or as fast as credit allows (at most `window`
   * changes ahead of the slowest client, `batch` per event-loop turn).
   */
  inject: async (m) => {
    const from = m.from as number;
    const count = m.count as number;
    const rate = m.rate as number | undefined;
    const window = (m.window as number | undefined) ?? Infinity;
    const batch = (m.batch as number | undefined) ?? 8;
    const startUs = nowUs();
    if (rate) {
      for (let i = 1; i <= count; i++) {
        await sleepUntilUs(startUs + ((i - 1) * 1e6) / rate);
        target.inject(from + i);
      }
    } else {
      let i = 0;
      while (i < count) {
        let n = 0;
        while (i < count && n < batch && from + i < credit + window) {
          target.inject(from + ++i);
          n++;
        }
        if (i < count && from + i >= credit + window) await new Promise<void>((r) => (creditWaiter = r));
        else await new Promise((r) => setImmediate(r));
        creditWaiter = undefined;
      }
    }
    return { startUs, endUs: nowUs() };
  },
  /** Writes a heap snapshot (V8 collects garbage first) to `path`. */
  'heap-snapshot': (m) => ({ path: writeHeapSnapshot(m.path as string) }),
  'storm-log': () => ({ reads, requests, stats: target.stats() }),
  apply: (m) => target.apply!(m.upserts as Doc[], m.removes as Doc[]),
  'storm-reset': () => {
    reads.length = 0;
    requests.length = 0;
  },
  exit: async () => {
    await target.close();
    // process.exit (not a signal) so that --cpu-prof writes its profile.
    setImmediate(() => process.exit(0));
  },
});
emit('listening', { port: target.port });
