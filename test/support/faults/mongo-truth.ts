/**
 * The source of truth as RackHD keeps it, for the fault-convergence harness: MongoDB — the wire-level test server in
 * its own process, so it outlives every server process — written through the official driver, with a RackHD-format
 * waterline event (`on.waterline`, `<collection>.<created|updated|destroyed>.<id>`, `{event, record}`) published on
 * RabbitMQ after each change, as on-core's waterline does. Server processes run the CLI with `--mongo`, `--amqp` and
 * a per-run `--exchange-prefix`.
 *
 * Also the faults only these backends have: the server's own RabbitMQ connection closed by the broker, and MongoDB
 * stopped and resumed.
 */
import { MongoClient, MongoError, MongoServerError, ObjectId, type Collection, type Document } from 'mongodb';
import type { Doc, JsonValue } from '../../../protocol/index.js';
import { DEFAULT_CHANNELS, type ChannelSpec } from '../../../server/hub/channels.js';
import type { WaterlineEvent } from '../../../server/feeds/rackhd.js';
import type { Fault, ServerHandle, TruthSource, Watcher, Write } from './harness.js';
import { waitFor } from '../wait.js';
import { controlMongoWireServer, startMongoWireServer, startServer, type ServerProcess } from '../processes.js';
import { AMQP_URL, brokerConnections, deleteExchanges, deleteQueues, rabbitmqctl, RackhdPublisher, testPrefix } from '../rabbit.js';

const HEX24 = /^[0-9a-f]{24}$/;

/** A record as clients hold it: `_id` as `id` (hex), ObjectIds as hex — written here, not with the server's code. */
function record(doc: Document): Doc {
  const { _id, ...rest } = doc;
  const out: Doc = { id: (_id as ObjectId).toHexString() };
  for (const [k, v] of Object.entries(rest)) out[k] = v instanceof ObjectId ? v.toHexString() : (v as JsonValue);
  return out;
}

/**
 * A record as RackHD stores it: for channels whose id is `id`, that is `_id`; other 24-hex values are references to
 * other records (a node's `sku`), which RackHD stores as ObjectIds.
 */
function stored(spec: ChannelSpec, doc: Doc): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'id' && spec.idField === 'id') continue;
    out[k] = typeof v === 'string' && HEX24.test(v) ? ObjectId.createFromHexString(v) : v;
  }
  return out;
}

/**
 * Runs an idempotent driver operation again when MongoDB went away under it (the outage fault stops it between
 * any two messages); while it is down, the driver's server selection waits for it to come back.
 */
async function retried<R>(op: () => Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof MongoError) || err instanceof MongoServerError || attempt >= 10) throw err;
    }
  }
}

/** MongoDB (wire server process) plus RabbitMQ as the truth; see the module comment. */
export class MongoTruth implements TruthSource {
  /** Waterline events published, by kind. */
  readonly published: Record<WaterlineEvent, number> = { created: 0, updated: 0, destroyed: 0 };
  private readonly servers = new Set<ServerProcess>();

  private constructor(
    /** The wire-level MongoDB server process (started with IPC, for outages). */
    readonly wire: ServerProcess,
    private readonly client: MongoClient,
    private readonly publisher: RackhdPublisher,
    /** This run's exchange prefix. */
    readonly prefix: string,
    /** Whether server processes run with `--resume` (positions from this run's RabbitMQ stream). */
    readonly resume: boolean,
  ) {}

  /**
   * Starts the wire server, stores the seed (no events: nothing watches yet) and opens the publisher. With `resume`,
   * server processes run with `--resume`, and share the stream `<prefix>monorail-ws.changes`, deleted by `dispose`.
   */
  static async start(seed: Readonly<Record<string, readonly Doc[]>>, options: { resume?: boolean } = {}): Promise<MongoTruth> {
    const wire = await startMongoWireServer([], { ipc: true });
    // Long server selection: while MongoDB is stopped the writer waits for it, as RackHD would.
    const client = new MongoClient(`${wire.url}/pxe`, { serverSelectionTimeoutMS: 60_000 });
    const prefix = testPrefix();
    const publisher = await RackhdPublisher.open(prefix);
    const truth = new MongoTruth(wire, client, publisher, prefix, options.resume ?? false);
    for (const [channel, docs] of Object.entries(seed)) {
      const spec = specOf(channel);
      if (docs.length > 0)
        await truth.collection(spec).insertMany(
          docs.map((d) => ({
            ...(spec.idField === 'id' ? { _id: ObjectId.createFromHexString(String(d.id)) } : {}),
            ...stored(spec, d),
          })),
        );
    }
    return truth;
  }

