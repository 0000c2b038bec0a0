/**
 * The MongoDB source with the official driver, over TCP: against the wire-level test server (filters evaluated by
 * mingo, an oracle independent of our `matches`), or, unchanged, against a real mongod when `MONGODB_URL` is set:
 *
 *   MONGODB_URL=mongodb://127.0.0.1:27017 npx vitest run server/sources/mongo.test.ts
 *
 * Each test uses its own database. The driver's command monitoring shows exactly what reached MongoDB.
 * Outage tests stop the wire server, so they are skipped against a real mongod; the failpoint test needs a mongod
 * started with `--setParameter enableTestCommands=1` and is skipped when the failpoint is refused.
 */
import {
  Binary,
  Decimal128,
  Double,
  Int32,
  Long,
  MongoClient,
  ObjectId,
  Timestamp,
  type CommandStartedEvent,
  type Document,
} from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { matches, ProtocolError, type Doc, type Params } from '../../protocol/index.js';
import { RawClient } from '../../test/support/raw-client.js';
import { EXTERNAL_MONGODB_URL as external, mongoUnderTest, type MongoUnderTest } from '../../test/support/services.js';
import { waitFor } from '../../test/support/wait.js';
import { randomId } from '../hub/ids.js';
import { dbNameFromUrl, loadMongoDriver, MongoSource, normaliseDocument, toMongoFilter } from './mongo.js';
import { createServer, type MonorailServer } from '../server.js';

let mongo: MongoUnderTest;
/** The wire-level server (the outage tests stop it; skipped against a real mongod). */
let wire: MongoUnderTest['wire'];

beforeAll(async () => {
  // The driver is an optional package, loaded before a source is made (createServer and MongoSource.create do this).
  await loadMongoDriver();
  mongo = await mongoUnderTest();
  wire = mongo.wire;
});
afterAll(async () => {
  await mongo.close();
});

/** The URL of a database on the server under test. */
const urlFor = (db: string): string => mongo.url(db);

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const oid = (n: number) => new ObjectId(n.toString(16).padStart(24, '0'));
const hex = (n: number) => oid(n).toHexString();
const at = (s: number) => new Date(Date.UTC(2026, 10, 1) + s * 1000);

/** RackHD-shaped documents as MonoRail stores them: ObjectId `_id`s and references, Dates. */
function fixtures(): Record<string, Document[]> {
  return {
    nodes: [
      { _id: oid(1), name: 'n1', type: 'compute', sku: oid(21), identifiers: ['52:54:00:00:00:01'], createdAt: at(1) },
      { _id: oid(2), name: 'n2', type: 'compute', sku: oid(22), identifiers: ['52:54:00:00:00:02'], createdAt: at(2) },
      { _id: oid(3), name: 'sw', type: 'switch', sku: null, identifiers: [], createdAt: at(3) },
      { _id: oid(4), name: 'pdu', type: 'pdu', createdAt: at(4) },
    ],
    catalogs: [
      { _id: oid(11), node: oid(1), source: 'dmi', data: { 'System Information': { Manufacturer: 'Dell Inc.' } } },
      { _id: oid(12), node: oid(1), source: 'bmc', data: {} },
      // An older record that stored the reference as a string: both forms must match.
      { _id: oid(13), node: hex(2), source: 'dmi', data: {} },
    ],
    skus: [
      { _id: oid(21), name: 'R640', rules: [{ path: 'dmi.x', contains: 'R640' }] },
      { _id: oid(22), name: 'D51B', rules: [] },
    ],
    graphobjects: [
      { _id: oid(31), instanceId: 'a1b2c3d4-0000-4000-a000-000000000001', name: 'Discovery', node: oid(1), _status: 'running' },
      { _id: oid(32), instanceId: 'a1b2c3d4-0000-4000-a000-000000000002', name: 'Discovery', node: oid(2), _status: 'succeeded' },
    ],
    workitems: [{ _id: oid(41), name: 'Pollers.IPMI', node: oid(1), config: { command: 'sdr' }, pollInterval: 60000 }],
  };
}

