/**
 * The network between the resume scenario's clients and its server, in a process of its own: a TCP proxy that counts
 * the bytes the server sends (WebSocket frames and handshakes, as they go over TCP) and can take the network away.
 * `drop` resets every connection on both sides at once, without a WebSocket close frame (a Wi-Fi that goes away, a
 * NAT that forgets its mappings), and refuses new connections for `ms` (resets them as they come); the server stays
 * up meanwhile. Driven by the orchestrator over IPC (bench/resume.ts).
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { emit, serveRequests } from './ipc.js';

let upstreamPort = 0;
let downUntil = 0;
/** Bytes from the server to the clients, and from the clients to the server, since the last `reset`. */
const bytes = { down: 0, up: 0 };
const pairs = new Set<readonly [Socket, Socket]>();

const proxy = createServer((client) => {
  if (Date.now() < downUntil) {
    client.on('error', () => undefined);
    client.resetAndDestroy();
    return;
  }
  const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
  const pair = [client, upstream] as const;
  pairs.add(pair);
  const end = (): void => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  for (const s of pair) {
    s.on('error', end);
    s.on('close', end);
  }
  upstream.on('data', (chunk: Buffer) => {
    bytes.down += chunk.length;
  });
  client.on('data', (chunk: Buffer) => {
    bytes.up += chunk.length;
  });
  client.pipe(upstream);
  upstream.pipe(client);
});
proxy.maxConnections = 100_000;
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));

serveRequests({
  info: () => ({ port: (proxy.address() as AddressInfo).port, connections: pairs.size }),
  /** Where connections go (the server's port; the same across a restart). */
  upstream: (m) => {
    upstreamPort = m.port as number;
  },
  /** Resets every connection on both sides, and refuses new ones for `ms`. */
  drop: (m) => {
    downUntil = Date.now() + (m.ms as number);
    const dropped = pairs.size;
    for (const [a, b] of [...pairs]) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
    return { dropped };
  },
  bytes: () => ({ ...bytes, connections: pairs.size }),
  reset: () => {
    bytes.down = 0;
    bytes.up = 0;
  },
  exit: () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    proxy.close();
    setImmediate(() => process.exit(0));
  },
});
emit('listening', {});
