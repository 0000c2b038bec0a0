/**
 * Publishes one RackHD-format waterline event with plain amqplib, the way RackHD's on-core does
 * (`Protocol.Waterline.publishRecord`): exchange `on.waterline` (topic, durable), routing key
 * `<collection>.<event>.<id>`, JSON payload `{event, record}`. A server started with `--amqp` forwards it to
 * every client watching the matching channel.
 *
 *   npx tsx scripts/publish-waterline.ts [--url amqp://guest:guest@127.0.0.1:5672] [--exchange-prefix P]
 *       [--collection nodes] [--event created|updated|destroyed] [--record '{"id":"…","name":"…","type":"compute"}']
 *
 * Without --record it publishes a new compute node with a fresh ObjectId-shaped id. Prints the routing key.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect } from 'amqplib';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'exchange-prefix': { type: 'string' },
    collection: { type: 'string' },
    event: { type: 'string' },
    record: { type: 'string' },
  },
});

const url = values.url ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const exchange = `${values['exchange-prefix'] ?? ''}on.waterline`;
const collection = values.collection ?? 'nodes';
const event = values.event ?? 'created';
if (!['created', 'updated', 'destroyed'].includes(event)) throw new Error(`--event must be created, updated or destroyed, not "${event}"`);

// An ObjectId is 4 bytes of seconds since the epoch and 8 more bytes; waterline shows it as 24 hex digits.
const id =
  Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0') + randomBytes(8).toString('hex');
const now = new Date().toISOString();
const record: Record<string, unknown> = values.record
  ? (JSON.parse(values.record) as Record<string, unknown>)
  : {
      id,
      name: `52:54:be:ef:${id.slice(-4, -2)}:${id.slice(-2)}`,
      type: 'compute',
      identifiers: [],
      obms: [],
      relations: [],
      tags: [],
      createdAt: now,
      updatedAt: now,
    };

const conn = await connect(url);
try {
  // A confirm channel: the process must not exit before the broker has the message.
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
  const routingKey = `${collection}.${event}.${String(record.id)}`;
  ch.publish(exchange, routingKey, Buffer.from(JSON.stringify({ event, record })), { contentType: 'application/json' });
  await ch.waitForConfirms();
  process.stdout.write(`published ${exchange} ${routingKey}\n`);
} finally {
  await conn.close();
}
