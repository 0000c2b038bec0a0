/**
 * The transport's bounds on idle and unfinished work, against the real server over raw TCP: a socket that never
 * completes its upgrade (silent, or headers cut in the middle) is cut after `handshakeTimeoutMs`; a message whose
 * fragments never complete closes the connection with 1008 after `fragmentTimeoutMs`; sockets beyond
 * `maxPendingUpgrades` are destroyed on accept, connections beyond `maxConnections` closed with 1013; and the
 * counters behind the caps return to 0 whichever way a socket leaves. Timeouts are small so the tests are quick;
 * what is asserted is that the socket goes (and with which code), never how fast.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerVerifier, createServer, type MonorailServer, type ServerOptions } from '../server/index.js';
import { RawClient } from './support/raw-client.js';
import { waitFor } from './support/wait.js';
import {
  frameClient,
  maskedFrame,
  maskedTextFrame,
  Opcode,
  silentSocket,
  upgradeRequest,
  type SilentSocket,
} from './support/raw-socket.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(options: ServerOptions = {}): Promise<MonorailServer> {
  const server = await createServer({ port: 0, seed: { nodes: [] }, ...options });
  cleanup.push(() => server.close());
  return server;
}

describe('handshake timeout', () => {
  it('a socket that never sends a byte is cut after handshakeTimeoutMs (regression: held for minutes)', async () => {
    const server = await serve({ handshakeTimeoutMs: 100 });
    const silent = await silentSocket(server.url);
    cleanup.push(() => silent.socket.destroy());
    await waitFor(() => silent.isEnded(), 5000, 'the silent socket cut');
  });

  it('a socket that sends half a header line and stops is cut after handshakeTimeoutMs', async () => {
    const server = await serve({ handshakeTimeoutMs: 100 });
    const slow = await silentSocket(server.url);
    cleanup.push(() => slow.socket.destroy());
    const request = upgradeRequest(`${server.url}/nodes`);
    slow.socket.write(request.slice(0, request.indexOf('Upgrade:') + 4));
    await waitFor(() => slow.isEnded(), 5000, 'the slow-header socket cut');
  });
});

describe('fragment timeout', () => {
  it('a first fragment (FIN=0) with no continuation closes the connection with 1008 after fragmentTimeoutMs (regression: held forever)', async () => {
    const server = await serve({ fragmentTimeoutMs: 100, closeTimeoutMs: 50 });
    const ws = await frameClient(`${server.url}/nodes`);
    cleanup.push(() => ws.socket.destroy());
    ws.write(maskedFrame(Opcode.Text, Buffer.from('{"handler":"que'), { fin: false }));
    await waitFor(() => ws.isEnded(), 5000, 'the connection closed');
    expect(await ws.closed).toBe(1008);
  });
});

describe('fragment timeout: what is not cut, and a frame cut in the middle', () => {
  it('a fragmented message completed in time is answered, and the connection stays open', async () => {
    const server = await serve({ fragmentTimeoutMs: 60_000 });
    const ws = await frameClient(`${server.url}/nodes`);
    cleanup.push(() => ws.socket.destroy());
    ws.write(
      Buffer.concat([
        maskedFrame(Opcode.Text, Buffer.from('{"handler":'), { fin: false }),
        maskedFrame(Opcode.Continuation, Buffer.from('"init"}')),
      ]),
    );
    const [session] = await waitFor(() => (ws.texts().length === 1 ? ws.texts() : undefined), 5000, 'the session');
    expect(JSON.parse(session!)).toMatchObject({ handler: 'session' });
    expect(server.transportStats().unfinishedMessages).toBe(0);
  });

  it('a single frame whose payload stops half-way closes with 1008 too', async () => {
    const server = await serve({ fragmentTimeoutMs: 100, closeTimeoutMs: 50 });
    const ws = await frameClient(`${server.url}/nodes`);
    cleanup.push(() => ws.socket.destroy());
    const frame = maskedTextFrame(JSON.stringify({ handler: 'query', params: { name: 'x'.repeat(4000) } }));
    ws.write(frame.subarray(0, 2000));
    expect(await ws.closed).toBe(1008);
    expect(server.transportStats().unfinishedMessages).toBe(1);
    await waitFor(() => server.hub.stats().connections === 0, 5000, 'the connection gone');
  });
});

describe('maxPendingUpgrades', () => {
  it('beyond it a new TCP connection is destroyed before anything is read; a slot frees when a pending socket goes', async () => {
    const server = await serve({ maxPendingUpgrades: 3, handshakeTimeoutMs: 60_000 });
    const pending = [await silentSocket(server.url), await silentSocket(server.url), await silentSocket(server.url)];
    for (const { socket } of pending) cleanup.push(() => socket.destroy());
    await waitFor(() => server.transportStats().pendingUpgrades === 3, 5000, 'three pending');
    const fourth = await silentSocket(server.url);
    await fourth.ended;
    expect(fourth.socket.bytesRead).toBe(0);
    expect(server.transportStats()).toMatchObject({ pendingUpgrades: 3, refusedSockets: 1 });

    pending[0]!.socket.destroy();
    await waitFor(() => server.transportStats().pendingUpgrades === 2, 5000, 'one slot free');
    const client = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => client.close());
    expect((await client.request({ handler: 'init' })).handler).toBe('session');
    // Admitted: no longer pending.
    expect(server.transportStats().pendingUpgrades).toBe(2);
  });
});

describe('maxConnections', () => {
  it('beyond it a connection is closed with 1013 right after the upgrade; a slot frees when one closes', async () => {
    const server = await serve({ maxConnections: 2 });
    const a = await RawClient.connect(`${server.url}/nodes`);
    const b = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const third = await RawClient.connect(`${server.url}/nodes`);
    expect(await third.closed()).toEqual({ code: 1013, reason: 'server overloaded' });
    expect(third.frames).toEqual([]);
    expect(server.hub.stats().connections).toBe(2);
    a.close();
    await waitFor(() => server.hub.stats().connections === 1);
    const again = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => again.close());
    expect((await again.request({ handler: 'init' })).handler).toBe('session');
    expect(server.transportStats()).toMatchObject({ refusedConnections: 1, pendingUpgrades: 0 });
  });

  it('is checked again when the upgrade completes: connections authenticated at the same time do not pass it together', async () => {
    const waiting: Array<() => void> = [];
    const server = await serve({
      maxConnections: 1,
      authenticate: bearerVerifier(() => new Promise((resolve) => waiting.push(() => resolve('user')))),
      authenticateTimeoutMs: 60_000,
    });
    const opening = [1, 2, 3].map(() => RawClient.connect(`${server.url}/nodes`, ['monorail-ws', 'bearer.t']));
    await waitFor(() => waiting.length === 3, 5000, 'three in authenticate');
    for (const release of waiting) release();
    const clients = await Promise.all(opening);
    for (const c of clients) cleanup.push(() => c.close());
    await waitFor(() => clients.filter((c) => c.closeEvent).length === 2, 5000, 'two refused');
    expect(clients.map((c) => c.closeEvent?.code).sort()).toEqual([1013, 1013, undefined]);
    expect(server.hub.stats().connections).toBe(1);
  });
});

describe('the counters behind the caps', () => {
  it('return to 0 whichever way sockets leave: timed out, cut mid-header, refused, reset while authenticating, closed, reset, over a cap', async () => {
    const hold: Array<() => void> = [];
    const server = await serve({
      maxConnections: 5,
      handshakeTimeoutMs: 200,
      authenticate: bearerVerifier((t) => (t === 'ok' ? 'user' : t === 'slow' ? new Promise((r) => hold.push(() => r('user'))) : null)),
    });
    const url = `${server.url}/nodes`;
    const sockets: SilentSocket[] = [];
    const clients: RawClient[] = [];
    cleanup.push(() => {
      for (const s of sockets) s.socket.destroy();
    });
    cleanup.push(() => {
      for (const c of clients) c.close();
    });
    for (let round = 0; round < 5; round++) {
      // Silent, and cut by the handshake timeout.
      sockets.push(await silentSocket(url));
      // Half a header, then reset by the client.
      const half = await silentSocket(url);
      half.socket.write(upgradeRequest(url).slice(0, 30));
      half.socket.resetAndDestroy();
      // Refused: wrong origin, no token.
      clients.push(await RawClient.connect(url, ['monorail-ws', 'bearer.ok'], { origin: 'https://evil.example.net' }));
      clients.push(await RawClient.connect(url));
      // Reset while authenticate is still deciding.
      const slow = await silentSocket(url);
      slow.socket.write(upgradeRequest(url, { 'sec-websocket-protocol': 'bearer.slow' }));
      await waitFor(() => hold.length === round + 1, 5000, 'authenticate running');
      slow.socket.resetAndDestroy();
      // Admitted, then closed cleanly by the client, or reset without a close frame.
      const clean = await RawClient.connect(url, ['monorail-ws', 'bearer.ok']);
      await clean.request({ handler: 'init' });
      clean.close();
      const reset = await RawClient.connect(url, ['monorail-ws', 'bearer.ok']);
      await reset.request({ handler: 'init' });
      (reset.ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
    }
    // Over maxConnections: five held open, the sixth refused.
    for (let i = 0; i < 6; i++) clients.push(await RawClient.connect(url, ['monorail-ws', 'bearer.ok']));
    await waitFor(() => clients.at(-1)!.closeEvent?.code === 1013, 5000, 'the sixth refused');
    for (const release of hold.splice(0)) release();
    for (const c of clients) c.close();

    await waitFor(
      () => {
        const t = server.transportStats();
        return t.pendingUpgrades === 0 && t.webSockets === 0 && server.hub.stats().connections === 0;
      },
      10_000,
      'every counter back to 0',
    );
    expect(server.transportStats()).toMatchObject({ pendingUpgrades: 0, webSockets: 0, refusedConnections: 1, queuedBytes: 0 });
  });
});

describe('configuration', () => {
  it('createServer refuses a timeout or cap that is not a whole number >= 0, naming it', async () => {
    for (const [option, value] of [
      ['handshakeTimeoutMs', -1],
      ['fragmentTimeoutMs', 1.5],
      ['maxPendingUpgrades', Number.NaN],
      ['maxConnections', -5],
      ['maxQueuedBytes', Number.POSITIVE_INFINITY],
    ] as const) {
      await expect(createServer({ port: 0, [option]: value })).rejects.toThrow(new RegExp(`^${option} must be a whole number >= 0`));
    }
  });

  it('0 turns each off: no handshake cut, no caps', async () => {
    const server = await serve({
      handshakeTimeoutMs: 0,
      fragmentTimeoutMs: 0,
      maxPendingUpgrades: 0,
      maxConnections: 0,
      maxQueuedBytes: 0,
    });
    const silent = await Promise.all([1, 2, 3].map(() => silentSocket(server.url)));
    for (const s of silent) cleanup.push(() => s.socket.destroy());
    await waitFor(() => server.transportStats().pendingUpgrades === 3);
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(`${server.url}/nodes`)));
    for (const c of clients) cleanup.push(() => c.close());
    for (const c of clients) expect((await c.request({ handler: 'init' })).handler).toBe('session');
    expect(silent.every((s) => !s.isEnded())).toBe(true);
    expect(server.transportStats()).toMatchObject({ refusedSockets: 0, refusedConnections: 0, queuedBytes: 0 });
  });
});
