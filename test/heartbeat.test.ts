/**
 * Heartbeats in both directions over real sockets and processes. Server: ws ping frames; a client process that
 * is frozen (SIGSTOP: its kernel still ACKs TCP, so the connection looks open) is terminated once it misses a pong,
 * while a live one is never touched. Client: the app-level ping the server announces keeps an idle connection
 * open, and a frozen server process is abandoned and reconnected to once it runs again. Intervals are injected
 * small; what is asserted is states and counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'isomorphic-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import { createServer, type HubConnection } from '../server/index.js';
import { waitFor } from './support/wait.js';
import { startServer } from './support/processes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A separate process holding one WebSocket (ws answers pings by itself); prints what happens to it. */
function clientProcess(url: string): { proc: ChildProcess; output: () => string } {
  const script = `
    import WebSocket from 'ws';
    const ws = new WebSocket(process.argv[1]);
    ws.on('open', () => { console.log('open'); ws.send(JSON.stringify({ handler: 'watch', params: {} })); });
    ws.on('ping', () => console.log('ping'));
    ws.on('close', (code) => console.log('close ' + code));
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script, url], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  cleanup.push(() => {
    // Resume first: a stopped process does not act on SIGKILL's exit until it is scheduled again on some systems.
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
  });
  return { proc, output: () => out };
}

describe('server heartbeat (ws ping frames)', () => {
  it('keeps a client that answers, and terminates a frozen client process (SIGSTOP) that misses a pong', async () => {
    const server = await createServer({ port: 0, heartbeatMs: 150 });
    cleanup.push(() => server.close());
    const closes: number[] = [];
    let conn: HubConnection | undefined;
    server.on('connection', (c) => {
      conn = c;
      c.on('close', (e) => closes.push(e.code));
    });
    const client = clientProcess(`${server.url}/nodes`);
    await waitFor(() => server.hub.stats().watches === 1, 10_000, 'client process watching');
    // Several rounds answered: still connected.
    await waitFor(() => (client.output().match(/^ping$/gm) ?? []).length >= 3, 5000, 'three pings');
    expect(server.hub.connections.size).toBe(1);
    expect(closes).toEqual([]);

    client.proc.kill('SIGSTOP');
    await waitFor(() => conn!.closed, 5000, 'terminated');
    // terminate(): no close handshake with a peer that cannot answer.
    expect(closes).toEqual([1006]);
    expect(server.hub.stats()).toMatchObject({ connections: 0, watches: 0 });
  });
});

describe('client heartbeat (app-level ping announced by the server)', () => {
  it('pings a silent connection and keeps it open on every pong', async () => {
    const server = await createServer({ port: 0 });
    cleanup.push(() => server.close());
    const c = new Connection(`${server.url}/nodes`, { WebSocket, heartbeat: { pingAfterMs: 20, timeoutMs: 5000 } });
    cleanup.push(() => c.disconnect());
    let pongs = 0;
    c.events.on('pong', () => pongs++);
    const id = await new Promise<string>((resolve) => c.init(resolve));
    await waitFor(() => pongs >= 3, 5000, 'three pongs');
    expect(c.state).toBe('open');
    expect(c.sessionId).toBe(id);
  });

  it('abandons a frozen server (SIGSTOP) when no pong arrives, and reconnects once it runs again', async () => {
    const proc = await startServer(['--port', '0']);
    cleanup.push(() => {
      proc.proc.kill('SIGCONT');
      return proc.stop('SIGKILL');
    });
    const c = new Connection(`${proc.url}/nodes`, {
      WebSocket,
      backoff: { baseMs: 5, maxMs: 20 },
      heartbeat: { pingAfterMs: 30, timeoutMs: 150 },
    });
    cleanup.push(() => c.disconnect());
    const closes: Array<{ code: number; reason: string }> = [];
    c.events.on('close', (e) => closes.push({ code: e.code, reason: e.reason }));
    const first = await new Promise<string>((resolve) => c.init(resolve));

    proc.proc.kill('SIGSTOP');
    await waitFor(() => closes.length > 0, 5000, 'heartbeat timeout');
    expect(closes[0]).toEqual({ code: 1006, reason: 'heartbeat timeout' });
    expect(c.state).not.toBe('open');

    proc.proc.kill('SIGCONT');
    await waitFor(() => c.state === 'open' && c.sessionId !== undefined && c.sessionId !== first, 10_000, 'reconnect');
  });
});
