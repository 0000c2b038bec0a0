/**
 * A TCP proxy between clients and a server, for network faults: `dropAll()` resets both sides of every
 * connection at once, with no close frame (what a client sees when its Wi-Fi goes away, and the server when a
 * NAT forgets the mapping). The upstream port can change, so a server restarted on another port is reachable at
 * the same client URL. With `delayMs`, what the server sends reaches the client that much later, in order (a slow
 * network, as the mock's `latencyMs`).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  private readonly pairs = new Set<readonly [Socket, Socket]>();
  /** Connections dropped by `dropAll` so far. */
  dropped = 0;

  private constructor(
    private readonly server: Server,
    /** Where connections are forwarded to (127.0.0.1). */
    public upstreamPort: number,
    private readonly delayMs: number,
  ) {}

  /** Listens on a free port of 127.0.0.1. */
  static async start(upstreamPort: number, options: { delayMs?: number } = {}): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, upstreamPort, options.delayMs ?? 0);
    server.on('connection', (client) => proxy.forward(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Open client connections. */
  get size(): number {
    return this.pairs.size;
  }

  /** Resets every connection on both sides (TCP RST, no WebSocket close frame). */
  dropAll(): number {
    const n = this.pairs.size;
    for (const [a, b] of [...this.pairs]) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
    this.dropped += n;
    return n;
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: Socket): void {
    const upstream = connect({ host: '127.0.0.1', port: this.upstreamPort });
    const pair = [client, upstream] as const;
    this.pairs.add(pair);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(upstream);
    if (this.delayMs === 0) upstream.pipe(client);
    else {
      // Same delay for every chunk: timers of equal delay run in the order they were set, so bytes keep their order.
      upstream.on('data', (chunk: Buffer) => {
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
        }, this.delayMs);
      });
    }
  }
}
