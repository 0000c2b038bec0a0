/**
 * The commands of the wire-level MongoDB server: hello/isMaster, buildInfo, ping, endSessions, find, getMore,
 * killCursors, insert, update, delete, drop, dropDatabase, create, listCollections, and mongod's
 * `configureFailPoint` with the `failCommand` failpoint (so fault tests run unchanged against a real mongod started
 * with `enableTestCommands`). Anything else gets mongod's CommandNotFound error and is recorded.
 */
import { Long, type Document } from 'bson';
import { CommandError, type Store } from './store.js';
import { MAX_MESSAGE } from './wire.js';

/** One command as it arrived (name, database and the whole body, document sequences merged in). */
export interface ReceivedCommand {
  readonly name: string;
  readonly db: string;
  readonly body: Document;
}

/** A command's answer, and whether the connection is dropped after it (a failpoint's `closeConnection`). */
export interface CommandReply {
  readonly doc: Document;
  readonly close?: boolean;
}

/** The `failCommand` failpoint, in mongod's own shape. */
interface FailPoint {
  remaining: number;
  failCommands: Set<string>;
  errorCode?: number;
  closeConnection: boolean;
}

/** Bytes of the largest document, as mongod announces it. */
const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

/** Runs commands against a store, recording each one, with the failpoint a test may set. */
export class Commands {
  private failPoint: FailPoint | undefined;

  constructor(
    private readonly store: Store,
    /** Every command received, in order (handshake and monitoring included). */
    private readonly received: ReceivedCommand[],
    /** Names of commands not implemented here, as the driver sent them. */
    private readonly unknown: string[],
  ) {}

  /** Runs one command: its reply (an error in mongod's shape when it failed). */
  run(db: string, body: Document, connectionId: number): CommandReply {
    const name = Object.keys(body)[0] ?? '';
    this.received.push({ name, db, body });
    const fp = this.failPoint;
    if (fp && fp.remaining > 0 && fp.failCommands.has(name)) {
      fp.remaining--;
      if (fp.closeConnection) return { doc: {}, close: true };
      return {
        doc: { ok: 0, errmsg: `Failing command ${name} via 'failCommand' failpoint`, code: fp.errorCode ?? 1, codeName: 'FailPoint' },
      };
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
          maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
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
        return {
          version: '7.0.0',
          gitVersion: 'mongo-wire-server',
          versionArray: [7, 0, 0, 0],
          bits: 64,
          maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
        };
      case 'ping':
      case 'endsessions':
        return {};
      case 'configurefailpoint':
        return this.configureFailPoint(body);
      case 'find':
        return this.store.find(db, body);
      case 'getmore':
        return this.store.getMore(body);
      case 'killcursors':
        return this.store.killCursors(body);
      case 'insert': {
        const docs = (body.documents as Document[] | undefined) ?? [];
        this.store.insert(db, String(body.insert), docs);
        return { n: docs.length };
      }
      case 'update':
        return this.store.updateCommand(db, body);
      case 'delete': {
        let n = 0;
        for (const d of (body.deletes as Document[] | undefined) ?? []) {
          n += this.store.delete(db, String(body.delete), (d.q as Document) ?? {}, Number(d.limit ?? 0));
        }
        return { n };
      }
      case 'create':
        this.store.collection(db, String(body.create));
        return {};
      case 'drop':
        this.store.dropCollection(db, String(body.drop));
        return { ns: `${db}.${String(body.drop)}`, nIndexesWas: 1 };
      case 'dropdatabase':
        this.store.dropDatabase(db);
        return { dropped: db };
      case 'listcollections': {
        const firstBatch = this.store.collectionNames(db).map((n) => ({ name: n, type: 'collection', options: {} }));
        return { cursor: { id: Long.ZERO, ns: `${db}.$cmd.listCollections`, firstBatch } };
      }
      default:
        this.unknown.push(name);
        throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
    }
  }

  private configureFailPoint(body: Document): Document {
    if (body.configureFailPoint !== 'failCommand')
      throw new CommandError(72, 'InvalidOptions', 'only the failCommand failpoint is supported');
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
}
