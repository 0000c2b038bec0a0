/**
 * The `mq` channel on the real broker (a per-test exchange prefix): a watch binds exactly its exchange and pattern
 * while watched (the broker's own view), messages arrive as on-core publishes them, the binding comes back after
 * the broker drops the server's connection; without a broker the memory backend's logs and events feed it.
 */
import { afterEach, expect, it } from 'vitest';
import { RawClient } from '../../test/support/raw-client.js';
import { AMQP_URL, bindingsOf, closeBrokerConnection, deleteExchanges, RackhdPublisher, testPrefix } from '../../test/support/rabbit.js';
import { describeRabbit } from '../../test/support/services.js';
import { waitFor } from '../../test/support/wait.js';
import { makeLog } from '../demo/fixtures.js';
import { createServer, type MonorailServer } from '../server.js';
import { RACKHD_EXCHANGES } from './rackhd.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function client(server: MonorailServer, channel: string): Promise<RawClient> {
  const c = await RawClient.connect(`${server.url}/${channel}`);
  cleanup.push(() => c.close());
  return c;
}

it('without a broker, mq streams the embedded backend’s own logs and events in RackHD’s formats', async () => {
  const server = await createServer({ port: 0 });
  cleanup.push(() => server.close());
  const c = await client(server, 'mq');
  c.send({ handler: 'watch', params: { exchange: 'on.logging', routingKey: 'error' } });
  expect(await c.next('list')).toMatchObject({ handler: 'list', resource: 'mq', items: [] });
  server.backend!.append('logs', makeLog(50, 'Server', 'info', 'not an error'));
  const entry = makeLog(51, 'Server', 'error', 'disk full');
  server.backend!.append('logs', entry);
  const item = await c.next('item');
  expect(item.data).toEqual({ id: item.id, exchange: 'on.logging', routingKey: 'error', payload: entry });
  expect(c.pending()).toEqual([]);
});

await describeRabbit('mq on RabbitMQ', () => {
  it('binds the watched exchange and pattern while watched, streams what on-core publishes, rebinds after the broker drops the connection', async () => {
    const prefix = testPrefix();
    const server = await createServer({ port: 0, amqp: { url: AMQP_URL, exchangePrefix: prefix, reconnect: { baseMs: 50, maxMs: 400 } } });
    cleanup.push(() => deleteExchanges(prefix));
    cleanup.push(() => server.close());
    const pub = await RackhdPublisher.open(prefix);
    cleanup.push(() => pub.close());
    const queue = `${prefix}monorail-ws.${server.instanceId}`;
    const mqBinding = { source: `${prefix}on.events`, routingKey: 'graph.finished.*' };
    const has = async () => (await bindingsOf(queue)).some((b) => b.source === mqBinding.source && b.routingKey === mqBinding.routingKey);

    const c = await client(server, 'mq');
    const params = { exchange: 'on.events', routingKey: 'graph.finished.*' };
    c.send({ handler: 'watch', params });
    await c.next('list');
    await waitFor(has, 5000, 'the mq binding');
    // on-core lib/protocol/events.js publishGraphFinished: the 1.x key with {graphId, graphName, status}.
    const data = { graphId: 'g1', graphName: 'Discovery', status: 'succeeded' };
    pub.raw(RACKHD_EXCHANGES.events, 'graph.finished.g1', data);
    pub.raw(RACKHD_EXCHANGES.events, 'graph.started.g1', { ...data, status: 'running' });
    const item = await c.next('item');
    expect(item).toEqual({
      handler: 'item',
      resource: 'mq',
      id: item.id,
      data: { id: item.id, exchange: 'on.events', routingKey: 'graph.finished.g1', payload: data },
    });

    // The broker drops the server's connection: the link reconnects and binds mq's pattern again.
    expect(await closeBrokerConnection(`monorail-ws ${server.instanceId}`)).toBeGreaterThan(0);
    await waitFor(() => server.amqp!.link.state === 'up' && server.amqp!.link.stats.connects >= 2, 10_000, 'the link back up');
    await waitFor(has, 5000, 'the mq binding again');
    pub.raw(RACKHD_EXCHANGES.events, 'graph.finished.g2', { ...data, graphId: 'g2' });
    expect((await c.next('item')).data).toMatchObject({ routingKey: 'graph.finished.g2' });

    c.send({ handler: 'stop', params });
    await waitFor(async () => !(await has()), 5000, 'the mq binding gone');
  });
});