/** A fresh database with the fixtures; returns its URL and a driver client for the test's own writes. */
async function seeded(): Promise<{ url: string; db: string; admin: MongoClient }> {
  const db = `monorail_test_${randomId(4)}`;
  const url = urlFor(db);
  const admin = new MongoClient(url, { serverSelectionTimeoutMS: 2000 });
  for (const [collection, docs] of Object.entries(fixtures())) await admin.db(db).collection(collection).insertMany(docs);
  cleanup.push(async () => {
    await admin
      .db(db)
      .dropDatabase()
      .catch(() => undefined);
    await admin.close();
  });
  return { url, db, admin };
}

/** A MongoSource with command monitoring; `finds()` lists the find commands sent since the last call. */
function source(url: string, options: { maxListItems?: number } = {}) {
  const src = new MongoSource({ url, serverSelectionTimeoutMS: 500, clientOptions: { monitorCommands: true }, ...options });
  const commands: CommandStartedEvent[] = [];
  src.client.on('commandStarted', (e) => commands.push(e));
  cleanup.push(() => src.close());
  return {
    src,
    commands,
    finds: () =>
      commands
        .splice(0)
        .filter((c) => c.commandName === 'find')
        .map((c) => c.command),
  };
}

describe('filters sent to MongoDB', () => {
  it('a read is find(filter).sort({_id: 1}).limit(cap) on the RackHD collection, and returns plain JSON records', async () => {
    const { url } = await seeded();
    const { src, finds } = source(url);
    const items = await src.read('nodes', { type: 'compute' }, 100);
    const [find, ...more] = finds();
    expect(more).toEqual([]);
    // The driver sends the sort as a Map (key order matters to MongoDB).
    expect({ ...find, sort: Object.fromEntries(find!.sort as Map<string, number>) }).toMatchObject({
      find: 'nodes',
      filter: { type: 'compute' },
      sort: { _id: 1 },
      limit: 100,
    });
    expect(items).toEqual([
      { id: hex(1), name: 'n1', type: 'compute', sku: hex(21), identifiers: ['52:54:00:00:00:01'], createdAt: at(1).toISOString() },
      { id: hex(2), name: 'n2', type: 'compute', sku: hex(22), identifiers: ['52:54:00:00:00:02'], createdAt: at(2).toISOString() },
    ]);
    await src.read('workflows', { _status: 'running' }, 10);
    await src.read('pollers', {}, 10);
    expect(finds().map((f) => f.find)).toEqual(['graphobjects', 'workitems']);
  });

  it('id becomes _id with an ObjectId for 24-hex values, also in $in, $nin, $ne and comparisons', async () => {
    const { url } = await seeded();
    const { src, finds } = source(url);
    const cases: Array<[Params, Document, string[]]> = [
      [{ id: hex(2) }, { _id: oid(2) }, [hex(2)]],
      [{ id: { $in: [hex(1), hex(3), 'not-an-objectid'] } }, { _id: { $in: [oid(1), oid(3), 'not-an-objectid'] } }, [hex(1), hex(3)]],
      [{ id: { $nin: [hex(1)] }, type: 'compute' }, { _id: { $nin: [oid(1)] }, type: 'compute' }, [hex(2)]],
      [{ id: { $ne: hex(4) }, type: { $ne: 'compute' } }, { _id: { $ne: oid(4) }, type: { $ne: 'compute' } }, [hex(3)]],
      [{ id: { $gt: hex(2), $lte: hex(4) } }, { _id: { $gt: oid(2), $lte: oid(4) } }, [hex(3), hex(4)]],
      [{ id: 'ABCDEF000000000000000000' }, { _id: 'ABCDEF000000000000000000' }, []],
    ];
    for (const [params, filter, ids] of cases) {
      const items = await src.read('nodes', params, 100);
      expect(finds().map((f) => f.filter)).toEqual([filter]);
      expect(items.map((d) => d.id)).toEqual(ids);
    }
  });

  it('a 24-hex value on another field matches the reference in both forms (ObjectId or string)', async () => {
    const { url } = await seeded();
    const { src, finds } = source(url);
    expect((await src.read('catalogs', { node: hex(2) }, 100)).map((d) => d.id)).toEqual([hex(13)]);
    expect((await src.read('catalogs', { node: { $in: [hex(1), hex(2)] }, source: 'dmi' }, 100)).map((d) => d.id)).toEqual([
      hex(11),
      hex(13),
    ]);
    expect((await src.read('catalogs', { node: { $ne: hex(1) } }, 100)).map((d) => d.id)).toEqual([hex(13)]);
    expect(finds().map((f) => f.filter)).toEqual([
      { node: { $in: [hex(2), oid(2)] } },
      { node: { $in: [hex(1), oid(1), hex(2), oid(2)] }, source: 'dmi' },
      { node: { $nin: [hex(1), oid(1)] } },
    ]);
  });

  it('what MongoDB returns for a filter is what `matches` says of the same records (snapshot and live changes agree)', async () => {
    const { url } = await seeded();
    const { src } = source(url);
    const all = await src.read('nodes', {}, 100);
    const filters: Params[] = [
      { type: { $in: ['compute', 'pdu'] } },
      { sku: null },
      { sku: { $exists: false } },
      { identifiers: '52:54:00:00:00:02' },
      { identifiers: { $nin: ['52:54:00:00:00:01'] }, type: { $ne: 'pdu' } },
      { createdAt: { $gte: at(2).toISOString() } },
      { name: { $gt: 'n1', $lt: 'q' } },
      { sku: hex(21) },
    ];
    for (const params of filters) {
      const fromMongo = (await src.read('nodes', params, 100)).map((d) => d.id);
      const fromMatches = all.filter((d) => matches(d, params)).map((d) => d.id);
      if (params.createdAt) {
        // Documented limit: Dates are stored as Dates, and a string never compares with a Date in MongoDB.
        expect(fromMongo).toEqual([]);
        continue;
      }
      expect(fromMongo, JSON.stringify(params)).toEqual(fromMatches);
    }
  });

  it('translates each operator (pure function, no database)', () => {
    expect(toMongoFilter({ node: { $ne: hex(1), $nin: [hex(2), 'x'] }, id: { $exists: true }, 'a.b': hex(3) })).toEqual({
      node: { $nin: [hex(1), oid(1), hex(2), oid(2), 'x'] },
      _id: { $exists: true },
      'a.b': { $in: [hex(3), oid(3)] },
    });
    expect(toMongoFilter({ id: null, n: { $gt: 1, $lte: hex(1) }, s: { $in: [] } })).toEqual({
      _id: null,
      n: { $gt: 1, $lte: hex(1) },
      s: { $in: [] },
    });
    // Arrays and embedded documents are literal values: compared as they are, nothing inside is translated.
    expect(toMongoFilter({ tags: [hex(1)], data: { node: hex(1) } })).toEqual({ tags: [hex(1)], data: { node: hex(1) } });
    expect(() => toMongoFilter({ $where: 'x' } as Params)).toThrow(ProtocolError);
  });

  it('get is findOne (limit 1) and answers undefined for a missing record', async () => {
    const { url } = await seeded();
    const { src, finds } = source(url);
    expect(await src.get('skus', { id: hex(22) })).toEqual({ id: hex(22), name: 'D51B', rules: [] });
    expect(await src.get('workflows', { instanceId: 'a1b2c3d4-0000-4000-a000-000000000002' })).toMatchObject({
      id: hex(32),
      node: hex(2),
      _status: 'succeeded',
    });
    expect(await src.get('nodes', { id: hex(99) })).toBeUndefined();
    const sent = finds();
    expect(sent.map((f) => [f.find, f.filter, f.limit])).toEqual([
      ['skus', { _id: oid(22) }, 1],
      ['graphobjects', { instanceId: 'a1b2c3d4-0000-4000-a000-000000000002' }, 1],
      ['nodes', { _id: oid(99) }, 1],
    ]);
  });

  it('caps every read at maxListItems (the smaller of the source cap and the requested limit)', async () => {
    const { url, admin, db } = await seeded();
    await admin
      .db(db)
      .collection('nodes')
      .insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: oid(1000 + i), type: 'compute' })));
    const { src, finds } = source(url, { maxListItems: 7 });
    expect(await src.read('nodes', {}, 10_000)).toHaveLength(7);
    expect(await src.read('nodes', {}, 3)).toHaveLength(3);
    expect(finds().map((f) => f.limit)).toEqual([7, 3]);
  });

  it('params outside the allowlist throw bad-params before the driver is called', async () => {
    const { url } = await seeded();
    const { src, commands } = source(url);
    await src.read('nodes', {}, 1); // connect and handshake first, so only commands caused by the reads remain
    commands.splice(0);
    const evil: unknown[] = [{ $where: 'sleep(1000)' }, { name: { $regex: '.*' } }, { tags: { $in: [{ $gt: '' }] } }];
    for (const params of evil) {
      await expect(src.read('nodes', params as Params, 10)).rejects.toThrow(ProtocolError);
      await expect(src.get('nodes', params as Params)).rejects.toThrow(ProtocolError);
    }
    expect(commands).toEqual([]);
  });
});

