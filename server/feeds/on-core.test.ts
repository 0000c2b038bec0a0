/**
 * on-core's messages as on-core really builds them, published through the real broker (a per-test exchange
 * prefix): partial graphobjects updates merge into the known record (memory) or the re-read one (MongoDB) and are
 * never dropped; tag-added/tag-removed update the node; LogEvents carry `name` and subject `Server`; the 1.x graph
 * keys and the 2016+ events make one workflow change and one `events` entry; unplaceable messages are counted and
 * logged once per kind. Each payload names the on-core function it imitates (revision bff135f).
 */
import { MongoClient, ObjectId } from 'mongodb';
import { afterEach, expect, it } from 'vitest';
import type { Doc } from '../../protocol/index.js';
import { MongoWireServer } from '../../test/support/mongo-wire/server.js';
import { AMQP_URL, bindingsOf, deleteExchanges, RackhdPublisher, testPrefix } from '../../test/support/rabbit.js';
import { RawClient } from '../../test/support/raw-client.js';
import { describeRabbit } from '../../test/support/services.js';
import { waitFor } from '../../test/support/wait.js';
import { lineLogger } from '../cli/line-logger.js';
import { demoFixtures, makeLog } from '../demo/fixtures.js';
import { createServer, type MonorailServer, type ServerOptions } from '../server.js';
import { eventMessage, RACKHD_EXCHANGES, waterlineMessage, type WaterlineEventName } from './rackhd.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(options: Partial<ServerOptions> = {}) {
  const prefix = testPrefix();
  const logs: string[] = [];
  const server = await createServer({
    port: 0,
    amqp: { url: AMQP_URL, exchangePrefix: prefix, reconnect: { baseMs: 50, maxMs: 400 } },
    logger: lineLogger((line) => logs.push(line), 'debug'),
    ...options,
  });
  cleanup.push(() => deleteExchanges(prefix));
  cleanup.push(() => server.close());
  const pub = await RackhdPublisher.open(prefix);
  cleanup.push(() => pub.close());
  return { server, pub, logs, prefix };
}

async function client(server: MonorailServer, channel: string): Promise<RawClient> {
  const c = await RawClient.connect(`${server.url}/${channel}`);
  cleanup.push(() => c.close());
  return c;
}

/** on-core lib/protocol/waterline.js publishRecord(collection, event, record, id): `<identity>.<event>.<id>`, `{event, record}`. */
function publishRecord(pub: RackhdPublisher, identity: string, event: WaterlineEventName, record: Doc, id?: unknown): void {
  const { routingKey, payload } = waterlineMessage(identity, event, record, id ?? record.id);
  pub.raw(RACKHD_EXCHANGES.waterline, routingKey, payload);
}

/**
 * on-core lib/workflow/stores/mongo.js publishRecordByGraphId(graphId): needOneMongo({instanceId: graphId},
 * {_status: 1, error: 1}) — so only `_id`, `_status` and `error` — then graphobjects.publishRecord('updated',
 * graphData, graphId).
 */
function publishRecordByGraphId(pub: RackhdPublisher, graphId: string, mongoId: string, status: string): void {
  publishRecord(pub, 'graphobjects', 'updated', { _id: mongoId, _status: status }, graphId);
}

/**
 * on-core lib/protocol/events.js publishGraphFinished(graphId, data, nodeId): the 1.x key `graph.finished.<graphId>`
 * with `data` first, then publishGraphEvent → publishExternalEvent, the 2016+ event with `version` and `createdAt`.
 */
function publishGraphFinished(
  pub: RackhdPublisher,
  graphId: string,
  nodeId: string,
  data: { graphId: string; graphName: string; status: string },
): Doc {
  pub.raw(RACKHD_EXCHANGES.events, `graph.finished.${graphId}`, data);
  const event = {
    type: 'graph',
    action: 'finished',
    typeId: graphId,
    nodeId,
    severity: 'information',
    data,
    version: '1.0',
    createdAt: new Date().toISOString(),
  };
  const { routingKey, payload } = eventMessage(event);
  pub.raw(RACKHD_EXCHANGES.events, routingKey, payload);
  return event;
}

