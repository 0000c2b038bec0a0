#!/usr/bin/env node
/**
 * `monorail-ws serve [--port 9100] [--host 127.0.0.1] [--mongo URL] [--amqp URL] [--exchange-prefix P]`: runs the
 * server. Without MongoDB/RabbitMQ it runs on the embedded memory backend, seeded with RackHD-shaped demo data.
 * Env: PORT, HOST, MONGODB_URL, AMQP_URL.
 */
import { parseArgs } from 'node:util';
import { createServer, type MonorailServer } from '../server.js';
import { OPERATING_FLAGS, OPERATING_USAGE, operatingConfig } from './options.js';
import { RESUME_FLAGS, RESUME_USAGE, resumeConfig } from './resume-flags.js';
import type { Logger } from '../hub/logger.js';
import { lineLogger } from './line-logger.js';
import { startDemo } from '../demo/simulator.js';
import { handleShutdownSignals } from './shutdown.js';

const USAGE = `usage: monorail-ws serve [options]

  --port N        TCP port (env PORT)                       default 9100
  --host H        interface to bind (env HOST)              default 127.0.0.1
  --mongo URL     read RackHD's collections from MongoDB    (env MONGODB_URL; db from the URL path, default pxe)
  --amqp URL      follow RackHD's RabbitMQ exchanges        (env AMQP_URL)
  --exchange-prefix P  prefix every exchange name           default '' (on.waterline, on.events, on.logging)
  --demo          simulate RackHD activity (nodes discovered, workflows running, logs)
  --log-level L   debug | info | warn | error               default info
  -h, --help      this text
${OPERATING_USAGE}${RESUME_USAGE}`;

/** Parses argv and runs the command; resolves with the running server (for tests) or undefined. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, logger?: Logger): Promise<MonorailServer | undefined> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      mongo: { type: 'string' },
      amqp: { type: 'string' },
      'exchange-prefix': { type: 'string' },
      demo: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...OPERATING_FLAGS,
      ...RESUME_FLAGS,
    },
  });
  const command = positionals[0] ?? 'serve';
  if (values.help || command !== 'serve') {
    process.stdout.write(USAGE);
    if (command !== 'serve') process.exitCode = 2;
    return undefined;
  }
  const level = (values['log-level'] ?? 'info') as 'debug' | 'info' | 'warn' | 'error';
  const log = logger ?? lineLogger((line) => process.stderr.write(`${line}\n`), level);
  const portText = values.port ?? env.PORT ?? '9100';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port "${portText}"`);
  const host = values.host ?? env.HOST ?? '127.0.0.1';

  const operating = operatingConfig(values, env);
  const resuming = resumeConfig(values);
  const mongoUrl = values.mongo ?? env.MONGODB_URL;
  const amqpUrl = values.amqp ?? env.AMQP_URL;
  const server = await createServer({
    port,
    host,
    logger: log,
    ...operating.server,
    ...(mongoUrl ? { mongo: { url: mongoUrl } } : {}),
    ...(amqpUrl ? { amqp: { url: amqpUrl, exchangePrefix: values['exchange-prefix'] ?? '', stream: resuming.stream } } : {}),
    ...(resuming.resume ? { resume: resuming.resume } : {}),
  });
  const demo = values.demo && server.backend ? startDemo(server.backend) : undefined;

  handleShutdownSignals(
    {
      close: async () => {
        demo?.stop();
        await server.close();
      },
    },
    { logger: log, timeoutMs: operating.shutdownTimeoutMs },
  );
  // Announce only once the signal handlers are in place: a supervisor (or a test) that signals as soon as it
  // reads this line must get a clean shutdown, not the default kill.
  log.info(`listening on ${server.url}`, {
    backend: server.mongo ? `mongodb (db ${server.mongo.dbName})` : 'memory',
    amqp: server.amqp ? server.amqp.link.state : 'off',
    resume: server.hub.resume ? (server.amqp?.stream ? `stream ${server.amqp.stream.name}` : 'this instance') : 'off',
    instance: server.instanceId,
    demo: Boolean(demo),
    channels: server.hub.registry.specs.map((s) => s.name),
  });
  return server;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Some messages name the package already (a missing optional package: "monorail-ws: … npm install mongodb@7.9").
  const message = String((err as Error).message).replace(/^monorail-ws: /, '');
  process.stderr.write(`monorail-ws: ${message}\n`);
  process.exit(1);
});