describe('records leave as JSON', () => {
  it('normalises _id, ObjectId, Date and the other BSON types', () => {
    const uuid = new Binary(Buffer.from('0123456789abcdef0123456789abcdef', 'hex'), 4);
    expect(
      normaliseDocument({
        _id: oid(5),
        ref: oid(6),
        when: at(0),
        bad: new Date(NaN),
        long: Long.fromNumber(2 ** 40),
        int: new Int32(7),
        dbl: new Double(1.5),
        dec: Decimal128.fromString('1.10'),
        uuid,
        bin: new Binary(Buffer.from('hi')),
        ts: Timestamp.fromBits(1, 2),
        nested: [{ at: at(1), ids: [oid(7)] }],
        gone: undefined,
        inf: Infinity,
      }),
    ).toEqual({
      id: hex(5),
      ref: hex(6),
      when: at(0).toISOString(),
      bad: null,
      long: 2 ** 40,
      int: 7,
      dbl: 1.5,
      dec: '1.10',
      uuid: '01234567-89ab-cdef-0123-456789abcdef',
      bin: Buffer.from('hi').toString('base64'),
      ts: Timestamp.fromBits(1, 2).toString(),
      nested: [{ at: at(1).toISOString(), ids: [hex(7)] }],
      inf: null,
    });
    expect(normaliseDocument({ _id: 'x', id: 'own' })).toEqual({ _id: 'x', id: 'own' });
  });

  it('takes the database from the URL path, default pxe', () => {
    expect(dbNameFromUrl('mongodb://h:27017/pxe')).toBe('pxe');
    expect(dbNameFromUrl('mongodb://u:p@h1:1,h2:2/rackhd?replicaSet=rs')).toBe('rackhd');
    expect(dbNameFromUrl('mongodb+srv://cluster.example.com/?retryWrites=true')).toBeUndefined();
    expect(dbNameFromUrl('mongodb://h:27017')).toBeUndefined();
    expect(new MongoSource({ url: 'mongodb://127.0.0.1:1' }).dbName).toBe('pxe');
    expect(new MongoSource({ url: 'mongodb://127.0.0.1:1/a', db: 'b' }).dbName).toBe('b');
    expect(toMongoFilter({})).toEqual({});
  });
});

