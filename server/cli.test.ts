/** The CLI as a user runs it: a real process, real signals. */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../test/helpers.js';
import { startServer, type ServerProcess } from '../test/processes.js';

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
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'serve', '--port', 'abc'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('invalid port "abc"');
  });

  it('prints usage with --help', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: monorail-ws serve');
  });
});
