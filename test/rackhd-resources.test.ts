/**
 * The six resources RackHD's 1.x socket server also served — graphDefs, taskDefs, templates, profiles, files,
 * lookups — as channels like the others: demo records from memory, their MongoDB collections, their waterline
 * changes through the real broker, under RackHD's names and the collections' names alike.
 */
import { MongoClient, ObjectId } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_ALIASES } from '../protocol/index.js';
import { DEFAULT_CHANNELS } from '../server/hub/channels.js';
import { demoFixtures } from '../server/demo/fixtures.js';
import { RACKHD_EXCHANGES, waterlineMessage } from '../server/feeds/rackhd.js';
import { createServer, type MonorailServer, type ServerOptions } from '../server/server.js';
import { MongoWireServer } from './support/mongo-wire/server.js';
import { AMQP_URL, deleteExchanges, RackhdPublisher, testPrefix } from './support/rabbit.js';
import { RawClient } from './support/raw-client.js';
import { describeRabbit } from './support/services.js';

const SIX = ['graphdefinitions', 'taskdefinitions', 'templates', 'profiles', 'files', 'lookups'];
/** RackHD's socket names for them (on-wss lib/ws-resources.js). */
const RACKHD_NAMES = ['graphDefs', 'taskDefs', 'templates', 'profiles', 'files', 'lookups'];

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(options: Partial<ServerOptions> = {}): Promise<MonorailServer> {
  const server = await createServer({ port: 0, ...options });
  cleanup.push(() => server.close());
  return server;
}

async function client(server: MonorailServer, channel: string): Promise<RawClient> {
  const c = await RawClient.connect(`${server.url}/${channel}`);
  cleanup.push(() => c.close());
  return c;
}

describe('the six resources', () => {
  it('are in the channel table with their collections, waterline names and RackHD aliases', () => {
    for (const [i, name] of SIX.entries()) {
      const spec = DEFAULT_CHANNELS.find((s) => s.name === name)!;
      expect(spec).toMatchObject({ idField: 'id', appendOnly: false, collection: name, waterline: name });
      if (RACKHD_NAMES[i] !== name) expect(spec.aliases).toEqual([RACKHD_NAMES[i]]);
    }
    expect(CHANNEL_ALIASES.graphDefs).toBe('graphdefinitions');
  });

  it('serve their demo records from memory under RackHD’s names, with get, query and watch', async () => {
    const server = await serve();
    const fixtures = demoFixtures();
    const c = await client(server, 'graphDefs');
    for (const [i, name] of RACKHD_NAMES.entries()) {
      const list = await c.request({ handler: 'all', resource: name }, 'list');
      expect(list.items).toEqual(fixtures[SIX[i]!]);
      expect(list.items.length).toBeGreaterThan(0);
    }
    const discovery = fixtures.graphdefinitions!.find((g) => g.injectableName === 'Graph.SKU.Discovery')!;
    expect(await c.request({ handler: 'get', params: { injectableName: 'Graph.SKU.Discovery' } }, 'item')).toEqual({
      handler: 'item',
      resource: 'graphDefs',
      id: discovery.id,
      data: discovery,
    });
    // Every demo workflow's graph has a definition, and every compute node a lookup.
    for (const wf of fixtures.workflows!) expect(fixtures.graphdefinitions!.map((g) => g.injectableName)).toContain(wf.injectableName);
    const node = fixtures.nodes![0]!;
    const lookups = await c.request({ handler: 'query', resource: 'lookups', params: { node: node.id } }, 'list');
    expect(lookups.items).toMatchObject([{ node: node.id, macAddress: (node.identifiers as string[])[0] }]);
    c.send({ handler: 'watch', resource: 'taskDefs', params: {} });
    expect((await c.next('list')).items).toHaveLength(fixtures.taskdefinitions!.length);
    const added = server.backend!.upsert('taskDefs', { id: 'td-new', injectableName: 'Task.new', friendlyName: 'new' });
    expect(await c.next('item')).toEqual({ handler: 'item', resource: 'taskDefs', id: 'td-new', data: added });
  });

  it('are read from their MongoDB collections', async () => {
    const wire = await MongoWireServer.start();
    cleanup.push(() => wire.close());
    const db = new MongoClient(wire.url('pxe'));
    cleanup.push(() => db.close());
    const ids = new Map<string, ObjectId>();
    for (const name of SIX) {
      const _id = new ObjectId();
      ids.set(name, _id);
      await db
        .db()
        .collection(name)
        .insertOne({ _id, name: `${name}-1` });
    }
    const server = await serve({ mongo: { url: wire.url('pxe') } });
    const c = await client(server, 'nodes');
    for (const [i, name] of RACKHD_NAMES.entries()) {
      const list = await c.request({ handler: 'all', resource: name }, 'list');
      expect(list.items).toEqual([{ id: ids.get(SIX[i]!)!.toHexString(), name: `${SIX[i]}-1` }]);
    }
  });
});

await describeRabbit('the six resources on RabbitMQ', () => {
  it('follow their on.waterline changes (on-core lib/common/model.js afterCreate/afterUpdate/afterDestroy → publishRecord)', async () => {
    const prefix = testPrefix();
    const server = await serve({ amqp: { url: AMQP_URL, exchangePrefix: prefix } });
    cleanup.push(() => deleteExchanges(prefix));
    const pub = await RackhdPublisher.open(prefix);
    cleanup.push(() => pub.close());
    const c = await client(server, 'graphDefs');
    for (const name of RACKHD_NAMES) {
      c.send({ handler: 'watch', resource: name, params: {} });
      await c.next('list');
    }
    for (const [i, name] of SIX.entries()) {
      const record = { id: `${name}-x`, name: 'x' };
      for (const event of ['created', 'updated', 'destroyed'] as const) {
        const { routingKey, payload } = waterlineMessage(name, event, event === 'updated' ? { ...record, name: 'y' } : record);
        pub.raw(RACKHD_EXCHANGES.waterline, routingKey, payload);
      }
      expect(await c.next('item')).toEqual({ handler: 'item', resource: RACKHD_NAMES[i], id: record.id, data: record });
      expect(await c.next('item')).toEqual({ handler: 'item', resource: RACKHD_NAMES[i], id: record.id, data: { ...record, name: 'y' } });
      expect(await c.next('remove')).toEqual({ handler: 'remove', resource: RACKHD_NAMES[i], id: record.id });
    }
  });
});
