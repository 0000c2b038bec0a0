/**
 * The data of the wire-level MongoDB server: databases of collections held in memory, and what the CRUD commands
 * do to them — finds with cursors for getMore, inserts, updates (with upserts) and deletes. Filters, sorts,
 * projections and update operators are evaluated by `mingo`, deliberately not by our own `matches`, so tests of the
 * MongoDB source have an independent oracle.
 */
import { BSON, Long, ObjectId, type Document } from 'bson';
import { Query } from 'mingo';
import { updateMany, updateOne } from 'mingo/updater';

/** MongoDB's default size of a find's first batch when the client gives no batchSize. */
const DEFAULT_FIRST_BATCH = 101;

/** An error a command answers with, in mongod's shape (`code`, `codeName`, `errmsg`). */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

interface OpenCursor {
  readonly ns: string;
  readonly docs: Document[];
  pos: number;
}

/** Databases of collections in memory, with the cursors finds left open. */
export class Store {
  private readonly dbs = new Map<string, Map<string, Document[]>>();
  private readonly cursors = new Map<bigint, OpenCursor>();
  private nextCursorId = 1n;

  /** The live array of a collection's documents (created empty when absent). */
  collection(db: string, name: string): Document[] {
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    let docs = colls.get(name);
    if (!docs) colls.set(name, (docs = []));
    return docs;
  }

  /** Names of a database's collections. */
  collectionNames(db: string): string[] {
    return [...(this.dbs.get(db)?.keys() ?? [])];
  }

  dropCollection(db: string, name: string): void {
    this.dbs.get(db)?.delete(name);
  }

  dropDatabase(db: string): void {
    this.dbs.delete(db);
  }

  /** Forgets every open cursor (the connections that could use them are gone). */
  closeCursors(): void {
    this.cursors.clear();
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

  /** The `find` command: the first batch, and a cursor for the rest. */
  find(db: string, body: Document): Document {
    const collection = String(body.find);
    const ns = `${db}.${collection}`;
    let cursor = new Query((body.filter as Document | undefined) ?? {}).find(
      this.collection(db, collection),
      body.projection as Document | undefined,
    );
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

  /** The `getMore` command: the next batch of an open cursor, closing it after the last. */
  getMore(body: Document): Document {
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

  /** The `killCursors` command. */
  killCursors(body: Document): Document {
    const ids = (body.cursors as unknown[] | undefined) ?? [];
    for (const id of ids) this.cursors.delete(toBigInt(id));
    return { cursorsKilled: ids, cursorsNotFound: [], cursorsAlive: [], cursorsUnknown: [] };
  }

  /** The `update` command: each statement, with `upsert` inserting what its filter and update describe. */
  updateCommand(db: string, body: Document): Document {
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