  /** `--mongo` of the server processes. */
  get mongoUrl(): string {
    return `${this.wire.url}/pxe`;
  }

  async write(w: Write): Promise<void> {
    const spec = specOf(w.channel);
    const coll = this.collection(spec);
    if (w.op === 'upsert') {
      const key = keyOf(spec, String(w.doc[spec.idField]));
      const result = await retried(() => coll.replaceOne(key, stored(spec, w.doc), { upsert: true }));
      // What waterline publishes is the record as stored, read back.
      const after = await retried(() => coll.findOne(key));
      this.publish(spec, result.upsertedCount > 0 ? 'created' : 'updated', after!);
    } else if (w.op === 'update') {
      const key = keyOf(spec, w.id);
      const result = await retried(() => coll.updateOne(key, { $set: stored(spec, w.set) }));
      if (result.matchedCount === 0) return;
      this.publish(spec, 'updated', (await retried(() => coll.findOne(key)))!);
    } else {
      const key = keyOf(spec, w.id);
      const before = await retried(() => coll.findOne(key));
      if (!before) return;
      await retried(() => coll.deleteOne(key));
      this.publish(spec, 'destroyed', before);
    }
  }

  /** Read from MongoDB with the driver. */
  async docs(channel: string): Promise<Doc[]> {
    return (await this.collection(specOf(channel)).find({}).toArray()).map(record);
  }

  async startServer(port: number): Promise<ServerHandle> {
    const server = await startServer([
      '--port',
      String(port),
      '--mongo',
      this.mongoUrl,
      '--amqp',
      AMQP_URL,
      '--exchange-prefix',
      this.prefix,
      ...(this.resume ? ['--resume'] : []),
    ]);
    this.servers.add(server);
    return {
      proc: server.proc,
      port: server.port,
      output: server.output,
      kill: async () => {
        await server.stop('SIGKILL');
        this.servers.delete(server);
      },
    };
  }

  /** MongoDB goes down: stops listening and drops every connection; data kept. */
  stopMongo(): Promise<void> {
    return controlMongoWireServer(this.wire, 'stop');
  }

  /** MongoDB is back on its port. */
  resumeMongo(): Promise<void> {
    return controlMongoWireServer(this.wire, 'resume');
  }

  async dispose(): Promise<void> {
    for (const server of this.servers) await server.stop('SIGKILL');
    this.servers.clear();
    await this.publisher.close();
    await this.client.close();
    await this.wire.stop('SIGKILL');
    await deleteExchanges(this.prefix);
    // The stream outlives every connection: the run deletes its own.
    if (this.resume) await deleteQueues(`${this.prefix}monorail-ws.changes`);
  }

  private collection(spec: ChannelSpec): Collection {
    return this.client.db().collection(spec.collection!);
  }

  private publish(spec: ChannelSpec, event: WaterlineEvent, doc: Document): void {
    this.publisher.waterline(spec.waterline!, event, record(doc));
    this.published[event]++;
  }
}

function specOf(channel: string): ChannelSpec {
  const spec = DEFAULT_CHANNELS.find((s) => s.name === channel);
  if (!spec?.collection || !spec.waterline) throw new Error(`channel "${channel}" has no MongoDB collection`);
  return spec;
}

function keyOf(spec: ChannelSpec, id: string): Document {
  return spec.idField === 'id' ? { _id: ObjectId.createFromHexString(id) } : { [spec.idField]: id };
}

/** The name of a server process's RabbitMQ connection, `monorail-ws <instanceId>`, from its start-up line. */
export function brokerConnectionName(server: ServerHandle): string {
  const id = /"instance":"([0-9a-f]+)"/.exec(server.output())?.[1];
  if (!id) throw new Error(`no instance id in the server's output:\n${server.output()}`);
  return `monorail-ws ${id}`;
}

