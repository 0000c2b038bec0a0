/**
 * Scale-out as deployed: two server processes on one RabbitMQ and one MongoDB (the wire-level test server, in a
 * process of its own so the source of truth outlives the servers). Each instance has its own queue, so every
 * instance sees every change; a client whose instance goes away reconnects to another (or to the restarted one)
 * and converges on MongoDB's content, including what changed while it was moving.
 */
import WebSocket from 'isomorphic-ws';
import { MongoClient, ObjectId } from 'mongodb';
import { afterEach, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import { byId } from './support/records.js';
import { waitFor } from './support/wait.js';
import { startMongoWireServer, startServer, type ServerProcess } from './support/processes.js';
import { AMQP_URL, brokerConnections, deleteExchanges, RackhdPublisher, testPrefix } from './support/rabbit.js';
import { describeRabbit } from './support/services.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function connection(url: string | string[]): Connection {
  const c = new Connection(url, { WebSocket, backoff: { baseMs: 10, maxMs: 100 }, heartbeat: false });
  cleanup.push(() => c.disconnect());
  return c;
}

await describeRabbit('two server instances on one RabbitMQ', () => {
  it('each instance sees every change; a client of a stopped instance fails over, and one of a restarted instance reconnects, both converging', async () => {
    const mongo = await startMongoWireServer();
    cleanup.push(() => mongo.stop('SIGKILL'));
    const mongoUrl = `${mongo.url}/pxe`;
    const db = new MongoClient(mongoUrl);
    cleanup.push(() => db.close());
    const nodes = db.db().collection('nodes');
    await nodes.insertMany([1, 2, 3].map((n) => ({ _id: new ObjectId(), name: `n${n}`, type: 'compute' })));

    const prefix = testPrefix();
    cleanup.push(() => deleteExchanges(prefix));
    const args = ['--port', '0', '--mongo', mongoUrl, '--amqp', AMQP_URL, '--exchange-prefix', prefix];
    let a: ServerProcess = await startServer(args);
    cleanup.push(() => a.stop('SIGKILL'));
    const b: ServerProcess = await startServer(args);
    cleanup.push(() => b.stop('SIGKILL'));
    const names = (await brokerConnections()).map((c) => c.name);
    const instanceOf = (p: ServerProcess) => /"instance":"([0-9a-f]+)"/.exec(p.output())![1]!;
    expect(names).toContain(`monorail-ws ${instanceOf(a)}`);
    expect(names).toContain(`monorail-ws ${instanceOf(b)}`);

    const pub = await RackhdPublisher.open(prefix);
    cleanup.push(() => pub.close());
    /** What RackHD does: write MongoDB, then publish the record on on.waterline. */
    const create = async (name: string) => {
      const doc = { _id: new ObjectId(), name, type: 'compute' };
      await nodes.insertOne(doc);
      const record = { id: doc._id.toHexString(), name, type: 'compute' };
      pub.waterline('nodes', 'created', record);
      return record;
    };
    const truth = async () =>
      byId((await nodes.find({}).sort({ _id: 1 }).toArray()).map(({ _id, ...rest }) => ({ id: _id.toHexString(), ...rest })));
    const same = (c: Connection, expected: unknown) => JSON.stringify(byId([...c.store.getSnapshot()])) === JSON.stringify(expected);

    // x fails over along a URL list; y only knows A and waits for it to come back; z is the only client on B.
    const x = connection([`${a.url}/nodes`, `${b.url}/nodes`]);
    const y = connection(`${a.url}/nodes`);
    const z = connection(`${b.url}/nodes`);
    for (const c of [x, y, z]) c.watch({});
    await waitFor(() => [x, y, z].every((c) => c.store.size === 3), 10_000, 'initial snapshots');
    // (Bindings are made for the first watcher, after its snapshot; the re-snapshot that follows the binding is what
    // makes an event published in between harmless: the record is already in MongoDB.)
    const one = await create('published while z is the only client on B');
    await waitFor(
      () => x.store.get(one.id) && y.store.get(one.id) && z.store.get(one.id),
      10_000,
      'the event reaches clients of both instances',
    );

    await a.stop('SIGTERM');
    const two = await create('published while A is down');
    let expected = await truth();
    await waitFor(() => x.state === 'open' && x.url.startsWith(b.url) && same(x, expected), 10_000, 'x failed over to B and converged');
    expect(x.store.get(two.id)).toBeDefined();
    expect(y.state).not.toBe('open');

    a = await startServer(['--port', String(a.port), ...args.slice(2)]);
    const three = await create('published after A restarted');
    expected = await truth();
    await waitFor(() => y.state === 'open' && same(y, expected), 15_000, 'y reconnected to the restarted A and converged');
    expect(y.store.get(two.id)).toBeDefined();
    expect(y.store.get(three.id)).toBeDefined();
    await waitFor(() => same(z, expected) && same(x, expected), 10_000, 'x and z converged too');
    expect(x.store.size).toBe(6);
  }, 60_000);
});
