/**
 * The RabbitMQ feeds against the real broker on this machine: RackHD-format messages published by a plain
 * amqplib connection reach watchers (filtered server-side), update the memory backend, and never let a malformed
 * message through; bindings follow demand as the broker itself reports them; the server's own named connection
 * closed by the broker is reopened, rebound and re-snapshotted; broadcast crosses instances. Every test has its
 * own exchange prefix. Broker restarts (stop_app) live in test/broker-faults.serial.test.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ObjectId, MongoClient } from 'mongodb';
import WebSocket from 'isomorphic-ws';
import { afterEach, expect, it } from 'vitest';
import { Connection } from '../../client/index.js';
import { backoffDelay, DEFAULTS, type Doc, type Timers } from '../../protocol/index.js';
import { RawClient } from '../../test/support/raw-client.js';
import { waitFor } from '../../test/support/wait.js';
import { MongoWireServer } from '../../test/support/mongo-wire/server.js';
import {
  AMQP_URL,
  bindingsOf,
  brokerConnections,
  closeBrokerConnection,
  deleteExchanges,
  queueDepth,
  RackhdPublisher,
  rabbitmqctl,
  testPrefix,
} from '../../test/support/rabbit.js';
import { describeRabbit } from '../../test/support/services.js';
import { AmqpLink, type ReconnectOptions } from './amqp-link.js';
import { demoFixtures, makeEvent, makeLog, makeNode } from '../demo/fixtures.js';
import { lineLogger } from '../cli/line-logger.js';
import { createServer, type MonorailServer, type ServerOptions } from '../server.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Served {
  server: MonorailServer;
  prefix: string;
  queue: string;
  logs: string[];
}

/** A server on the broker with a fresh prefix (or the given one: instances of one deployment share it). */
async function serve(options: Partial<ServerOptions> = {}, prefix = testPrefix()): Promise<Served> {
  const logs: string[] = [];
  const server = await createServer({
    port: 0,
    amqp: { url: AMQP_URL, exchangePrefix: prefix, reconnect: { baseMs: 50, maxMs: 400 } },
    logger: lineLogger((line) => logs.push(line), 'debug'),
    ...options,
  });
  cleanup.push(() => deleteExchanges(prefix));
  cleanup.push(() => server.close());
  return { server, prefix, queue: `${prefix}monorail-ws.${server.instanceId}`, logs };
}

async function publisher(prefix: string): Promise<RackhdPublisher> {
  const pub = await RackhdPublisher.open(prefix);
  cleanup.push(() => pub.close());
  return pub;
}

async function client(server: MonorailServer, channel: string): Promise<RawClient> {
  const c = await RawClient.connect(`${server.url}/${channel}`);
  cleanup.push(() => c.close());
  return c;
}

async function mongoWire(): Promise<{ url: string; wire: MongoWireServer; db: MongoClient }> {
  const wire = await MongoWireServer.start();
  cleanup.push(() => wire.close());
  const url = wire.url('pxe');
  const db = new MongoClient(url);
  cleanup.push(() => db.close());
  return { url, wire, db };
}

it('a broker that cannot be reached does not keep the server from starting and serving; it keeps retrying until close()', async () => {
  const logs: string[] = [];
  const server = await createServer({
    port: 0,
    amqp: { url: 'amqp://guest:guest@127.0.0.1:1', reconnect: { baseMs: 10, maxMs: 20 } },
    logger: lineLogger((line) => logs.push(line), 'debug'),
  });
  cleanup.push(() => server.close());
  const c = await client(server, 'nodes');
  expect((await c.request({ handler: 'all' }, 'list')).items).toHaveLength(demoFixtures().nodes!.length);
  await waitFor(() => logs.filter((l) => l.includes('amqp connect failed')).length >= 3, 5000, 'retries');
  expect(server.amqp!.link.state).not.toBe('up');
  server.broadcast({ handler: 'notice' }); // local delivery still works without the broker
  expect(await c.next()).toEqual({ handler: 'notice' });
  await server.close();
  const after = logs.length;
  await new Promise((r) => setTimeout(r, 100)); // ten retry periods: none may follow close()
  expect(logs.slice(after).filter((l) => l.includes('amqp connect failed'))).toEqual([]);
});