/** How often a server process connected to RabbitMQ so far (its `amqp connected` log lines). */
export function brokerConnects(server: ServerHandle): number {
  return server
    .output()
    .split('\n')
    .filter((line) => / info amqp connected /.test(line)).length;
}

/** Every client has received a `list` for each of its watches since `before` (counts of `received.lists`). */
function resnapshotted(watchers: readonly Watcher[], before: readonly number[]): () => boolean {
  return () => watchers.every((w, i) => w.received.lists - before[i]! >= w.watches.length);
}

/**
 * The broker closes the server's own named connection (`rabbitmqctl close_connection`): its exclusive queue goes
 * with it, so every change published until it has reconnected and rebound is lost to it. Clients stay connected.
 */
export const brokerConnectionClosed: Fault<MongoTruth> = {
  name: "the server's RabbitMQ connection closed by the broker",
  async inject(ctx) {
    const connects = brokerConnects(ctx.server);
    const name = brokerConnectionName(ctx.server);
    const mine = (await brokerConnections()).filter((c) => c.name === name);
    if (mine.length !== 1) throw new Error(`expected 1 broker connection named "${name}", found ${mine.length}`);
    await rabbitmqctl('close_connection', mine[0]!.pid, 'closed by the fault-convergence test');
    // From here until the server has a queue again, every change published is lost to it.
    const writes = ctx.writer.writes;
    const lists = ctx.watchers.map((w) => w.received.lists);
    await waitFor(() => brokerConnects(ctx.server) > connects, 20_000, 'the server reconnects to RabbitMQ');
    return {
      reconnect: [],
      evidence: { closed: mine.length, writesWhileDisconnected: ctx.writer.writes - writes },
      // Rebound, the server re-snapshots every watch; that is what brings back what was lost.
      settled: resnapshotted(ctx.watchers, lists),
    };
  },
};

/**
 * MongoDB stops (listener closed, connections dropped) and every client's socket drops meanwhile, then MongoDB
 * resumes. The writer, blocked while MongoDB is down, carries on after.
 * - Without resume, the reconnects need snapshots that cannot be read: each client must get `source-unavailable`,
 *   and every watch a `list` once MongoDB answers again.
 * - With resume, a client that comes back with its positions needs no snapshot: every watch must be answered
 *   (`resumed`, or a `list` or an error if its position could not be used — the test then says which) while MongoDB
 *   is still down; `evidence.sourceUnavailable` counts the refusals, which the test expects to be 0.
 */
export const mongoStopped: Fault<MongoTruth> = {
  name: 'MongoDB stopped and resumed',
  async inject(ctx) {
    const unavailable = (i: number) => ctx.watchers[i]!.serverErrors.get('source-unavailable') ?? 0;
    const before = ctx.watchers.map((_, i) => unavailable(i));
    const refusals = () => before.reduce((sum, n, i) => sum + unavailable(i) - n, 0);
    await ctx.truth.stopMongo();
    if (ctx.truth.resume) {
      const answers = ctx.watchers.map((w, i) => w.received.lists + w.received.resumed + unavailable(i));
      for (const w of ctx.watchers) w.proxy.dropAll();
      await waitFor(
        () => ctx.watchers.every((w, i) => w.received.lists + w.received.resumed + unavailable(i) - answers[i]! >= w.watches.length),
        30_000,
        'every watch answered while MongoDB is down (resumed, with resume on)',
      );
      const sourceUnavailable = refusals();
      await ctx.truth.resumeMongo();
      return { reconnect: ctx.watchers, evidence: { sourceUnavailable } };
    }
    for (const w of ctx.watchers) w.proxy.dropAll();
    await waitFor(() => before.every((n, i) => unavailable(i) > n), 30_000, 'source-unavailable for every client while MongoDB is down');
    const sourceUnavailable = refusals();
    const lists = ctx.watchers.map((w) => w.received.lists);
    await ctx.truth.resumeMongo();
    // Every watch must get a list once MongoDB answers: the re-snapshot after the server's probe (or a read that
    // was still waiting for MongoDB).
    return { reconnect: ctx.watchers, evidence: { sourceUnavailable }, settled: resnapshotted(ctx.watchers, lists) };
  },
};
