/**
 * RabbitMQ as the tests see it: the broker's URL, a fresh exchange prefix per test (so runs and files never see
 * each other's messages), the broker's own view through `rabbitmqctl` (bindings, connections, queue depths), a
 * publisher in RackHD's formats, and the clean-up of a test's exchanges. No test runner here: Playwright's fixtures
 * use it too. Whether the broker is there at all, and what a suite does when it is not: `services.ts`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import type { Doc } from '../../protocol/index.js';
import { randomId } from '../../server/hub/ids.js';
import { BROADCAST_EXCHANGE } from '../../server/feeds/broadcast.js';
import { eventMessage, RACKHD_EXCHANGES, waterlineMessage, type WaterlineEvent } from '../../server/feeds/rackhd.js';

/** The broker tests use. */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A fresh exchange prefix (`t<hex>.`), so this test's exchanges and queues are its own. */
export function testPrefix(): string {
  return `t${randomId(5)}.`;
}

/** Every exchange a server with this prefix declares. */
export function exchangesOf(prefix: string): string[] {
  return [...Object.values(RACKHD_EXCHANGES), BROADCAST_EXCHANGE].map((e) => prefix + e);
}

/** Runs `rabbitmqctl` (as root on the test machine) and returns its stdout. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
  return stdout;
}

/** The broker's own view of the bindings to one queue. */
export async function bindingsOf(queue: string): Promise<Array<{ source: string; routingKey: string }>> {
  const out = await rabbitmqctl('list_bindings', '--no-table-headers', 'source_name', 'destination_name', 'routing_key');
  return out
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((cols) => cols[1] === queue && cols[0] !== '')
    .map(([source = '', , routingKey = '']) => ({ source, routingKey }))
    .sort((a, b) => (a.source + a.routingKey).localeCompare(b.source + b.routingKey));
}

/**
 * Connections the broker knows, with their client-given names (`connection_name`, which RabbitMQ 3.10's
 * rabbitmqctl shows only inside `client_properties`) and pids (what `close_connection` takes).
 */
export async function brokerConnections(): Promise<Array<{ pid: string; name: string }>> {
  const out = await rabbitmqctl('list_connections', '--no-table-headers', 'pid', 'client_properties');
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [pid = '', props = ''] = line.split('\t');
      // client_properties prints as [{"connection_name","monorail-ws 1a2b…"},{"product","amqplib"},…].
      const name = /\{"connection_name","([^"]*)"\}/.exec(props)?.[1] ?? '';
      return { pid, name };
    });
}

/** Closes, from the broker's side, every connection with this client-given name; returns how many. */
export async function closeBrokerConnection(name: string): Promise<number> {
  const mine = (await brokerConnections()).filter((c) => c.name === name);
  for (const c of mine) await rabbitmqctl('close_connection', c.pid, 'closed by a monorail-ws test');
  return mine.length;
}

/** Messages waiting in a queue and delivered but not yet acknowledged, as the broker counts them. */
export async function queueDepth(queue: string): Promise<{ ready: number; unacked: number } | undefined> {
  const out = await rabbitmqctl('list_queues', '--no-table-headers', 'name', 'messages_ready', 'messages_unacknowledged');
  for (const line of out.split('\n')) {
    const [name, ready, unacked] = line.split('\t');
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
  }
  return undefined;
}

/**
 * A plain amqplib publisher in RackHD's formats, as RackHD itself would publish (exchanges declared topic and
 * durable, like on-core does).
 */
export class RackhdPublisher {
  private constructor(
    private readonly conn: ChannelModel,
    private readonly ch: Channel,
    readonly prefix: string,
  ) {}

  static async open(prefix: string, url = AMQP_URL): Promise<RackhdPublisher> {
    const conn = await connect(url);
    conn.on('error', () => undefined);
    const ch = await conn.createChannel();
    for (const name of Object.values(RACKHD_EXCHANGES))
      await ch.assertExchange(prefix + name, 'topic', { durable: true, autoDelete: false });
    return new RackhdPublisher(conn, ch, prefix);
  }

  /** Publishes raw content (strings as they are, objects as JSON). */
  raw(exchange: string, routingKey: string, content: string | object): void {
    const body = typeof content === 'string' ? content : JSON.stringify(content);
    this.ch.publish(this.prefix + exchange, routingKey, Buffer.from(body), { contentType: 'application/json' });
  }

  /** Sends straight to a queue through the default exchange (bypassing every binding). */
  toQueue(queue: string, content: string): void {
    this.ch.sendToQueue(queue, Buffer.from(content));
  }

  waterline(collection: string, event: WaterlineEvent, record: Doc): void {
    const { routingKey, payload } = waterlineMessage(collection, event, record);
    this.raw(RACKHD_EXCHANGES.waterline, routingKey, payload);
  }

  event(event: Doc): void {
    const { routingKey, payload } = eventMessage(event);
    this.raw(RACKHD_EXCHANGES.events, routingKey, payload);
  }

  log(entry: Doc): void {
    this.raw(RACKHD_EXCHANGES.logging, String(entry.level), entry);
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}

/** Deletes the exchanges a test's servers and publishers declared under its prefix. */
export async function deleteExchanges(prefix: string): Promise<void> {
  const conn = await connect(AMQP_URL);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    for (const name of exchangesOf(prefix)) await ch.deleteExchange(name);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Deletes queues (a test's streams, which outlive every connection), ignoring ones already gone. */
export async function deleteQueues(...names: string[]): Promise<void> {
  const conn = await connect(AMQP_URL);
  conn.on('error', () => undefined);
  try {
    for (const name of names) {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteQueue(name).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Queues whose names start with `prefix`, as the broker lists them (with their type: classic, stream …). */
export async function queuesWithPrefix(prefix: string): Promise<Array<{ name: string; type: string }>> {
  const out = await rabbitmqctl('list_queues', '--no-table-headers', 'name', 'type');
  return out
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name]) => name?.startsWith(prefix) === true)
    .map(([name = '', type = '']) => ({ name, type }));
}
