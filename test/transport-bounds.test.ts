/**
 * The transport's bounds on idle and unfinished work, against the real server over raw TCP: a socket that never
 * completes its upgrade (silent, or headers cut in the middle) is cut after `handshakeTimeoutMs`; a message whose
 * fragments never complete closes the connection with 1008 after `fragmentTimeoutMs`. Timeouts are small so the
 * tests are quick; what is asserted is that the socket goes, never how fast.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type MonorailServer, type ServerOptions } from '../server/index.js';
import { waitFor } from './helpers.js';
import { maskedFrame, rawSocket, rawWebSocket, upgradeRequest } from './raw-tcp.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(options: ServerOptions = {}): Promise<MonorailServer> {
  const server = await createServer({ port: 0, seed: { nodes: [] }, ...options });
  cleanup.push(() => server.close());
  return server;
}

/** Resolves once the TCP connection is gone (ended or reset by the server). */
function gone(socket: import('node:net').Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

describe('handshake timeout', () => {
  it('a socket that never sends a byte is cut after handshakeTimeoutMs (regression: held for minutes)', async () => {
    const server = await serve({ handshakeTimeoutMs: 100 });
    const socket = await rawSocket(server.url);
    cleanup.push(() => socket.destroy());
    let cut = false;
    void gone(socket).then(() => (cut = true));
    await waitFor(() => cut, 5000, 'the silent socket cut');
  });

  it('a socket that sends half a header line and stops is cut after handshakeTimeoutMs', async () => {
    const server = await serve({ handshakeTimeoutMs: 100 });
    const socket = await rawSocket(server.url);
    cleanup.push(() => socket.destroy());
    const request = upgradeRequest(`${server.url}/nodes`);
    socket.write(request.slice(0, request.indexOf('Upgrade:') + 4));
    let cut = false;
    void gone(socket).then(() => (cut = true));
    await waitFor(() => cut, 5000, 'the slow-header socket cut');
  });
});

describe('fragment timeout', () => {
  it('a first fragment (FIN=0) with no continuation closes the connection with 1008 after fragmentTimeoutMs (regression: held forever)', async () => {
    const server = await serve({ fragmentTimeoutMs: 100, closeTimeoutMs: 50 });
    const ws = await rawWebSocket(`${server.url}/nodes`);
    cleanup.push(() => ws.socket.destroy());
    ws.socket.write(maskedFrame(1, Buffer.from('{"handler":"que'), false));
    let code: number | undefined | null = null;
    void ws.closed.then((c) => (code = c));
    await waitFor(() => code !== null, 5000, 'the connection closed');
    expect(code).toBe(1008);
  });
});
