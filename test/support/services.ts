/**
 * The external services integration tests run against, and what happens when one is missing. RabbitMQ is the broker
 * on this machine: suites that need it use `describeRabbit`, which skips them with the reason in their name when
 * the broker is unreachable, except under `CI=true`, where a missing broker is a failure. MongoDB is a real mongod
 * when `MONGODB_URL` is set, else the wire-level test server (`mongo-wire/`), started here (`mongoUnderTest`).
 */
import { connect as netConnect } from 'node:net';
import { connect } from 'amqplib';
import { describe, it } from 'vitest';
import { MongoWireServer } from './mongo-wire/server.js';
import { AMQP_URL } from './rabbit.js';

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
      s.setTimeout(2000, () => {
        s.destroy();
        return resolve(false);
      });
      s.once('connect', () => {
        s.destroy();
        return resolve(true);
      });
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

/** `MONGODB_URL`: a real mongod the MongoDB suites run against instead of the wire-level test server. */
export const EXTERNAL_MONGODB_URL = process.env.MONGODB_URL;

/** The MongoDB a suite runs against. */
export interface MongoUnderTest {
  /** The wire-level server, or undefined against a real mongod (`EXTERNAL_MONGODB_URL`). */
  readonly wire: MongoWireServer | undefined;
  /** The URL of database `db` on it (a real mongod's host and options, another path). */
  url(db: string): string;
  close(): Promise<void>;
}

/** Starts the wire-level server, unless `MONGODB_URL` names a real mongod. */
export async function mongoUnderTest(): Promise<MongoUnderTest> {
  const external = EXTERNAL_MONGODB_URL;
  if (external !== undefined) {
    return {
      wire: undefined,
      url(db) {
        const u = new URL(external);
        u.pathname = `/${db}`;
        return u.toString();
      },
      close: () => Promise.resolve(),
    };
  }
  const wire = await MongoWireServer.start();
  return { wire, url: (db) => wire.url(db), close: () => wire.close() };
}
