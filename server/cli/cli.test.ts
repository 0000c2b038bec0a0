/** The CLI as a user runs it: a real process, real signals. */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../../test/support/raw-client.js';
import { MongoWireServer } from '../../test/support/mongo-wire/server.js';
import { startServer, type ServerProcess } from '../../test/support/processes.js';
import { AMQP_URL, deleteExchanges, testPrefix } from '../../test/support/rabbit.js';
import { describeRabbit } from '../../test/support/services.js';

let running: ServerProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

describe('monorail-ws serve', () => {
  it('logs one "listening on" line, serves demo data from the memory backend, and exits 0 on SIGTERM after closing clients with 1001', async () => {
    running = await startServer(['--port', '0']);
    expect(running.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(running.output().match(/listening on/g)).toHaveLength(1);
    const client = await RawClient.connect(`${running.url}/nodes`);
    const list = await client.request({ handler: 'all' }, 'list');
    expect(list.items.length).toBeGreaterThan(0);
    expect(await running.stop('SIGTERM')).toBe(0);
    expect((await client.closed()).code).toBe(1001);
  });

  it('exits 0 on SIGINT (Ctrl-C)', async () => {
    running = await startServer(['--port', '0']);
    expect(await running.stop('SIGINT')).toBe(0);
  });

  it('takes PORT and HOST from the environment', async () => {
    running = await startServer([], { PORT: '0', HOST: 'localhost' });
    expect(running.url).toMatch(/^ws:\/\/localhost:\d+$/);
  });

  it('refuses an invalid port with a message and exit code 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/cli.ts', 'serve', '--port', 'abc'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('invalid port "abc"');
  });

  it('prints usage with --help, including the backend options', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/cli.ts', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: monorail-ws serve');
    for (const flag of ['--mongo URL', 'MONGODB_URL', '--amqp URL', 'AMQP_URL', '--exchange-prefix P']) expect(r.stdout).toContain(flag);
  });

  it('--mongo serves the collection channels from MongoDB (no demo data)', async () => {
    const wire = await MongoWireServer.start();
    try {
      wire.insert('rackhd', 'nodes', [{ name: 'from mongo', type: 'compute' }]);
      running = await startServer(['--port', '0', '--mongo', wire.url('rackhd')]);
      expect(running.output()).toContain('"backend":"mongodb (db rackhd)"');
      const client = await RawClient.connect(`${running.url}/nodes`);
      const list = await client.request({ handler: 'all' }, 'list');
      expect(list.items.map((d) => d.name)).toEqual(['from mongo']);
      client.close();
    } finally {
      await running?.stop('SIGKILL');
      await wire.close();
    }
  });
});

await describeRabbit('monorail-ws serve with RabbitMQ', () => {
  it('takes MONGODB_URL and AMQP_URL from the environment, and logs "listening on" last, after both are set up', async () => {
    const wire = await MongoWireServer.start();
    const prefix = testPrefix();
    try {
      running = await startServer(['--port', '0', '--exchange-prefix', prefix], { MONGODB_URL: wire.url(), AMQP_URL });
      const lines = running.output().trim().split('\n');
      const at = (text: string) => lines.findIndex((l) => l.includes(text));
      expect(at('mongodb connected')).toBeGreaterThan(-1);
      expect(at('amqp connected')).toBeGreaterThan(-1);
      expect(at('listening on')).toBeGreaterThan(Math.max(at('mongodb connected'), at('amqp connected')));
      expect(lines[at('listening on')]).toContain('"backend":"mongodb (db pxe)","amqp":"up"');
      expect(await running.stop('SIGTERM')).toBe(0);
    } finally {
      await wire.close();
      await deleteExchanges(prefix);
    }
  });
});
