/**
 * RackHD's 1.x dialect against the real server and the real RabbitMQ: a client that behaves as on-web-ui's
 * Messenger and Store do (test/support/rackhd-1x-client.ts) sees on-core's changes as insert/change/remove, its
 * NodeMonitor and WorkflowMonitor filters get their log lines and graph events through `mq`, `stop(null, null)`
 * then `disconnect` raises nothing, garbage gets no frame; on-wss's own spec (spec/lib/ws-service-spec.js:
 * init, query, all, get, watch created/updated/removed, stop, mq watch/stop) holds as tests of the dialect; the
 * path chooses the dialect and the 1.x path's admission follows `authenticate`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../protocol/index.js';
import { lineLogger } from '../server/cli/line-logger.js';
import { demoFixtures, makeCatalog, makeLog } from '../server/demo/fixtures.js';
import { eventMessage, RACKHD_EXCHANGES, waterlineMessage, type WaterlineEventName } from '../server/feeds/rackhd.js';
import { createServer, type MonorailServer, type ServerOptions } from '../server/server.js';
import { AMQP_URL, deleteExchanges, RackhdPublisher, testPrefix } from './support/rabbit.js';
import { RawClient } from './support/raw-client.js';
import { describeRabbit } from './support/services.js';
import { waitFor } from './support/wait.js';
import { LegacyMessenger, LegacyMqMessenger, LegacyStore, nodeMonitorKeeps, workflowMonitorEvent } from './support/rackhd-1x-client.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(options: Partial<ServerOptions> = {}): Promise<{ server: MonorailServer; host: string; logs: string[] }> {
  const logs: string[] = [];
  const server = await createServer({ port: 0, logger: lineLogger((l) => logs.push(l), 'debug'), ...options });
  cleanup.push(() => server.close());
  // The UI's RackHD_WSS setting: host and port, and the 1.x prefix.
  return { server, host: `${server.url.replace(/^ws:\/\//, '')}/rackhd`, logs };
}

function messenger<T extends LegacyMessenger>(m: T): T {
  cleanup.push(() => m.disconnect());
  return m;
}

/** Everything the server sent `m` before now: a 1.x `ping` is answered with `pong` after it. */
async function drain(m: LegacyMessenger): Promise<unknown[]> {
  const from = m.received.length;
  const pong = m.next('pong');
  m.exec('ping');
  await pong;
  return m.received.slice(from, -1);
}

/** on-core lib/protocol/waterline.js publishRecord (from lib/common/model.js afterCreate/afterUpdate/afterDestroy). */
function publishRecord(pub: RackhdPublisher, identity: string, event: WaterlineEventName, record: Record<string, unknown>): void {
  const { routingKey, payload } = waterlineMessage(identity, event, record as never);
  pub.raw(RACKHD_EXCHANGES.waterline, routingKey, payload);
}

