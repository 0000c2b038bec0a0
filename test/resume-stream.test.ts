/**
 * Resume across instances through the real RabbitMQ stream: two servers on one exchange prefix share one stream
 * (declared once, type stream, bound to the resumable channels' RackHD keys only), changes published to RackHD's
 * exchanges reach both at the same offsets, and a client that fails over from A to B with its position gets only
 * what it missed. An instance restarted reads the stream back and resumes the same position; a position beyond the
 * stream, and every position of a stream deleted and declared again, get a full list. Each test deletes its own
 * stream and exchanges.
 */
import { afterEach, expect, it } from 'vitest';
import type { ServerMessage } from '../protocol/index.js';
import { lineLogger } from '../server/cli/line-logger.js';
import { createServer, type MonorailServer } from '../server/index.js';
import { RawClient } from './support/raw-client.js';
import {
  AMQP_URL,
  bindingsOf,
  closeBrokerConnection,
  deleteExchanges,
  deleteQueues,
  queuesWithPrefix,
  RackhdPublisher,
  testPrefix,
} from './support/rabbit.js';
import { describeRabbit } from './support/services.js';
import { waitFor } from './support/wait.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const node = (id: string, type: string) => ({ id, type, name: `node ${id}` });
const positionOf = (f: ServerMessage | undefined) => (f as { position?: string } | undefined)?.position;
const summary = (frames: ServerMessage[]) => frames.map((f) => `${f.handler}${'id' in f && f.id !== undefined ? ` ${f.id}` : ''}`);

/** A deployment: its prefix, its stream (deleted after the test), and instances started on it. */
function deployment() {
  const prefix = testPrefix();
  const stream = `${prefix}monorail-ws.changes`;
  cleanup.push(() => deleteExchanges(prefix));
  cleanup.push(() => deleteQueues(stream));
  const logs: string[] = [];
  const instance = async (): Promise<MonorailServer> => {
    const server = await createServer({
      port: 0,
      seed: {},
      resume: { progressIntervalMs: 0 },
      amqp: { url: AMQP_URL, exchangePrefix: prefix, reconnect: { baseMs: 50, maxMs: 400 } },
      logger: lineLogger((line) => logs.push(line), 'debug'),
    });
    cleanup.push(() => server.close());
    return server;
  };
  return { prefix, stream, logs, instance };
}

async function publisher(prefix: string): Promise<RackhdPublisher> {
  const pub = await RackhdPublisher.open(prefix);
  cleanup.push(() => pub.close());
  return pub;
}

async function client(server: MonorailServer): Promise<RawClient> {
  const c = await RawClient.connect(`${server.url}/nodes`);
  cleanup.push(() => c.close());
  return c;
}

const has = (server: MonorailServer, id: string) => server.backend!.get('nodes', { id }) !== undefined;

/** An instance that has read node n1, the publisher, and a client watching compute nodes, with its list's position. */
async function watchingN1(instance: () => Promise<MonorailServer>, prefix: string) {
  const a = await instance();
  const pub = await publisher(prefix);
  pub.waterline('nodes', 'created', node('n1', 'compute'));
  await waitFor(() => has(a, 'n1'), undefined, 'A to read n1');
  const watching = await client(a);
  watching.send({ handler: 'watch', params: { type: 'compute' } });
  const position = positionOf(await watching.next('list'))!;
  return { a, pub, watching, position };
}