await describeRabbit("on-core's real messages", () => {
  it('a partial graphobjects update merges into the workflow the memory backend knows: every field kept, never dropped', async () => {
    const { server, pub } = await setup();
    const wf = demoFixtures().workflows!.find((w) => w._status === 'running')!;
    const c = await client(server, 'graphObjs');
    c.send({ handler: 'watch', params: { instanceId: wf.instanceId } });
    await c.next('list');
    publishRecordByGraphId(pub, wf.instanceId as string, '5f00000000000000000000aa', 'cancelled');
    const item = await c.next('item');
    // The server answers in the name the client used (RackHD's alias).
    expect(item).toEqual({ handler: 'item', resource: 'graphObjs', id: wf.instanceId, data: { ...wf, _status: 'cancelled' } });
    expect(server.backend!.get('workflows', { instanceId: wf.instanceId as string })).toEqual({ ...wf, _status: 'cancelled' });
    expect(server.amqp!.feed.stats).toMatchObject({ malformed: 0, unknown: 0 });
  });

  it('with MongoDB the record is re-read by the routing key’s instance id and sent whole', async () => {
    const wire = await MongoWireServer.start();
    cleanup.push(() => wire.close());
    const db = new MongoClient(wire.url('pxe'));
    cleanup.push(() => db.close());
    const _id = new ObjectId();
    const graph = {
      _id,
      instanceId: 'c0c0c0c0-0000-4000-a000-000000000001',
      name: 'Discovery',
      tasks: { t1: { state: 'pending' } },
      _status: 'running',
    };
    await db.db().collection('graphobjects').insertOne(graph);
    const { server, pub, prefix } = await setup({ mongo: { url: wire.url('pxe') } });
    const c = await client(server, 'workflows');
    c.send({ handler: 'watch', params: {} });
    await c.next('list');
    const queue = `${prefix}monorail-ws.${server.instanceId}`;
    await waitFor(async () => (await bindingsOf(queue)).some((b) => b.routingKey === 'graphobjects.*.*'));
    await c.drain(); // the re-snapshot once the binding is in place, if it was not in place before the first
    // The task-graph store writes first (setTaskState), then publishes the partial record.
    await db
      .db()
      .collection('graphobjects')
      .updateOne({ _id }, { $set: { _status: 'failed', 'tasks.t1.state': 'failed' } });
    publishRecordByGraphId(pub, graph.instanceId, _id.toHexString(), 'failed');
    const item = await c.next('item');
    expect(item.data).toMatchObject({
      id: _id.toHexString(),
      instanceId: graph.instanceId,
      name: 'Discovery',
      _status: 'failed',
      tasks: { t1: { state: 'failed' } },
    });
  });

  it('tag-added and tag-removed (lib/models/node.js addTags/remTags: updated, then the tag event, same record) update the node', async () => {
    const { server, pub } = await setup();
    const node = demoFixtures().nodes![0]!;
    const c = await client(server, 'nodes');
    c.send({ handler: 'watch', params: { tags: 'rack-7' } });
    await c.next('list');
    const tagged = { ...node, tags: ['rack-7'] };
    publishRecord(pub, 'nodes', 'updated', tagged);
    publishRecord(pub, 'nodes', 'tag-added', tagged);
    expect((await c.next('item')).data).toEqual(tagged);
    const untagged = { ...node, tags: [] };
    publishRecord(pub, 'nodes', 'updated', untagged);
    publishRecord(pub, 'nodes', 'tag-removed', untagged);
    expect(await c.next('remove')).toEqual({ handler: 'remove', resource: 'nodes', id: node.id });
    await waitFor(() => server.amqp!.link.stats.acked === 4);
    expect(server.amqp!.feed.stats).toMatchObject({ malformed: 0, ignored: 0 });
    expect(server.backend!.get('nodes', { id: node.id as string })).toEqual(untagged);
  });

  it("LogEvents as lib/common/logger.js builds them (name, subject 'Server') reach {subject: 'Server'} watchers", async () => {
    const { server, pub } = await setup();
    const c = await client(server, 'logs');
    c.send({ handler: 'watch', params: { subject: 'Server', name: 'on-taskgraph' } });
    await c.next('list');
    // lib/services/log-publisher.js handleLogEvent: published on on.logging with the level as routing key.
    const entry = makeLog(900, 'Server', 'info', 'Task graph runner started');
    pub.raw(RACKHD_EXCHANGES.logging, 'info', entry);
    expect((await c.next('item')).data).toEqual({ ...entry, id: expect.any(String) as string });
  });

  it('publishGraphFinished (1.x key, then the 2016+ event) makes one workflow change and one events entry', async () => {
    const { server, pub } = await setup();
    const wf = demoFixtures().workflows!.find((w) => w._status === 'running')!;
    const c = await client(server, 'workflows');
    c.send({ handler: 'watch', params: { instanceId: wf.instanceId } });
    c.send({ handler: 'watch', resource: 'events', params: { typeId: wf.instanceId } });
    await c.next('list');
    await c.next('list');
    const event = publishGraphFinished(pub, wf.instanceId as string, wf.node as string, {
      graphId: wf.instanceId as string,
      graphName: wf.name as string,
      status: 'succeeded',
    });
    await waitFor(() => server.amqp!.link.stats.acked === 2);
    const frames = await c.drain();
    expect(frames).toEqual([
      { handler: 'item', resource: 'workflows', id: wf.instanceId, data: { ...wf, _status: 'succeeded' } },
      { handler: 'item', resource: 'events', id: expect.any(String) as string, data: { ...event, id: expect.any(String) as string } },
    ]);
  });

  it('unplaceable messages are counted per kind and logged once per kind, not once per message', async () => {
    const { server, pub, logs, prefix } = await setup();
    const c = await client(server, 'workflows');
    c.send({ handler: 'watch', params: {} });
    await c.next('list');
    for (let i = 0; i < 30; i++) publishRecordByGraphId(pub, 'no-such-graph', '5f00000000000000000000ff', 'running');
    // Internal traffic on on.events, not in event format (task.finished.<taskId>): ignored, counted.
    for (let i = 0; i < 20; i++) pub.raw(RACKHD_EXCHANGES.events, `task.finished.t${i}`, { taskId: `t${i}` });
    for (let i = 0; i < 10; i++) pub.raw(RACKHD_EXCHANGES.waterline, 'graphobjects.updated.x', 'not json');
    // Straight into the queue, bypassing every binding: from an exchange the link never declared.
    for (let i = 0; i < 5; i++) pub.toQueue(`${prefix}monorail-ws.${server.instanceId}`, '{}');
    await waitFor(() => server.amqp!.link.stats.acked === 65);
    expect(server.amqp!.link.stats.unexpected).toBe(5);
    expect(logs.filter((l) => l.includes('broker message from an unexpected exchange dropped'))).toHaveLength(1);
    expect(server.amqp!.feed.stats).toMatchObject({ unknown: 30, malformed: 10 });
    expect(server.amqp!.feed.unplaceable.counts()).toEqual({
      'workflows:unknown-record': 30,
      'events:ignored:task.finished': 20,
      'waterline:not-json': 10,
    });
    expect(logs.filter((l) => l.includes('broker message ignored'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('partial update for a record the server does not know'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('malformed broker message dropped'))).toHaveLength(1);
    expect(await c.drain()).toEqual([]);
  });
});
