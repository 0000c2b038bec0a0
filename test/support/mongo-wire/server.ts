/**
 * A small MongoDB server for tests, speaking the real wire protocol over TCP so the official `mongodb` driver
 * runs against it unmodified. No MongoDB server can be installed on the test machine; this one holds documents
 * in memory and evaluates filters, sorts, projections and updates with `mingo` — deliberately not with our own
 * `matches`, so tests of the MongoDB source have an independent oracle.
 *
 * What it speaks: OP_QUERY (only for the driver's legacy `isMaster` handshake) and OP_MSG (everything after).
 * Commands: hello/isMaster, buildInfo, ping, endSessions, find, getMore, killCursors, insert, update, delete,
 * drop, dropDatabase, create, listCollections, and mongod's `configureFailPoint` with the `failCommand` failpoint
 * (so fault tests run unchanged against a real mongod started with `enableTestCommands`). Anything else gets
 * mongod's CommandNotFound error and is recorded in `unknownCommands`.
 *
 * In process: `await MongoWireServer.start()`; as its own process (a source of truth that outlives server
 * restarts): `node --import tsx test/support/mongo-wire/server.ts [--port N] [--host H]`, which prints
 * `mongo-wire-server listening on mongodb://host:port` and stops on SIGTERM/SIGINT. Started with an IPC channel, it
 * takes `{op: 'stop'}` and `{op: 'resume'}` (an outage and its end, data kept; each answered with `{op, done: true}`
 * once it took effect) and exits when its parent goes away.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BSON, Long, ObjectId, type Document } from 'bson';
import { Query } from 'mingo';
import { updateMany, updateOne } from 'mingo/updater';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const MSG_CHECKSUM_PRESENT = 1;
const MSG_MORE_TO_COME = 2;
/** Largest message we accept; the driver never sends more than `maxMessageSizeBytes` (announced below). */
const MAX_MESSAGE = 48_000_000;
/** MongoDB's default size of a find's first batch when the client gives no batchSize. */
const DEFAULT_FIRST_BATCH = 101;

/** One command as it arrived (name, database and the whole body, document sequences merged in). */
export interface ReceivedCommand {
  readonly name: string;
  readonly db: string;
  readonly body: Document;
}

/** The `failCommand` failpoint, in mongod's own shape. */
interface FailPoint {
  remaining: number;
  failCommands: Set<string>;
  errorCode?: number;
  closeConnection: boolean;
}

interface OpenCursor {
  readonly ns: string;
  readonly docs: Document[];
  pos: number;
}

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

class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

