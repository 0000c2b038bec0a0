/**
 * A small MongoDB server for tests, speaking the real wire protocol over TCP so the official `mongodb` driver runs
 * against it unmodified. No MongoDB server can be installed on the test machine; this one holds documents in
 * memory (`store.ts`, evaluated by `mingo`), answers the commands the driver sends (`commands.ts`) and reads and
 * writes the wire format (`wire.ts`).
 *
 * In process: `await MongoWireServer.start()`. As its own process (a source of truth that outlives server
 * restarts): `main.ts`, which `startMongoWireServer` in `processes.ts` runs.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Document } from 'bson';
import { Commands, type ReceivedCommand } from './commands.js';
import { Store } from './store.js';
import { decodeRequest, encodeReply, MessageReader } from './wire.js';

export type { ReceivedCommand } from './commands.js';

/** Options of `MongoWireServer.start`. */
export interface MongoWireServerOptions {
  /**
   * TCP port; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

/** An in-memory MongoDB over the wire protocol. */
export class MongoWireServer {
  /** Every command received, in order (handshake and monitoring included). */
  readonly commands: ReceivedCommand[] = [];
  /** Names of commands this server does not implement, as the driver sent them. */
  readonly unknownCommands: string[] = [];
  private readonly store = new Store();
  private readonly run = new Commands(this.store, this.commands, this.unknownCommands);
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private nextConnectionId = 1;
  private constructor(
    readonly host: string,
    public port: number,
  ) {}

  /** Starts a server and resolves once it listens. */
  static async start(options: MongoWireServerOptions = {}): Promise<MongoWireServer> {
    const server = new MongoWireServer(options.host ?? '127.0.0.1', options.port ?? 0);
    await server.listen();
    return server;
  }

  /** A connection string for a database on this server. */
  url(db = 'pxe'): string {
    return `mongodb://${this.host}:${this.port}/${db}`;
  }

  /** Whether it currently accepts connections. */
  get listening(): boolean {
    return this.server !== undefined;
  }

  /** The live array of a collection's documents (created empty when absent). */
  collection(db: string, name: string): Document[] {
    return this.store.collection(db, name);
  }

  /** Inserts documents (an `_id` ObjectId is added when missing). */
  insert(db: string, collection: string, docs: readonly Document[]): void {
    this.store.insert(db, collection, docs);
  }

  /** Applies an update (operators or a replacement) to the matching documents; returns how many matched. */
  update(db: string, collection: string, filter: Document, update: Document, multi = true): number {
    return this.store.update(db, collection, filter, update, multi);
  }

  /** Deletes the matching documents (at most one when `limit` is 1); returns how many. */
  delete(db: string, collection: string, filter: Document, limit = 0): number {
    return this.store.delete(db, collection, filter, limit);
  }

  /** Find commands received for a collection: their filters, in order (for asserting what the driver sent). */
  filtersSent(collection: string): Document[] {
    return this.commands.filter((c) => c.name === 'find' && c.body.find === collection).map((c) => c.body.filter as Document);
  }

  /** Stops listening and drops every connection: an outage. Data is kept; `resume()` brings it back. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.store.closeCursors();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port after `stop()`. */
  async resume(): Promise<void> {
    if (!this.server) await this.listen();
  }

  /** Stops for good. */
  async close(): Promise<void> {
    await this.stop();
  }

  private async listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const connectionId = this.nextConnectionId++;
    const reader = new MessageReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of reader.push(chunk)) {
          const request = decodeRequest(message);
          const reply = this.run.run(request.db, request.body, connectionId);
          if (!request.noReply && !socket.destroyed) socket.write(encodeReply(request, reply.doc));
          if (reply.close) socket.destroy();
        }
      } catch {
        // A message we cannot parse: a real server closes the connection, and so do we.
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }
}