await describeRabbit('resume through the RabbitMQ stream', () => {
  it('one stream shared by every instance, bound to the resumable channels only; a client fails over from A to B and gets what it missed', async () => {
    const { prefix, stream, instance } = deployment();
    const [a, b] = [await instance(), await instance()];
    expect(a.amqp!.stream!.name).toBe(stream);
    const queues = await queuesWithPrefix(prefix);
    expect(queues.filter((q) => q.type === 'stream')).toEqual([{ name: stream, type: 'stream' }]);
    expect(queues).toHaveLength(3); // the stream and each instance's own queue
    const keys = (await bindingsOf(stream)).map((x) => `${x.source.slice(prefix.length)} ${x.routingKey}`);
    expect(keys).toContain('on.waterline nodes.*.*');
    expect(keys).toContain('on.events graph.#');
    expect(keys).not.toContain('on.waterline workitems.*.*'); // pollers re-snapshot: RackHD writes them unpublished
    expect(keys).not.toContain('on.waterline lookups.*.*');

    const pub = await publisher(prefix);
    pub.waterline('nodes', 'created', node('n1', 'compute'));
    pub.waterline('nodes', 'created', node('n2', 'compute'));
    await waitFor(() => has(a, 'n2') && has(b, 'n2'), undefined, 'both instances to read n1 and n2');

    const onA = await client(a);
    onA.send({ handler: 'watch', params: { type: 'compute' } });
    const list = await onA.next('list');
    expect(list.items.map((i) => i.id).sort()).toEqual(['n1', 'n2']);
    const position = positionOf(list)!;
    onA.close();

    pub.waterline('nodes', 'created', node('n3', 'compute'));
    pub.waterline('nodes', 'updated', node('n1', 'switch'));
    pub.waterline('nodes', 'created', node('n4', 'switch'));
    pub.waterline('nodes', 'destroyed', node('n2', 'compute'));
    await waitFor(() => has(b, 'n4') && !has(b, 'n2'), undefined, 'B to read the changes');

    const onB = await client(b);
    onB.send({ handler: 'watch', params: { type: 'compute' }, position });
    const frames = await onB.drain();
    expect(summary(frames)).toEqual(['item n3', 'remove n1', 'remove n2', 'resumed']);
    expect(b.hub.stats().sourceReads).toBe(0);
    // The same offsets on both instances: B's positions are A's.
    expect(positionOf(frames[0])!.split('.')[1]).toBe(
      String(
        a.hub
          .channelState('nodes')!
          .history!.after(-1)
          .find((c) => c.id === 'n3')!.pos,
      ),
    );
  });

  it('an instance restarted reads the stream back and resumes a position given out before; beyond the stream: a full list', async () => {
    const { prefix, instance } = deployment();
    const { a, pub, watching: first, position } = await watchingN1(instance, prefix);
    first.close();
    await a.close();

    pub.waterline('nodes', 'created', node('n2', 'compute'));
    const again = await instance();
    await waitFor(() => has(again, 'n2'), undefined, 'the restarted instance to read n2');
    expect(has(again, 'n1')).toBe(true); // read back from the stream
    const c = await client(again);
    c.send({ handler: 'watch', params: { type: 'compute' }, position });
    expect(summary(await c.drain())).toEqual(['item n2', 'resumed']);

    const [epoch, offset] = position.split('.');
    const future = await client(again);
    future.send({ handler: 'watch', params: { type: 'compute' }, position: `${epoch}.${Number(offset) + 1_000_000}` });
    expect((await future.next()).handler).toBe('list');
  });

  it('a stream deleted and declared again is another epoch: positions of the old one get a full list', async () => {
    const { prefix, stream, instance, logs } = deployment();
    const { a, pub, watching: first, position } = await watchingN1(instance, prefix);

    await deleteQueues(stream);
    await waitFor(() => a.amqp!.stream!.stats.resets === 1 && a.amqp!.link.state === 'up', undefined, 'A to read the new stream');
    // The watch that was open is re-snapshotted: what changed meanwhile may never have been published.
    expect((await first.next('list')).items.map((i) => i.id)).toEqual(['n1']);
    pub.waterline('nodes', 'created', node('n2', 'compute'));
    await waitFor(() => has(a, 'n2'), undefined, 'A to read n2 from the new stream');
    const c = await client(a);
    c.send({ handler: 'watch', params: { type: 'compute' }, position });
    expect((await c.next()).handler).toBe('list');
    expect(logs.some((l) => l.includes('resume refused') && /another epoch|older than every epoch/.test(l))).toBe(true);
  });

  it('after its broker connection was lost, an instance goes on from the message it handled last (same stream), cuts its histories there and re-reads open watches', async () => {
    const { prefix, instance } = deployment();
    const { a, pub, watching: open, position } = await watchingN1(instance, prefix);
    const handled = a.amqp!.stream!.stats.messages;

    expect(await closeBrokerConnection(`monorail-ws ${a.instanceId}`)).toBe(1);
    await waitFor(() => a.amqp!.stream!.stats.attaches === 2 && a.amqp!.link.state === 'up', undefined, 'A to attach again');
    expect(a.amqp!.stream!.stats.resets).toBe(0);
    // Nothing read twice: only the new attach marker came after the message handled last.
    expect(a.amqp!.stream!.stats.messages).toBe(handled + 1);
    expect((await open.next('list')).items.map((i) => i.id)).toEqual(['n1']);
    const late = await client(a);
    late.send({ handler: 'watch', params: { type: 'compute' }, position });
    expect((await late.next()).handler).toBe('list');

    // Positions given out after the gap resume as before.
    pub.waterline('nodes', 'created', node('n2', 'compute'));
    const item = await open.next('item');
    pub.waterline('nodes', 'created', node('n3', 'compute'));
    await waitFor(() => has(a, 'n3'), undefined, 'A to read n3');
    const resumed = await client(a);
    resumed.send({ handler: 'watch', params: { type: 'compute' }, position: positionOf(item) });
    expect(summary(await resumed.drain())).toEqual(['item n3', 'resumed']);
  });
});
