/**
 * The wire-level MongoDB server as its own process, a source of truth that outlives the server processes a test
 * kills and restarts: `node --import tsx test/support/mongo-wire/main.ts [--port N] [--host H]` prints
 * `mongo-wire-server listening on mongodb://host:port` and stops on SIGTERM/SIGINT. Started with an IPC channel
 * (`startMongoWireServer` in processes.ts), it takes `{op: 'stop'}` and `{op: 'resume'}` (an outage and its end,
 * data kept; each answered with `{op, done: true}` once it took effect) and exits when its parent goes away.
 */
import { parseArgs } from 'node:util';
import { MongoWireServer } from './server.js';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' } } });
  const server = await MongoWireServer.start({ port: Number(values.port ?? 0), host: values.host ?? '127.0.0.1' });
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (process.send) {
    // Outages on request, answered once they took effect, so a test can act on a server that is really down (or up).
    process.on('message', (m: { op?: unknown }) => {
      const op = m.op;
      if (op !== 'stop' && op !== 'resume') return;
      void (op === 'stop' ? server.stop() : server.resume()).then(() => process.send?.({ op, done: true }));
    });
    process.on('disconnect', stop);
  }
  process.stdout.write(`mongo-wire-server listening on mongodb://${server.host}:${server.port}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mongo-wire-server: ${(err as Error).message}\n`);
  process.exit(1);
});