/** An AmqpLink to a port nobody listens on, with timers that run only when the test fires them. */
function unreachableLink(reconnect?: ReconnectOptions) {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let seq = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      pending.set(++seq, { fn, ms });
      return seq;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  const link = new AmqpLink({
    url: 'amqp://guest:guest@127.0.0.1:1',
    connectionName: 'backoff',
    queue: 'backoff',
    timers,
    random: () => 0.5,
    reconnect,
  });
  cleanup.push(() => link.close());
  /** Runs the one pending retry and returns its delay once the attempt it started failed and scheduled the next. */
  const retry = async (): Promise<number> => {
    const [[id, { fn, ms }]] = [...pending] as [[number, { fn: () => void; ms: number }]];
    pending.delete(id);
    fn();
    await waitFor(() => pending.size === 1, 5000, 'the next retry');
    return ms;
  };
  return { link, pending, retry };
}

it('the link waits backoffDelay over DEFAULTS.amqpBackoff between attempts, on its injected timers and randomness; close() cancels the wait', async () => {
  const { link, pending, retry } = unreachableLink();
  await link.start(); // resolves once the first attempt failed, its retry scheduled
  expect(pending.size).toBe(1);
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) delays.push(await retry());
  expect(delays).toEqual(Array.from({ length: 7 }, (_, attempt) => backoffDelay(attempt, DEFAULTS.amqpBackoff, () => 0.5)));
  expect(delays).toEqual([375, 750, 1500, 3000, 6000, 7500, 7500]);
  expect(link.state).toBe('down');
  await link.close();
  expect(pending.size).toBe(0);
  expect(link.state).toBe('closed');
});

it('amqp.reconnect overrides the fields it names of DEFAULTS.amqpBackoff', async () => {
  const { link, pending, retry } = unreachableLink({ baseMs: 100, jitter: 0 });
  await link.start();
  expect([...pending.values()].map((t) => t.ms)).toEqual([100]);
  expect([await retry(), await retry()]).toEqual([100, 200]);
});