/** A server on MongoDB (memory for logs/events), with the driver's commands recorded. */
async function serve(url: string): Promise<{ server: MonorailServer; commands: CommandStartedEvent[] }> {
  const server = await createServer({
    port: 0,
    mongo: {
      url,
      serverSelectionTimeoutMS: 400,
      recovery: { baseMs: 50, maxMs: 200 },
      clientOptions: { monitorCommands: true, heartbeatFrequencyMS: 500 },
    },
  });
  cleanup.push(() => server.close());
  const commands: CommandStartedEvent[] = [];
  server.mongo!.client.on('commandStarted', (e) => commands.push(e));
  return { server, commands };
}

async function client(server: MonorailServer, channel: string): Promise<RawClient> {
  const c = await RawClient.connect(`${server.url}/${channel}`);
  cleanup.push(() => c.close());
  return c;
}

describe('server on MongoDB', () => {
  it('serves the collection channels from MongoDB and logs/events from memory', async () => {
    const { url } = await seeded();
    const { server, commands } = await serve(url);
    const c = await client(server, 'nodes');
    const lists: Record<string, number> = {};
    for (const channel of ['nodes', 'catalogs', 'skus', 'workflows', 'graphObjs', 'pollers', 'logs', 'events']) {
      const list = await c.request({ handler: 'all', resource: channel }, 'list');
      lists[channel] = list.items.length;
    }
    expect(lists).toEqual({ nodes: 4, catalogs: 3, skus: 2, workflows: 2, graphObjs: 2, pollers: 1, logs: 0, events: 0 });
    expect(commands.filter((e) => e.commandName === 'find').map((e) => e.command.find)).toEqual([
      'nodes',
      'catalogs',
      'skus',
      'graphobjects',
      'graphobjects',
      'workitems',
    ]);
    const got = await c.request({ handler: 'get', params: { id: hex(3) } }, 'item');
    expect(got).toEqual({
      handler: 'item',
      resource: 'nodes',
      id: hex(3),
      data: { id: hex(3), name: 'sw', type: 'switch', sku: null, identifiers: [], createdAt: at(3).toISOString() },
    });
    const missing = await c.request({ handler: 'get', params: { id: hex(99) } }, 'remove');
    expect(missing).toEqual({ handler: 'remove', resource: 'nodes', id: hex(99), params: { id: hex(99) } });
  });

  it('never sends MongoDB $where, $function, $expr, $regex or operator-shaped keys hidden in arrays and objects', async () => {
    const { url } = await seeded();
    const { server, commands } = await serve(url);
    const c = await client(server, 'nodes');
    await c.request({ handler: 'query', params: {} }, 'list'); // handshake done; from here on only our reads count
    commands.splice(0);
    const evil: unknown[] = [
      { $where: 'function () { while (true) {} }' },
      { $function: { body: 'return true', args: [], lang: 'js' } },
      { $expr: { $eq: ['$type', 'compute'] } },
      { $or: [{ type: 'compute' }, { $where: 'true' }] },
      { name: { $regex: '^n' } },
      { obms: { $elemMatch: { service: { $regex: 'ipmi' } } } },
      { data: { nested: { $regex: 'x' } } },
      { identifiers: { $in: [{ $regex: '52' }] } },
      { identifiers: { $in: [{ nested: { $where: 'true' } }] } },
      { tags: ['a', { $gt: '' }] },
      { type: { $ne: { $expr: 1 } } },
      { 'relations.$where': 1 },
      { 'a.$[]': 1 },
      { type: { $eq: 'compute' } },
      { type: { $gt: 'a', sub: 1 } },
      JSON.parse('{"__proto__": {"polluted": 1}}'),
      { constructor: { prototype: { x: 1 } } },
    ];
    for (const params of evil) {
      for (const handler of ['watch', 'query', 'get']) c.send({ handler, params });
    }
    const errors = await waitFor(() => {
      const got = c.pending().filter((f) => f.handler === 'error');
      return got.length === evil.length * 3 && got;
    });
    expect(new Set(errors.map((e) => e.handler === 'error' && e.params.code))).toEqual(new Set(['bad-params']));
    expect(c.pending().filter((f) => f.handler !== 'error')).toEqual([]);
    expect(commands).toEqual([]);
    expect(server.hub.stats().watches).toBe(0);

    // Good params go through exactly as translated.
    c.send({ handler: 'query', params: { type: { $in: ['compute', 'pdu'] }, sku: { $exists: true } } });
    c.send({ handler: 'query', resource: 'catalogs', params: { node: hex(1), 'data.System Information.Manufacturer': 'Dell Inc.' } });
    await waitFor(() => c.pending().filter((f) => f.handler === 'list').length === 2);
    expect(commands.filter((e) => e.commandName === 'find').map((e) => e.command.filter)).toEqual([
      { type: { $in: ['compute', 'pdu'] }, sku: { $exists: true } },
      { node: { $in: [hex(1), oid(1)] }, 'data.System Information.Manufacturer': 'Dell Inc.' },
    ]);
    const sentText = JSON.stringify(commands.map((e) => e.command));
    for (const op of ['$where', '$function', '$expr', '$regex', '$or', '$elemMatch', 'polluted']) expect(sentText).not.toContain(op);
  });

  it.skipIf(external)(
    'MongoDB down: source-unavailable errors, other channels keep working, and watches re-snapshot by themselves when it returns',
    async () => {
      const { url, db } = await seeded();
      const { server } = await serve(url);
      const watcher = await client(server, 'nodes');
      watcher.send({ handler: 'watch', params: { type: 'compute' } });
      expect((await watcher.next('list')).items).toHaveLength(2);

      await wire!.stop();
      const other = await client(server, 'skus');
      const failed = await other.request({ handler: 'watch', params: {} }, 'error');
      expect(failed.params).toMatchObject({ code: 'source-unavailable', request: { handler: 'watch', params: {} } });
      expect(failed.params.message).not.toContain('127.0.0.1'); // no internals in what clients see
      const logs = await other.request({ handler: 'all', resource: 'logs' }, 'list');
      expect(logs.items).toEqual([]);
      expect(await other.request({ handler: 'init' }, 'session')).toMatchObject({ handler: 'session' });

      // What changed while it was down (written straight into the wire server: MongoDB is not reachable to the driver).
      wire!.collection(db, 'nodes').push({ _id: oid(5), name: 'n5', type: 'compute' });
      wire!.collection(db, 'skus').push({ _id: oid(23), name: 'new sku', rules: [] });
      await wire!.resume();
      const sku = await other.next('list', 10_000);
      expect(sku.items.map((d) => d.name)).toEqual(['R640', 'D51B', 'new sku']);
      // The nodes watch never failed, so it is not re-snapshotted: it only learns through changes. Its next read works.
      const again = await watcher.request({ handler: 'query', params: { type: 'compute' } }, 'list');
      expect(again.items.map((d) => d.id)).toEqual([hex(1), hex(2), hex(5)]);
    },
  );

  it.skipIf(external)('starts while MongoDB is down and serves it once it is up', async () => {
    const { url } = await seeded();
    await wire!.stop();
    cleanup.push(() => wire!.resume());
    const { server } = await serve(url);
    const c = await client(server, 'nodes');
    const err = await c.request({ handler: 'watch', params: { type: 'switch' } }, 'error');
    expect(err.params.code).toBe('source-unavailable');
    await wire!.resume();
    expect(await c.next('list', 10_000)).toMatchObject({ params: { type: 'switch' }, items: [{ id: hex(3) }] });
  });

  it('MongoDB refusing reads (failCommand failpoint): source-unavailable, then a re-snapshot when reads work again', async (ctx) => {
    const { url, admin } = await seeded();
    const { server } = await serve(url);
    const enable = await admin
      .db('admin')
      .command({ configureFailPoint: 'failCommand', mode: 'alwaysOn', data: { failCommands: ['find'], errorCode: 13 } })
      .catch((err: Error) => err);
    if (enable instanceof Error) ctx.skip(`failCommand failpoint unavailable (mongod needs enableTestCommands): ${enable.message}`);
    cleanup.push(() =>
      admin
        .db('admin')
        .command({ configureFailPoint: 'failCommand', mode: 'off' })
        .catch(() => undefined),
    );
    const c = await client(server, 'nodes');
    const err = await c.request({ handler: 'watch', params: { type: 'switch' } }, 'error');
    expect(err.params).toMatchObject({ code: 'source-unavailable', message: expect.stringContaining('code 13') });
    await admin.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
    const list = await c.next('list', 10_000);
    expect(list).toMatchObject({ params: { type: 'switch' }, items: [{ id: hex(3) }] });
  });
});

describe('records as clients see them', () => {
  it('a record from MongoDB is plain JSON that `matches` can evaluate', () => {
    const doc: Doc = normaliseDocument({ _id: oid(1), node: oid(2), at: at(0) });
    expect(matches(doc, { id: hex(1), node: hex(2), at: at(0).toISOString() })).toBe(true);
  });
});

describe('the wire-level test server', () => {
  it.skipIf(external)('was sent no command it does not implement by anything in this file (runs last)', () => {
    expect(wire!.unknownCommands).toEqual([]);
    const names = new Set(wire!.commands.map((c) => c.name));
    for (const name of ['ismaster', 'find', 'insert', 'dropDatabase', 'configureFailPoint']) expect(names).toContain(name);
  });
});
