/**
 * The broker restarts (`rabbitmqctl stop_app` / `start_app`) under a running server. Serial: this file runs alone,
 * after every other test file (vitest.config.ts), because stopping the broker would break any other test using it.
 * Whatever happens, the broker is left running.
 */
import WebSocket from 'isomorphic-ws';
import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import { createServer } from '../server/index.js';
import { waitFor } from './support/wait.js';
import { MongoWireServer } from './support/mongo-wire/server.js';
import { AMQP_URL, bindingsOf, brokerConnections, deleteExchanges, rabbitmqctl, RackhdPublisher, testPrefix } from './support/rabbit.js';
import { describeRabbit, rabbitUnavailable } from './support/services.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Starts the broker app (a no-op when it runs) and waits until it accepts clients. */
async function ensureBrokerRunning(): Promise<void> {
  await rabbitmqctl('start_app');
  await rabbitmqctl('await_startup');
}

afterAll(async () => {
  if (!(await rabbitUnavailable())) await ensureBrokerRunning();
});

await describeRabbit('broker restart (serial)', () => {
  it('stop_app/start_app: the server keeps serving, reconnects with backoff, rebinds, re-snapshots, and events flow again', async (ctx) => {
    const wire = await MongoWireServer.start();
    cleanup.push(() => wire.close());
    const db = new MongoClient(wire.url('pxe'));
    cleanup.push(() => db.close());
    await db.db().collection('nodes').insertOne({ _id: new ObjectId(), name: 'n1', type: 'compute' });

    const prefix = testPrefix();
    cleanup.push(() => deleteExchanges(prefix));
    const server = await createServer({
      port: 0,
      mongo: { url: wire.url('pxe'), serverSelectionTimeoutMS: 500 },
      amqp: { url: AMQP_URL, exchangePrefix: prefix, reconnect: { baseMs: 100, maxMs: 1000 } },
    });
    cleanup.push(() => server.close());
    const link = server.amqp!.link;
    const queue = `${prefix}monorail-ws.${server.instanceId}`;
    const c = new Connection(`${server.url}/nodes`, { WebSocket, backoff: { baseMs: 5, maxMs: 50 }, heartbeat: false });
    cleanup.push(() => c.disconnect());
    c.watch({});
    await waitFor(() => c.store.size === 1);
    await link.settled();
    const before = await bindingsOf(queue);
    expect(before.map((b) => b.routingKey)).toContain('nodes.*.*');

    // Vitest runs this file alone, but not other people's processes: stop the broker only when nothing but this
    // server is connected to it (another checkout's test run, a local RackHD), else skip, saying why.
    const mine = `monorail-ws ${server.instanceId}`;
    const alone = await waitFor(
      async () => (await brokerConnections()).every((c) => c.name === mine),
      30_000,
      'a broker with no other clients',
    ).then(
      () => true,
      () => false,
    );
    if (!alone) {
      const others = (await brokerConnections()).filter((c) => c.name !== mine).map((c) => c.name || c.pid);
      const reason = `other clients are connected to the broker (${others.join(', ')}); not stopping it under them`;
      if (process.env.CI === 'true') throw new Error(reason);
      ctx.skip(reason);
    }
    cleanup.push(ensureBrokerRunning);
    await rabbitmqctl('stop_app');
    await waitFor(() => link.state === 'down' || link.state === 'connecting', 10_000, 'the server notices the broker is gone');

    // Without the broker the server still answers from MongoDB; a change made now has no event anyone receives.
    const missed = { _id: new ObjectId(), name: 'while the broker was down', type: 'switch' };
    await db.db().collection('nodes').insertOne(missed);
    expect(c.state).toBe('open');

    await ensureBrokerRunning();
    await waitFor(() => link.state === 'up' && link.stats.connects === 2, 20_000, 'reconnect after start_app');
    await link.settled();
    expect(await bindingsOf(queue)).toEqual(before);
    await waitFor(() => c.store.get(missed._id.toHexString()), 5000, 're-snapshot brings the missed change');

    const pub = await RackhdPublisher.open(prefix);
    cleanup.push(() => pub.close());
    const after = { id: new ObjectId().toHexString(), name: 'after the restart', type: 'compute' };
    pub.waterline('nodes', 'created', after);
    await waitFor(() => c.store.get(after.id), 5000, 'events flow again');
    expect(c.store.size).toBe(3);
  }, 60_000);
});
