/**
 * External services for integration tests: RabbitMQ (the broker on this machine) and MongoDB (a real mongod when
 * `MONGODB_URL` is set, else the wire-level test server). Tests that need RabbitMQ use `describeRabbit`: when the
 * broker is unreachable they are skipped with the reason in their name, except under `CI=true`, where a missing
 * broker is a failure. Every test gets its own exchange prefix, so runs and files never see each other's messages.
 */
import { execFile } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { describe, it } from 'vitest';
import type { Doc } from '../../protocol/index.js';
import { randomId } from '../../server/hub/ids.js';
import { BROADCAST_EXCHANGE } from '../../server/feeds/broadcast.js';
import { eventMessage, RACKHD_EXCHANGES, waterlineMessage, type WaterlineEvent } from '../../server/feeds/rackhd.js';

/** The broker tests use. */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

let available: Promise<string | undefined> | undefined;

/**
 * Whether RabbitMQ answers an AMQP handshake (not just a TCP connect: a starting broker accepts TCP early).
 * @returns undefined when it is available, else the reason it is not.
 */
export function rabbitUnavailable(): Promise<string | undefined> {
  available ??= (async () => {
    const { hostname, port } = new URL(AMQP_URL);
    const tcp = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host: hostname, port: Number(port || 5672) });
      s.setTimeout(2000, () => (s.destroy(), resolve(false)));
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (!tcp) return `RabbitMQ unreachable at ${hostname}:${port || 5672}`;
    try {
      const conn = await connect(AMQP_URL, { timeout: 5000 });
      await conn.close();
      return undefined;
    } catch (err) {
      return `RabbitMQ refused the handshake: ${(err as Error).message}`;
    }
  })();
  return available;
}

/**
 * `describe` for suites that need RabbitMQ. Unreachable broker: the suite is skipped, its name says why, and a
 * warning is printed; with `CI=true` a failing test takes its place instead, because CI must run these suites.
 */
export async function describeRabbit(name: string, fn: () => void): Promise<void> {
  const reason = await rabbitUnavailable();
  if (!reason) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs RabbitMQ (CI=true makes a missing broker a failure)', () => {
        throw new Error(`${reason}; start it with "rabbitmq-server -detached" (see .ci/run)`);
      });
    });
    return;
  }
  process.stderr.write(`\n[skip] ${name}: ${reason}\n`);
  describe.skip(`${name} [skipped: ${reason}]`, fn);
}

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
    for (const name of Object.values(RACKHD_EXCHANGES)) await ch.assertExchange(prefix + name, 'topic', { durable: true, autoDelete: false });
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