describe('the 1.x dialect without a broker', () => {
  it('on-wss spec: init answers a session, query/all a list, get an item', async () => {
    const { host } = await serve();
    const m = messenger(new LegacyMessenger(host, 'catalogs'));
    expect(await m.connect()).toMatch(/^[0-9a-f]{32}$/);
    m.query({ id: null }, 'catalogs');
    expect(await m.next()).toMatchObject({ handler: 'list', resource: 'catalogs', items: [] });
    m.all('catalogs');
    expect((await m.next()).items).toHaveLength(demoFixtures().catalogs!.length);
    const catalog = demoFixtures().catalogs![0]!;
    m.get({ id: catalog.id }, 'catalogs');
    expect(await m.next()).toEqual({ handler: 'item', resource: 'catalogs', id: catalog.id, data: catalog });
    m.get({ id: null }, 'catalogs');
    expect(await m.next()).toEqual({ handler: 'item', resource: 'catalogs', id: null });
    expect(m.uncaught).toEqual([]);
  });

  it('watch sends no list; changes are item [created|updated, id] and remove {id, data}; the Store applies them', async () => {
    const { server, host } = await serve();
    const store = new LegacyStore(host, 'nodes');
    messenger(store.messenger);
    await store.startMessenger();
    expect(await drain(store.messenger)).toEqual([]);
    const backend = server.backend!;
    const node = { id: 'n-new', name: 'new', type: 'compute' };
    backend.upsert('nodes', node);
    backend.upsert('nodes', { ...node, name: 'renamed' });
    backend.remove('nodes', 'n-new');
    await waitFor(() => store.calls.length === 3);
    expect(store.calls).toEqual([
      ['insert', 'n-new'],
      ['change', 'n-new'],
      ['remove', 'n-new'],
    ]);
    const frames = store.messenger.received.filter((f) => f.handler === 'item' || f.handler === 'remove');
    expect(frames).toEqual([
      { handler: 'item', resource: 'nodes', id: ['created', 'n-new'], data: node },
      { handler: 'item', resource: 'nodes', id: ['updated', 'n-new'], data: { ...node, name: 'renamed' } },
      { handler: 'remove', resource: 'nodes', id: 'n-new', data: { ...node, name: 'renamed' } },
    ]);
  });

  it('stopMessenger (stop with null resource and params, then disconnect) raises nothing; after stop nothing more arrives', async () => {
    const { server, host, logs } = await serve();
    const store = new LegacyStore(host, 'graphObjs');
    messenger(store.messenger);
    await store.startMessenger();
    store.messenger.stop(null, null);
    expect(await drain(store.messenger)).toEqual([]);
    server.backend!.upsert('workflows', { ...demoFixtures().workflows![0]!, _status: 'cancelled' });
    expect(await drain(store.messenger)).toEqual([]);
    store.stopMessenger();
    await waitFor(() => server.hub.connections.size === 0);
    expect(store.messenger.uncaught).toEqual([]);
    expect(logs.filter((l) => / (warn|error) /.test(l))).toEqual([]);
  });

  it('garbage and refused requests are logged, never answered; the connection stays', async () => {
    const { host, logs } = await serve();
    const m = messenger(new LegacyMessenger(host, 'nodes'));
    await m.connect();
    for (const text of ['not json', '[1,2]', '{"handler":"explode"}', '{"handler":"query","params":{"$where":"1"}}']) m.ws!.send(text);
    m.watch({ exchange: 'on.waterline', routingKey: '#' }, 'mq'); // outside the allowlist
    m.query({}, 'mq');
    m.all('nosuch');
    expect(await drain(m)).toEqual([]);
    expect(m.uncaught).toEqual([]);
    expect(m.ws!.readyState).toBe(m.ws!.OPEN);
    expect(logs.filter((l) => l.includes('1.x request refused'))).toHaveLength(7);
  });

  it('the path chooses the dialect: the same server speaks the seed protocol everywhere else', async () => {
    const { server } = await serve();
    const c = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => c.close());
    expect(await c.request({ handler: 'watch', params: { type: 'switch' } }, 'list')).toMatchObject({
      resource: 'nodes',
      params: { type: 'switch' },
    });
    expect(await c.request({ handler: 'query', resource: 'mq', params: {} }, 'error')).toMatchObject({ params: { code: 'not-supported' } });
  });
});

describe('admission on the 1.x path', () => {
  const authenticate = () => ({ user: 'sdk' });

  it('with authenticate set, the 1.x path is closed (4401) and the SDK path unchanged', async () => {
    const { server, host } = await serve({ authenticate });
    const legacy = await RawClient.connect(`ws://${host}/nodes`);
    expect((await legacy.closed()).code).toBe(CloseCode.Unauthenticated);
    const sdk = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => sdk.close());
    expect(await sdk.request({ handler: 'init' }, 'session')).toMatchObject({ handler: 'session' });
  });

  it('rackhd1x.unauthenticated opens it without authenticate; authorize still applies (principal undefined)', async () => {
    const asked: unknown[] = [];
    const { host } = await serve({
      authenticate: () => null,
      rackhd1x: { unauthenticated: true },
      authorize: (principal, channel, handler) => {
        asked.push([principal, channel, handler]);
        return channel !== 'skus';
      },
    });
    const m = messenger(new LegacyMessenger(host, 'nodes'));
    await m.connect();
    m.all('skus');
    m.all('nodes');
    expect((await m.next('list')).resource).toBe('nodes');
    expect(asked).toEqual([
      [undefined, 'nodes', 'connect'],
      [undefined, 'skus', 'all'],
      [undefined, 'nodes', 'all'],
    ]);
  });

  it('rackhd1x: false turns the dialect off: /rackhd/nodes is nodes in the seed protocol', async () => {
    const { host } = await serve({ rackhd1x: false });
    const c = await RawClient.connect(`ws://${host}/nodes`);
    cleanup.push(() => c.close());
    expect(await c.request({ handler: 'watch', params: {} }, 'list')).toMatchObject({ resource: 'nodes' });
  });
});

