/**
 * Graceful shutdown of the real server process (SIGTERM): it stops accepting at once, closes clients with 1001,
 * waits for them within closeTimeoutMs, exits 0 — or exits 1 when the shutdown bound passes — and a client with a
 * URL list fails over to the other instance and converges there.
 */
import { connect } from 'node:net';
import WebSocket from 'isomorphic-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import { demoFixtures } from '../server/demo/fixtures.js';
import { RawClient } from './support/raw-client.js';
import { byId } from './support/records.js';
import { waitFor } from './support/wait.js';
import { startServer, type ServerProcess } from './support/processes.js';
import { stalledClient } from './support/raw-socket.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(args: string[] = []): Promise<ServerProcess> {
  const proc = await startServer(['--port', '0', ...args]);
  cleanup.push(() => proc.stop('SIGKILL'));
  return proc;
}

/** Whether a TCP connection to the port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      return resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('SIGTERM', () => {
  it('stops accepting at once, closes clients with 1001, waits for the last one to go, then exits 0', async () => {
    // A long close timeout, and a client that never answers the close frame: the process stays in its shutdown
    // until that client goes, which lets the test look at the server meanwhile.
    const proc = await server(['--close-timeout-ms', '60000', '--shutdown-timeout-ms', '60000']);
    const client = await RawClient.connect(`${proc.url}/nodes`);
    await client.request({ handler: 'init' }, 'session');
    const stalled = await stalledClient(`${proc.url}/nodes`);
    expect(await accepts(proc.port)).toBe(true);

    proc.proc.kill('SIGTERM');
    expect(await client.closed()).toEqual({ code: 1001, reason: 'server shutting down' });
    await waitFor(() => proc.output().includes('shutting down'));
    expect(await accepts(proc.port)).toBe(false);
    expect(proc.proc.exitCode).toBeNull();

    stalled.drop();
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toMatch(/info stopped/);
  });

  it('a client that never answers the close frame is cut after --close-timeout-ms, and the process exits 0', async () => {
    const proc = await server(['--close-timeout-ms', '100']);
    const stalled = await stalledClient(`${proc.url}/nodes`, [{ handler: 'watch', params: {} }]);
    cleanup.push(() => stalled.drop());
    expect(await proc.stop('SIGTERM')).toBe(0);
  });

  it('exits 1 when the shutdown outlasts --shutdown-timeout-ms, whatever is still pending', async () => {
    const proc = await server(['--close-timeout-ms', '60000', '--shutdown-timeout-ms', '150']);
    const stalled = await stalledClient(`${proc.url}/nodes`);
    cleanup.push(() => stalled.drop());
    expect(await proc.stop('SIGTERM')).toBe(1);
    expect(proc.output()).toContain('shutdown took too long, exiting');
  });

  it('a client with a URL list fails over to the other instance on 1001 and its store equals the data there', async () => {
    const a = await server();
    const b = await server();
    const c = new Connection([`${a.url}/workflows`, `${b.url}/workflows`], {
      WebSocket,
      backoff: { baseMs: 5, maxMs: 50 },
      heartbeat: false,
    });
    cleanup.push(() => c.disconnect());
    const closes: number[] = [];
    c.events.on('close', (e) => closes.push(e.code));
    c.watch({});
    const expected = JSON.stringify(byId(demoFixtures().workflows!, 'instanceId'));
    await waitFor(() => JSON.stringify(byId([...c.store.getSnapshot()], 'instanceId')) === expected);
    const first = c.sessionId;

    expect(await a.stop('SIGTERM')).toBe(0);
    await waitFor(() => c.state === 'open' && c.sessionId !== undefined && c.sessionId !== first, 10_000, 'failover');
    expect(closes[0]).toBe(1001);
    expect(c.url).toBe(`${b.url}/workflows`);
    await waitFor(() => JSON.stringify(byId([...c.store.getSnapshot()], 'instanceId')) === expected);
  });
});