await describeRabbit('RabbitMQ feeds', () => {
  it('opens one named connection per instance and an exclusive auto-delete queue consumed with DEFAULTS.amqpPrefetch, both gone after close()', async () => {
    const { server, queue } = await serve();
    const name = `monorail-ws ${server.instanceId}`;
    expect((await brokerConnections()).filter((c) => c.name === name)).toHaveLength(1);
    const queues = await rabbitmqctl('list_queues', '--no-table-headers', 'name', 'exclusive', 'auto_delete');
    expect(queues).toContain(`${queue}\ttrue\ttrue`);
    const consumers = await rabbitmqctl('list_consumers', '--no-table-headers', 'queue_name', 'prefetch_count');
    expect(consumers).toContain(`${queue}\t${DEFAULTS.amqpPrefetch}`);
    await server.close();
    expect((await brokerConnections()).filter((c) => c.name === name)).toHaveLength(0);
    expect(await queueDepth(queue)).toBeUndefined();
  });

  it('waterline events update the memory backend whether watched or not, and reach watchers as item/remove', async () => {
    const { server, prefix } = await serve();
    const pub = await publisher(prefix);
    const backend = server.backend!;
    const created = makeNode(60, 'compute');
    pub.waterline('nodes', 'created', created);
    await waitFor(() => backend.get('nodes', { id: created.id as string }), 5000, 'unwatched create applied');

    const c = await client(server, 'nodes');
    c.send({ handler: 'watch', params: { type: 'compute' } });
    const list = await c.next('list');
    expect(list.items.map((d) => d.id)).toContain(created.id);
    const [first, second] = demoFixtures().nodes!;
    pub.waterline('nodes', 'updated', { ...created, name: 'renamed' });
    pub.waterline('nodes', 'updated', { ...first!, type: 'switch' });
    pub.waterline('nodes', 'destroyed', second!);
    const frames = [await c.next(), await c.next(), await c.next()];
    expect(frames).toEqual([
      { handler: 'item', resource: 'nodes', id: created.id, data: { ...created, name: 'renamed' } },
      { handler: 'remove', resource: 'nodes', id: first!.id },
      { handler: 'remove', resource: 'nodes', id: second!.id },
    ]);
    expect(backend.get('nodes', { id: first!.id as string })).toMatchObject({ type: 'switch' });
    expect(backend.get('nodes', { id: second!.id as string })).toBeUndefined();
  });

  it('on.events: RackHD events reach the events channel, and graph.# events (4–5 word keys) update a workflow’s _status', async () => {
    const { server, prefix } = await serve();
    const pub = await publisher(prefix);
    const running = demoFixtures().workflows!.find((w) => w._status === 'running')!;
    const c = await client(server, 'workflows');
    c.send({ handler: 'watch', params: { _status: { $in: ['running', 'succeeded'] } } });
    c.send({ handler: 'watch', resource: 'events', params: { type: 'graph' } });
    await c.next('list');
    await c.next('list');

    const finished = makeEvent(10, 'graph', 'finished', running.instanceId as string, running.node as string, {
      graphId: running.instanceId as string,
      status: 'succeeded',
    });
    pub.event(finished);
    pub.raw('on.events', `graph.finished.${String(running.instanceId)}`, { graphId: running.instanceId, status: 'succeeded' }); // 1.x key: same status, no second change
    pub.event(makeEvent(11, 'node', 'discovered', 'n9', 'n9')); // not a graph event: filtered out by the watch
    await waitFor(() => server.amqp!.link.stats.acked === 3, 5000, 'all three handled');
    const frames = await waitFor(() => (c.pending().length >= 2 ? c.pending() : undefined));
    expect(frames).toEqual([
      { handler: 'item', resource: 'events', id: expect.any(String), data: { ...finished, id: expect.any(String) } },
      { handler: 'item', resource: 'workflows', id: running.instanceId, data: { ...running, _status: 'succeeded' } },
    ]);
    expect(await c.drain()).toHaveLength(2);
    expect(server.backend!.get('workflows', { instanceId: running.instanceId as string })).toMatchObject({ _status: 'succeeded' });
    expect(server.amqp!.feed.stats.ignored).toBe(0);

    // A failed graph leaves the watch ({_status $in running/succeeded}): the client gets remove.
    pub.event(makeEvent(12, 'graph', 'finished', running.instanceId as string, running.node as string, { status: 'failed' }));
    expect(await c.next('remove')).toEqual({ handler: 'remove', resource: 'workflows', id: running.instanceId });
  });

  it('on.logging: log events reach the logs channel filtered server-side by {subject} and {level: {$in}}, and are kept in memory', async () => {
    const { server, prefix } = await serve();
    const pub = await publisher(prefix);
    const bySubject = await client(server, 'logs');
    const byLevel = await client(server, 'logs');
    bySubject.send({ handler: 'watch', params: { subject: 'node-x' } });
    byLevel.send({ handler: 'watch', params: { level: { $in: ['error', 'warning'] } } });
    await bySubject.next('list');
    await byLevel.next('list');
    const logs = [
      makeLog(101, 'node-x', 'info', 'x starts'),
      makeLog(102, 'node-y', 'error', 'y fails'),
      makeLog(103, 'node-x', 'warning', 'x retries'),
    ];
    for (const log of logs) pub.log(log);
    await waitFor(() => server.backend!.read('logs', { message: 'x retries' }, 10).length === 1);
    const messages = async (c: RawClient) => (await c.drain()).map((f) => f.handler === 'item' && f.data.message);
    expect(await messages(bySubject)).toEqual(['x starts', 'x retries']);
    expect(await messages(byLevel)).toEqual(['y fails', 'x retries']);
    const all = await bySubject.request({ handler: 'query', params: { subject: { $in: ['node-x', 'node-y'] } } }, 'list');
    expect(all.items.map((d) => d.message)).toEqual(['x starts', 'y fails', 'x retries']);
  });

  it('malformed messages (not JSON, wrong shape, unknown collection) are logged and acknowledged, never reach clients, never stop the server', async () => {
    const { server, prefix, queue, logs } = await serve();
    const pub = await publisher(prefix);
    const c = await client(server, 'nodes');
    for (const channel of ['nodes', 'events', 'logs', 'workflows']) {
      c.send({ handler: 'watch', resource: channel, params: {} });
      await c.next('list');
    }
    const bad: Array<[string, string, string | object]> = [
      ['on.waterline', 'nodes.created.1', 'not json at all'],
      ['on.waterline', 'nodes.created.1', '{"event": "created", "record": '],
      ['on.waterline', 'nodes.created.1', { event: 'created' }],
      ['on.waterline', 'nodes.created.1', { event: 'created', record: 'a string' }],
      ['on.waterline', 'nodes.created.1', { event: 'created', record: { name: 'no id', id: { nested: true } } }],
      ['on.waterline', 'nodes.exploded.1', { event: 'exploded', record: { id: '1' } }],
      ['on.waterline', 'graphobjects.created.1', { event: 'created', record: { id: '1' } }],
      ['on.events', 'graph.finished.information.x', '<xml/>'],
      ['on.events', 'node.discovered.information.x', '[1, 2, 3]'],
      ['on.logging', 'info', { level: 'info' }],
      ['on.logging', 'error', 'null'],
    ];
    for (const [exchange, key, body] of bad) pub.raw(exchange, key, body);
    // Unknown collections are not even routed to the queue (bindings name known ones; rackhd.test.ts covers the
    // parse), but a message can always be put straight into the queue, bypassing every binding.
    pub.toQueue(queue, JSON.stringify({ event: 'created', record: { id: 'x' } }));
    const good = makeNode(61, 'compute');
    pub.waterline('nodes', 'created', good);
    expect(await c.next()).toEqual({ handler: 'item', resource: 'nodes', id: good.id, data: good });
    expect(await c.drain()).toEqual([]);
    const feed = server.amqp!.feed;
    const link = server.amqp!.link;
    expect(feed.stats.malformed).toBe(bad.length);
    expect(link.stats.unexpected).toBe(1);
    await waitFor(() => link.stats.acked === bad.length + 2);
    expect(link.stats.received).toBe(bad.length + 2);
    // One line per kind of malformation (unplaceable.ts), each message counted.
    const counts = feed.unplaceable.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(bad.length);
    expect(logs.filter((l) => l.includes(' warn malformed broker message dropped'))).toHaveLength(Object.keys(counts).length);
    expect(logs.filter((l) => l.includes(' warn broker message from an unexpected exchange dropped'))).toHaveLength(1);
    expect(logs.filter((l) => / error /.test(l))).toEqual([]);
    expect(await queueDepth(queue)).toEqual({ ready: 0, unacked: 0 });
    expect(link.state).toBe('up');
    expect((await c.request({ handler: 'get', params: { id: good.id } }, 'item')).data).toEqual(good);
  });

  it('with MongoDB, bindings exist while a channel is watched (the broker’s own view), then a watch is re-snapshotted once bound', async () => {
    const { url, db } = await mongoWire();
    const node = { _id: new ObjectId(), name: 'n1', type: 'compute' };
    await db.db().collection('nodes').insertOne(node);
    const graph = {
      _id: new ObjectId(),
      instanceId: 'b0b0b0b0-0000-4000-a000-000000000001',
      name: 'Discovery',
      node: node._id,
      _status: 'running',
    };
    await db.db().collection('graphobjects').insertOne(graph);
    const { server, prefix, queue } = await serve({ mongo: { url } });
    const p = (e: string) => prefix + e;
    const retained = [
      { source: p('monorail-ws.broadcast'), routingKey: '' },
      { source: p('on.events'), routingKey: '#' },
      { source: p('on.logging'), routingKey: '#' },
    ];
    expect(await bindingsOf(queue)).toEqual(retained);

    const a = await client(server, 'nodes');
    const b = await client(server, 'nodes');
    a.send({ handler: 'watch', params: { type: 'compute' } });
    b.send({ handler: 'watch', params: {} });
    a.send({ handler: 'watch', resource: 'workflows', params: {} });
    // Each watch gets its snapshot, and once its channel's bindings exist a fresh one, so nothing published between
    // the first read and the binding is lost. A first read still in flight when the re-snapshot starts is superseded
    // (an older list never overwrites a newer one), so a watch sees one list or two: wait for each watch's list.
    const listed = (c: RawClient) =>
      new Set(c.pending().flatMap((f) => (f.handler === 'list' ? [`${f.resource} ${JSON.stringify(f.params)}`] : []))).size;
    await waitFor(() => listed(a) === 2 && listed(b) === 1);
    await server.amqp!.link.settled();
    expect(await bindingsOf(queue)).toEqual(
      [
        ...retained,
        { source: p('on.events'), routingKey: 'graph.#' },
        { source: p('on.waterline'), routingKey: 'graphobjects.*.*' },
        { source: p('on.waterline'), routingKey: 'nodes.*.*' },
      ].sort((x, y) => (x.source + x.routingKey).localeCompare(y.source + y.routingKey)),
    );

    // RackHD writes MongoDB and publishes the record; watchers get it from the event.
    const pub = await publisher(prefix);
    const created = { id: new ObjectId().toHexString(), name: 'n2', type: 'compute' };
    pub.waterline('nodes', 'created', created);
    expect(await waitFor(() => a.frames.find((f) => f.handler === 'item'))).toEqual({
      handler: 'item',
      resource: 'nodes',
      id: created.id,
      data: created,
    });
    // A graph event carries only the status: the workflow is read from MongoDB and sent with it.
    pub.event(makeEvent(20, 'graph', 'finished', graph.instanceId, node._id.toHexString(), { status: 'succeeded' }));
    expect(await waitFor(() => a.frames.find((f) => f.handler === 'item' && f.resource === 'workflows'))).toEqual({
      handler: 'item',
      resource: 'workflows',
      id: graph.instanceId,
      data: {
        id: graph._id.toHexString(),
        instanceId: graph.instanceId,
        name: 'Discovery',
        node: node._id.toHexString(),
        _status: 'succeeded',
      },
    });
    // logs and events live in this instance's memory also when MongoDB serves the collections.
    pub.log(makeLog(30, node._id.toHexString(), 'info', 'kept in memory'));
    await waitFor(() => server.backend!.read('logs', {}, 10).length === 1 && server.backend!.read('events', {}, 10).length === 1);
    const reader = await client(server, 'logs');
    expect((await reader.request({ handler: 'query', params: { subject: node._id.toHexString() } }, 'list')).items).toMatchObject([
      { message: 'kept in memory' },
    ]);

    a.send({ handler: 'stop', params: { type: 'compute' } });
    b.close();
    a.send({ handler: 'stop', resource: 'workflows', params: {} });
    await waitFor(() => server.hub.activeChannels().length === 0);
    await server.amqp!.link.settled();
    expect(await bindingsOf(queue)).toEqual(retained);
  });

  it('when the broker closes the server’s own named connection it reconnects, rebinds and re-snapshots, so clients converge on what they missed', async () => {
    const { url, db } = await mongoWire();
    await db.db().collection('nodes').insertOne({ _id: new ObjectId(), name: 'n1', type: 'compute' });
    const { server, prefix, queue } = await serve({ mongo: { url } });
    const pub = await publisher(prefix);
    const store = new Connection(`${server.url}/nodes`, { WebSocket, backoff: { baseMs: 5, maxMs: 50 }, heartbeat: false });
    cleanup.push(() => store.disconnect());
    store.watch({});
    await waitFor(() => store.store.size === 1);
    await server.amqp!.link.settled();
    const before = await bindingsOf(queue);

    // A change whose event never reaches this instance (it happens while the broker drops the connection).
    const missed = { _id: new ObjectId(), name: 'missed', type: 'switch' };
    await db.db().collection('nodes').insertOne(missed);
    const name = `monorail-ws ${server.instanceId}`;
    expect(await closeBrokerConnection(name)).toBe(1);
    await waitFor(() => server.amqp!.link.stats.connects === 2 && server.amqp!.link.state === 'up', 10_000, 'reconnect');
    await waitFor(() => store.store.get(missed._id.toHexString()), 5000, 'the re-snapshot brings what was missed');
    await server.amqp!.link.settled();
    expect(await bindingsOf(queue)).toEqual(before);
    expect((await brokerConnections()).filter((c) => c.name === name)).toHaveLength(1);

    const after = { id: new ObjectId().toHexString(), name: 'after', type: 'compute' };
    pub.waterline('nodes', 'created', after);
    await waitFor(() => store.store.get(after.id), 5000, 'events flow again');
    expect(store.store.size).toBe(3);
  });

  it('server.broadcast reaches the clients of every instance; skip by session id works everywhere, a predicate only locally', async () => {
    const prefix = testPrefix();
    const a = await serve({}, prefix);
    const b = await serve({}, prefix);
    const a1 = await client(a.server, 'nodes');
    const b1 = await client(b.server, 'nodes');
    const b2 = await client(b.server, 'nodes');
    const ids = await Promise.all([a1, b1, b2].map(async (c) => (await c.request({ handler: 'init' }, 'session')).id));
    a.server.broadcast({ handler: 'notice', n: 1 });
    a.server.broadcast({ handler: 'notice', n: 2 }, ids[1]); // b1 by session id, across instances
    b.server.broadcast({ handler: 'notice', n: 3 }, [ids[0]!, ids[2]!]); // a1 and b2
    a.server.broadcast({ handler: 'notice', n: 4 }, () => true); // a predicate skips every local client, none remote
    a.server.broadcast({ handler: 'notice', n: 5 });
    // Markers from both instances: each publisher's messages arrive in order, so after both markers nothing earlier
    // is still on its way.
    a.server.broadcast({ handler: 'notice', n: 6 });
    b.server.broadcast({ handler: 'notice', n: 7 });
    const notices = async (c: RawClient) => {
      const ns = await waitFor(() => {
        const got = c.frames.map((f) => (f as unknown as { n?: number }).n).filter((n): n is number => n !== undefined);
        return got.includes(6) && got.includes(7) && got;
      });
      return ns.filter((n) => n < 6).sort();
    };
    expect(await notices(a1)).toEqual([1, 2, 5]);
    expect(await notices(b1)).toEqual([1, 3, 4, 5]);
    expect(await notices(b2)).toEqual([1, 2, 4, 5]);
  });

  it('a waterline event published by the plain amqplib script reaches a browser-side Connection through the server', async () => {
    const { server, prefix } = await serve();
    const c = new Connection(`${server.url}/nodes`, { WebSocket, heartbeat: false });
    cleanup.push(() => c.disconnect());
    c.watch({ type: 'compute' });
    await waitFor(() => c.store.size === 4);
    const record: Doc = { ...makeNode(70, 'compute'), name: 'from the script' };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/publish-waterline.ts',
        '--url',
        AMQP_URL,
        '--exchange-prefix',
        prefix,
        '--record',
        JSON.stringify(record),
      ],
      { env: { ...process.env } },
    );
    expect(stdout).toContain(`published ${prefix}on.waterline nodes.created.${String(record.id)}`);
    await waitFor(() => c.store.get(record.id as string), 5000, 'the record in the store');
    expect(c.store.get(record.id as string)).toEqual(record);
  });
});

it('a server that cannot listen (port taken) releases its broker connection and MongoDB driver before failing', async () => {
  const wire = await MongoWireServer.start();
  cleanup.push(() => wire.close());
  const first = await createServer({ port: 0 });
  cleanup.push(() => first.close());
  const logs: string[] = [];
  await expect(
    createServer({
      port: first.port,
      mongo: { url: wire.url('pxe') },
      amqp: { url: 'amqp://guest:guest@127.0.0.1:1', reconnect: { baseMs: 10, maxMs: 20 } },
      logger: lineLogger((line) => logs.push(line), 'debug'),
    }),
  ).rejects.toThrow(/EADDRINUSE/);
  const after = logs.length;
  await new Promise((r) => setTimeout(r, 100)); // ten retry periods: none may follow the failure
  expect(logs.slice(after).filter((l) => l.includes('amqp connect failed'))).toEqual([]);
});