await describeRabbit('the 1.x dialect on RabbitMQ', () => {
  async function broker() {
    const prefix = testPrefix();
    const served = await serve({ amqp: { url: AMQP_URL, exchangePrefix: prefix } });
    cleanup.push(() => deleteExchanges(prefix));
    const pub = await RackhdPublisher.open(prefix);
    cleanup.push(() => pub.close());
    return { ...served, pub };
  }

  it('on-wss spec: watch catalogs gets created, updated and removed items from on.waterline; stop ends it', async () => {
    const { host, pub, server } = await broker();
    const m = messenger(new LegacyMessenger(host, 'catalogs'));
    await m.connect();
    m.watch(undefined, 'catalogs');
    await drain(m);
    const catalog: Record<string, unknown> = makeCatalog(90, 'node', 'source');
    publishRecord(pub, 'catalogs', 'created', catalog);
    const created = await m.next('item');
    expect(created.id).toEqual(['created', catalog.id]);
    expect(created.data).toMatchObject({ id: catalog.id, node: 'node', source: 'source', data: catalog.data });
    publishRecord(pub, 'catalogs', 'updated', { ...catalog, source: 'source2' });
    const updated = await m.next('item');
    expect(updated.id).toEqual(['updated', catalog.id]);
    expect(updated.data).toMatchObject({ id: catalog.id, source: 'source2' });
    publishRecord(pub, 'catalogs', 'destroyed', { ...catalog, source: 'source2' });
    const removed = await m.next('remove');
    expect(removed.id).toBe((removed.data as { id: string }).id);
    m.stop(undefined, 'catalogs');
    await drain(m);
    publishRecord(pub, 'catalogs', 'created', { ...catalog, id: 'after-stop' });
    await waitFor(() => server.backend!.get('catalogs', { id: 'after-stop' }));
    expect(await drain(m)).toEqual([]);
  });

  it("NodeStore and WorkflowStore: on-core's created, updated, tag-added, partial graphobjects and destroyed reach insert, change and remove", async () => {
    const { host, pub } = await broker();
    const nodes = new LegacyStore(host, 'nodes');
    const workflows = new LegacyStore(host, 'graphObjs');
    messenger(nodes.messenger);
    messenger(workflows.messenger);
    await nodes.startMessenger();
    await workflows.startMessenger();
    await drain(nodes.messenger);
    await drain(workflows.messenger);
    const node = { id: '5f00000000000000000000c1', name: 'n-1x', type: 'compute', tags: [] as string[] };
    publishRecord(pub, 'nodes', 'created', node);
    // lib/models/node.js addTags: updated, then tag-added, with the same record.
    publishRecord(pub, 'nodes', 'updated', { ...node, tags: ['rack-1'] });
    publishRecord(pub, 'nodes', 'tag-added', { ...node, tags: ['rack-1'] });
    publishRecord(pub, 'nodes', 'destroyed', { ...node, tags: ['rack-1'] });
    await waitFor(() => nodes.calls.length === 4);
    expect(nodes.calls).toEqual([
      ['insert', node.id],
      ['change', node.id],
      ['change', node.id],
      ['remove', node.id],
    ]);
    // lib/workflow/stores/mongo.js publishRecordByGraphId: {_id, _status} keyed by the instance id in the routing key.
    const wf = demoFixtures().workflows!.find((w) => w._status === 'running')!;
    const { routingKey, payload } = waterlineMessage('graphobjects', 'updated', { _id: String(wf.id), _status: 'failed' }, wf.instanceId);
    pub.raw(RACKHD_EXCHANGES.waterline, routingKey, payload);
    await waitFor(() => workflows.calls.length === 1);
    expect(workflows.calls).toEqual([['change', wf.instanceId]]);
    expect(workflows.records.get(wf.instanceId as string)).toEqual({ ...wf, _status: 'failed' });
  });

  it('on-wss spec: mq watch sends item {id: routing key, data: payload}; stop ends it', async () => {
    const { host, pub, server } = await broker();
    const m = messenger(new LegacyMessenger(host, 'mq'));
    await m.connect();
    m.watch({ exchange: 'on.events', routingKey: '#' }, 'mq');
    await drain(m);
    pub.raw(RACKHD_EXCHANGES.events, 'routing.key.value', { key: 'value' });
    expect(await m.next('item')).toEqual({ handler: 'item', resource: 'mq', id: 'routing.key.value', data: { key: 'value' } });
    m.stop({ exchange: 'on.events', routingKey: '#' }, 'mq');
    await drain(m);
    const acked = server.amqp!.link.stats.acked;
    pub.raw(RACKHD_EXCHANGES.events, 'routing.key.value', { key: 'value2' });
    pub.raw(RACKHD_EXCHANGES.events, 'sentinel', { key: 'value3' });
    // The server has handled both (the events channel keeps on.events bound) before we look.
    await waitFor(() => server.amqp!.link.stats.acked === acked + 2);
    expect(await drain(m)).toEqual([]);
  });

  it('NodeMonitor and WorkflowMonitor filters get their log lines and graph events through mq', async () => {
    const { host, pub } = await broker();
    const wf = demoFixtures().workflows!.find((w) => w._status === 'running')!;
    const nodeId = wf.node as string;
    const logs = messenger(new LegacyMqMessenger(host, 'on.logging'));
    const events = messenger(new LegacyMqMessenger(host, 'on.events'));
    await logs.connect();
    await events.connect();
    logs.start();
    events.start();
    await drain(logs);
    await drain(events);
    // lib/common/logger.js + lib/services/log-publisher.js: routing key = level, subject = node or 'Server'.
    for (const entry of [
      makeLog(70, nodeId, 'info', 'mine'),
      makeLog(71, 'Server', 'info', 'service'),
      makeLog(72, nodeId, 'error', 'mine too'),
    ]) {
      pub.raw(RACKHD_EXCHANGES.logging, String(entry.level), entry);
    }
    // lib/protocol/events.js publishGraphStarted/publishGraphFinished: the 1.x key, then the 2016+ event.
    for (const [action, status] of [
      ['started', 'running'],
      ['finished', 'succeeded'],
    ] as const) {
      const data = { graphId: wf.instanceId, graphName: wf.name, status };
      pub.raw(RACKHD_EXCHANGES.events, `graph.${action}.${String(wf.instanceId)}`, data);
      const evt = eventMessage({
        type: 'graph',
        action,
        typeId: wf.instanceId,
        nodeId,
        severity: 'information',
        data,
        version: '1.0',
        createdAt: '2026-12-03T00:00:00.000Z',
      } as never);
      pub.raw(RACKHD_EXCHANGES.events, evt.routingKey, evt.payload);
    }
    await waitFor(() => logs.received.length >= 4 && events.received.length >= 5);
    expect(logs.received.filter((m) => nodeMonitorKeeps(m, nodeId)).map((m) => (m.data as { message: string }).message)).toEqual([
      'mine',
      'mine too',
    ]);
    expect(events.received.map((m) => workflowMonitorEvent(m, wf.instanceId as string)).filter(Boolean)).toEqual(['started', 'finished']);
    logs.end();
    events.end();
    expect([...logs.uncaught, ...events.uncaught]).toEqual([]);
  });
});