/** An in-memory MongoDB over the wire protocol. */
export class MongoWireServer {
  /** Every command received, in order (handshake and monitoring included). */
  readonly commands: ReceivedCommand[] = [];
  /** Names of commands this server does not implement, as the driver sent them. */
  readonly unknownCommands: string[] = [];
  private readonly dbs = new Map<string, Map<string, Document[]>>();
  private readonly cursors = new Map<bigint, OpenCursor>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private nextCursorId = 1n;
  private nextConnectionId = 1;
  private failPoint: FailPoint | undefined;
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
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    let docs = colls.get(name);
    if (!docs) colls.set(name, (docs = []));
    return docs;
  }

  /** Inserts documents (an `_id` ObjectId is added when missing). */
  insert(db: string, collection: string, docs: readonly Document[]): void {
    const target = this.collection(db, collection);
    for (const doc of docs) {
      const copy = BSON.deserialize(BSON.serialize(doc));
      if (copy._id === undefined) copy._id = new ObjectId();
      if (target.some((d) => sameId(d._id, copy._id))) {
        throw new CommandError(11000, 'DuplicateKey', `E11000 duplicate key error collection: ${db}.${collection}`);
      }
      target.push(copy);
    }
  }

  /** Applies an update (operators or a replacement) to the matching documents; returns how many matched. */
  update(db: string, collection: string, filter: Document, update: Document, multi = true): number {
    const docs = this.collection(db, collection);
    if (Object.keys(update).some((k) => k.startsWith('$'))) {
      return (multi ? updateMany : updateOne)(docs, filter, update).matchedCount;
    }
    const query = new Query(filter);
    let matched = 0;
    for (let i = 0; i < docs.length; i++) {
      if (!query.test(docs[i]!)) continue;
      docs[i] = { _id: docs[i]!._id, ...BSON.deserialize(BSON.serialize(update)) };
      matched++;
      if (!multi) break;
    }
    return matched;
  }

  /** Deletes the matching documents (at most one when `limit` is 1); returns how many. */
  delete(db: string, collection: string, filter: Document, limit = 0): number {
    const docs = this.collection(db, collection);
    const query = new Query(filter);
    let removed = 0;
    for (let i = 0; i < docs.length; ) {
      if (query.test(docs[i]!) && (limit === 0 || removed < limit)) {
        docs.splice(i, 1);
        removed++;
      } else i++;
    }
    return removed;
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
    this.cursors.clear();
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
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const length = buffered.readInt32LE(0);
        if (length < 16 || length > MAX_MESSAGE) {
          socket.destroy();
          return;
        }
        if (buffered.length < length) break;
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        try {
          this.receive(socket, message, connectionId);
        } catch {
          // A message we cannot parse: a real server closes the connection, and so do we.
          socket.destroy();
          return;
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private receive(socket: Socket, message: Buffer, connectionId: number): void {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (opCode === OP_QUERY) {
      // flags(4) fullCollectionName(cstring) numberToSkip(4) numberToReturn(4) query(doc)
      let at = 20;
      const nameEnd = message.indexOf(0, at);
      const ns = message.toString('utf8', at, nameEnd);
      at = nameEnd + 1 + 8;
      const size = message.readInt32LE(at);
      const body = BSON.deserialize(message.subarray(at, at + size));
      const reply = this.run(ns.split('.')[0] ?? 'admin', body, connectionId);
      if (reply) this.send(socket, OP_REPLY, requestId, opReply(reply.doc));
      if (reply?.close) socket.destroy();
      return;
    }
    if (opCode !== OP_MSG) throw new Error(`unsupported opCode ${opCode}`);
    const flags = message.readUInt32LE(16);
    const end = message.length - (flags & MSG_CHECKSUM_PRESENT ? 4 : 0);
    let at = 20;
    let body: Document | undefined;
    const sequences: Array<[string, Document[]]> = [];
    while (at < end) {
      const kind = message[at++];
      const size = message.readInt32LE(at);
      if (kind === 0) {
        body = BSON.deserialize(message.subarray(at, at + size));
        at += size;
      } else if (kind === 1) {
        const sectionEnd = at + size;
        const idEnd = message.indexOf(0, at + 4);
        const identifier = message.toString('utf8', at + 4, idEnd);
        const docs: Document[] = [];
        for (let p = idEnd + 1; p < sectionEnd; ) {
          const docSize = message.readInt32LE(p);
          docs.push(BSON.deserialize(message.subarray(p, p + docSize)));
          p += docSize;
        }
        sequences.push([identifier, docs]);
        at = sectionEnd;
      } else throw new Error(`unknown OP_MSG section kind ${kind}`);
    }
    if (!body) throw new Error('OP_MSG without a body');
    for (const [identifier, docs] of sequences) body[identifier] = docs;
    const reply = this.run(typeof body.$db === 'string' ? body.$db : 'admin', body, connectionId);
    // moreToCome from the client: an unacknowledged write, nothing to answer.
    if (reply && !(flags & MSG_MORE_TO_COME)) {
      const doc = BSON.serialize(reply.doc);
      const payload = Buffer.alloc(5 + doc.length);
      payload.writeUInt32LE(0, 0);
      payload[4] = 0;
      Buffer.from(doc.buffer, doc.byteOffset, doc.length).copy(payload, 5);
      this.send(socket, OP_MSG, requestId, payload);
    }
    if (reply?.close) socket.destroy();
  }

  private send(socket: Socket, opCode: number, responseTo: number, payload: Buffer): void {
    const header = Buffer.alloc(16);
    header.writeInt32LE(16 + payload.length, 0);
    header.writeInt32LE(0, 4);
    header.writeInt32LE(responseTo, 8);
    header.writeInt32LE(opCode, 12);
    if (!socket.destroyed) socket.write(Buffer.concat([header, payload]));
  }

  /** Runs one command; returns the reply document (and whether to drop the connection after it). */
  private run(db: string, body: Document, connectionId: number): { doc: Document; close?: boolean } | undefined {
    const name = Object.keys(body)[0] ?? '';
    this.commands.push({ name, db, body });
    const fp = this.failPoint;
    if (fp && fp.remaining > 0 && fp.failCommands.has(name)) {
      fp.remaining--;
      if (fp.closeConnection) return { doc: {}, close: true };
      return { doc: { ok: 0, errmsg: `Failing command ${name} via 'failCommand' failpoint`, code: fp.errorCode ?? 1, codeName: 'FailPoint' } };
    }
    try {
      return { doc: { ...this.command(name, db, body, connectionId), ok: 1 } };
    } catch (err) {
      if (err instanceof CommandError) return { doc: { ok: 0, errmsg: err.message, code: err.code, codeName: err.codeName } };
      return { doc: { ok: 0, errmsg: String((err as Error).message ?? err), code: 1, codeName: 'InternalError' } };
    }
  }

  private command(name: string, db: string, body: Document, connectionId: number): Document {
    switch (name.toLowerCase()) {
      case 'hello':
      case 'ismaster':
        return {
          helloOk: true,
          isWritablePrimary: true,
          ismaster: true,
          maxBsonObjectSize: 16 * 1024 * 1024,
          maxMessageSizeBytes: MAX_MESSAGE,
          maxWriteBatchSize: 100_000,
          localTime: new Date(),
          logicalSessionTimeoutMinutes: 30,
          connectionId,
          minWireVersion: 0,
          // MongoDB 7.0; no `topologyVersion`, so the driver polls instead of streaming hello.
          maxWireVersion: 21,
          readOnly: false,
        };
      case 'buildinfo':
        return { version: '7.0.0', gitVersion: 'mongo-wire-server', versionArray: [7, 0, 0, 0], bits: 64, maxBsonObjectSize: 16 * 1024 * 1024 };
      case 'ping':
      case 'endsessions':
        return {};
      case 'configurefailpoint':
        return this.configureFailPoint(body);
      case 'find':
        return this.find(db, body);
      case 'getmore':
        return this.getMore(body);
      case 'killcursors': {
        const ids = (body.cursors as unknown[] | undefined) ?? [];
        for (const id of ids) this.cursors.delete(toBigInt(id));
        return { cursorsKilled: ids, cursorsNotFound: [], cursorsAlive: [], cursorsUnknown: [] };
      }
      case 'insert': {
        const docs = (body.documents as Document[] | undefined) ?? [];
        this.insert(db, String(body.insert), docs);
        return { n: docs.length };
      }
      case 'update':
        return this.updateCommand(db, body);
      case 'delete': {
        let n = 0;
        for (const d of (body.deletes as Document[] | undefined) ?? []) n += this.delete(db, String(body.delete), (d.q as Document) ?? {}, Number(d.limit ?? 0));
        return { n };
      }
      case 'create':
        this.collection(db, String(body.create));
        return {};
      case 'drop':
        this.dbs.get(db)?.delete(String(body.drop));
        return { ns: `${db}.${String(body.drop)}`, nIndexesWas: 1 };
      case 'dropdatabase':
        this.dbs.delete(db);
        return { dropped: db };
      case 'listcollections': {
        const names = [...(this.dbs.get(db)?.keys() ?? [])];
        return { cursor: { id: Long.ZERO, ns: `${db}.$cmd.listCollections`, firstBatch: names.map((n) => ({ name: n, type: 'collection', options: {} })) } };
      }
      default:
        this.unknownCommands.push(name);
        throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
    }
  }

  private configureFailPoint(body: Document): Document {
    if (body.configureFailPoint !== 'failCommand') throw new CommandError(72, 'InvalidOptions', 'only the failCommand failpoint is supported');
    const mode = body.mode as unknown;
    const data = (body.data as Document | undefined) ?? {};
    if (mode === 'off') {
      this.failPoint = undefined;
      return {};
    }
    const remaining = mode === 'alwaysOn' ? Infinity : Number((mode as { times?: number }).times ?? 0);
    this.failPoint = {
      remaining,
      failCommands: new Set((data.failCommands as string[] | undefined) ?? []),
      ...(typeof data.errorCode === 'number' ? { errorCode: data.errorCode } : {}),
      closeConnection: data.closeConnection === true,
    };
    return {};
  }

  private find(db: string, body: Document): Document {
    const collection = String(body.find);
    const ns = `${db}.${collection}`;
    let cursor = new Query((body.filter as Document | undefined) ?? {}).find(this.collection(db, collection), body.projection as Document | undefined);
    if (body.sort && Object.keys(body.sort as Document).length > 0) cursor = cursor.sort(body.sort as Record<string, 1 | -1>);
    if (typeof body.skip === 'number' && body.skip > 0) cursor = cursor.skip(body.skip);
    const limit = Math.abs(Number(body.limit ?? 0));
    if (limit > 0) cursor = cursor.limit(limit);
    // Copies: a later update or delete must not change a batch already handed out.
    const docs = cursor.all().map((d) => BSON.deserialize(BSON.serialize(d as Document)));
    const batchSize = body.batchSize === undefined ? DEFAULT_FIRST_BATCH : Number(body.batchSize);
    const first = batchSize > 0 ? docs.slice(0, batchSize) : docs;
    let id = 0n;
    if (first.length < docs.length && body.singleBatch !== true) {
      id = this.nextCursorId++;
      this.cursors.set(id, { ns, docs, pos: first.length });
    }
    return { cursor: { id: Long.fromBigInt(id), ns, firstBatch: first } };
  }

  private getMore(body: Document): Document {
    const id = toBigInt(body.getMore);
    const open = this.cursors.get(id);
    if (!open) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
    const size = body.batchSize === undefined ? open.docs.length : Number(body.batchSize);
    const batch = open.docs.slice(open.pos, open.pos + (size > 0 ? size : open.docs.length));
    open.pos += batch.length;
    const done = open.pos >= open.docs.length;
    if (done) this.cursors.delete(id);
    return { cursor: { id: Long.fromBigInt(done ? 0n : id), ns: open.ns, nextBatch: batch } };
  }

  private updateCommand(db: string, body: Document): Document {
    const collection = String(body.update);
    let n = 0;
    const upserted: Document[] = [];
    ((body.updates as Document[] | undefined) ?? []).forEach((u, index) => {
      const q = (u.q as Document) ?? {};
      const change = u.u as Document;
      const matched = this.update(db, collection, q, change, u.multi === true);
      n += matched;
      if (matched === 0 && u.upsert === true) {
        const base: Document = {};
        for (const [k, v] of Object.entries(q)) if (!k.startsWith('$') && !isOperatorDoc(v)) base[k] = v;
        const isModifier = Object.keys(change).some((k) => k.startsWith('$'));
        const doc = isModifier ? base : { ...change, ...(base._id !== undefined ? { _id: base._id } : {}) };
        if (doc._id === undefined) doc._id = new ObjectId();
        this.insert(db, collection, [doc]);
        if (isModifier) this.update(db, collection, { _id: doc._id }, change, false);
        upserted.push({ index, _id: doc._id });
        n++;
      }
    });
    return upserted.length > 0 ? { n, nModified: n - upserted.length, upserted } : { n, nModified: n };
  }
}

function opReply(doc: Document): Buffer {
  const bson = BSON.serialize(doc);
  const head = Buffer.alloc(20);
  head.writeInt32LE(0, 0); // responseFlags
  head.writeBigInt64LE(0n, 4); // cursorID
  head.writeInt32LE(0, 12); // startingFrom
  head.writeInt32LE(1, 16); // numberReturned
  return Buffer.concat([head, Buffer.from(bson.buffer, bson.byteOffset, bson.length)]);
}

function toBigInt(value: unknown): bigint {
  if (value instanceof Long) return value.toBigInt();
  if (typeof value === 'bigint') return value;
  return BigInt(Number(value));
}

function isOperatorDoc(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).some((k) => k.startsWith('$'));
}

function sameId(a: unknown, b: unknown): boolean {
  if (a instanceof ObjectId && b instanceof ObjectId) return a.equals(b);
  return a === b;
}

/** CLI: run as its own process. */
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`mongo-wire-server: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
