/**
 * The MongoDB source: snapshot reads of RackHD's collections (db `pxe`) with the official driver.
 *
 * - A filter reaches MongoDB only after `validateParams` (the protocol's allowlist) has passed it, and only in
 *   the translated form below; nothing else of a client message is ever sent.
 * - `id` is RackHD's (waterline's) name for `_id`: a filter on `id` becomes a filter on `_id`, with a 24-hex
 *   value as an ObjectId, also inside `$in`/`$nin`/`$ne` and comparisons. RackHD stores references to other
 *   records (a catalog's `node`, a workflow's `node`) as ObjectIds too, while clients only ever see hex strings,
 *   so an equality-style condition on any other field matches a 24-hex value in both forms (string or ObjectId).
 * - Records leave as JSON: `_id` becomes `id` (hex), ObjectIds become hex, Dates ISO strings, other BSON values
 *   their plain JSON form, so the hub's `matches` and the client store see exactly what a filter compares.
 * - A read sends at most `maxListItems` (default 10,000) records; more are cut off and logged.
 * - Any driver error is a `SourceUnavailableError` (clients get `source-unavailable`); the source then pings
 *   MongoDB with backoff until it answers and reports the affected channels, which the server re-snapshots.
 */
import type { Document, MongoClient, MongoClientOptions } from 'mongodb';
import {
  DEFAULTS,
  isOperatorObject,
  isPlainObject,
  NO_PARAMS_LIMITS,
  validateParams,
  type Doc,
  type JsonValue,
  type Params,
} from '../../protocol/index.js';
import { ChannelRegistry, DEFAULT_CHANNELS, type ChannelSpec } from '../hub/channels.js';
import { silentLogger, type Logger } from '../hub/logger.js';
import { SourceUnavailableError, type Source } from '../hub/source.js';
import { loadOptional } from '../hub/optional-packages.js';

type MongoDriver = typeof import('mongodb');
/** The driver, once `loadMongoDriver` has loaded it: an optional package, absent from a browser app's install. */
let driver: MongoDriver | undefined;

/**
 * Loads the MongoDB driver (once). `createServer({mongo})` and `MongoSource.create` call it.
 * @throws MissingPackageError naming `npm install mongodb@…` when the driver is not installed.
 */
export async function loadMongoDriver(): Promise<MongoDriver> {
  driver ??= await loadOptional('mongodb', () => import('mongodb'));
  return driver;
}

/** The loaded driver; what needs it synchronously runs only after `loadMongoDriver`. */
function mongodb(): MongoDriver {
  if (driver === undefined) throw new Error('monorail-ws: the MongoDB driver is not loaded yet: await MongoSource.create(options)');
  return driver;
}

/** The MongoDB settings of `createServer({mongo})` and `--mongo`. */
export interface MongoOptions {
  /** `mongodb://host:port/db` (or `mongodb+srv://…`). The database is the URL's path. */
  url: string;
  /**
   * Database name, overriding the URL's path.
   * @default the URL's path, else 'pxe' (RackHD's database)
   */
  db?: string;
  /**
   * Most records one read returns (`find(…).limit(n)`); the hub's own `maxListItems` applies too, the smaller wins.
   * @default DEFAULTS.maxListItems (10,000)
   */
  maxListItems?: number;
  /**
   * How long a read waits for a reachable MongoDB before the client gets `source-unavailable`, ms.
   * @default 5000
   */
  serverSelectionTimeoutMS?: number;
  /**
   * Delays between pings while MongoDB is unreachable, ms (doubling from `baseMs` up to `maxMs`).
   * @default { baseMs: 250, maxMs: 5000 }
   */
  recovery?: { baseMs?: number; maxMs?: number };
  /** Further driver options (TLS, auth, `monitorCommands` …), passed to `MongoClient` as they are. */
  clientOptions?: MongoClientOptions;
}

/** What `MongoSource` takes: the MongoDB settings, the channel table and a logger. */
export type MongoSourceOptions = MongoOptions & { channels?: readonly ChannelSpec[]; logger?: Logger };

/** The database named by a MongoDB URL's path, or undefined when it names none. */
export function dbNameFromUrl(url: string): string | undefined {
  const rest = url.replace(/^mongodb(\+srv)?:\/\//, '');
  const slash = rest.indexOf('/');
  if (slash === -1) return undefined;
  const path = rest.slice(slash + 1).split('?')[0] ?? '';
  return path === '' ? undefined : decodeURIComponent(path);
}

const HEX24 = /^[0-9a-f]{24}$/;
/** Only lowercase hex: `matches` compares strings exactly, and ObjectIds always print lowercase. */
const isHex24 = (v: unknown): v is string => typeof v === 'string' && HEX24.test(v);

function both(value: JsonValue): unknown[] {
  return isHex24(value) ? [value, mongodb().ObjectId.createFromHexString(value)] : [value];
}

function asId(value: JsonValue): unknown {
  return isHex24(value) ? mongodb().ObjectId.createFromHexString(value) : value;
}

/**
 * Translates validated params into a MongoDB filter (see the module comment for the `id` and ObjectId rules).
 * @throws ProtocolError (`bad-params`) for params outside the allowlist — they never reach the driver; Error when
 *   the driver is not loaded yet (`loadMongoDriver`: ObjectIds are the driver's).
 */
export function toMongoFilter(params: Params): Document {
  // The allowlist again, as a last line before the driver; the size limits are the hub's, applied on arrival.
  validateParams(params, NO_PARAMS_LIMITS);
  const filter: Document = {};
  for (const [path, condition] of Object.entries(params)) {
    const isId = path === 'id';
    const field = isId ? '_id' : path;
    if (!isOperatorObject(condition)) {
      if (isId) filter[field] = asId(condition);
      else filter[field] = isHex24(condition) ? { $in: both(condition) } : condition;
      continue;
    }
    const out: Document = {};
    for (const [op, operand] of Object.entries(condition)) {
      switch (op) {
        case '$in':
        case '$nin': {
          const values = operand as JsonValue[];
          const mapped = isId ? values.map(asId) : values.flatMap(both);
          out[op] = op === '$nin' && Array.isArray(out.$nin) ? [...(out.$nin as unknown[]), ...mapped] : mapped;
          break;
        }
        case '$ne':
          if (isId || !isHex24(operand)) out.$ne = isId ? asId(operand) : operand;
          else out.$nin = [...((out.$nin as unknown[] | undefined) ?? []), ...both(operand)];
          break;
        case '$gt':
        case '$gte':
        case '$lt':
        case '$lte':
          out[op] = isId ? asId(operand) : operand;
          break;
        default:
          out[op] = operand;
      }
    }
    filter[field] = out;
  }
  return filter;
}

/** A BSON value as JSON: ObjectId → hex, Date → ISO string, Long/Int32/Double → number, Decimal128 → string … */
export function toJsonValue(value: unknown): JsonValue | undefined {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return Number(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v) ?? null);
  if (value instanceof RegExp) return value.toString();
  const bsontype = (value as { _bsontype?: unknown })._bsontype;
  if (typeof bsontype === 'string') {
    const v = value as { toHexString?: () => string; toNumber?: () => number; valueOf?: () => unknown; toString: () => string };
    switch (bsontype) {
      case 'ObjectId':
        return v.toHexString!();
      case 'Long':
        return v.toNumber!();
      case 'Int32':
      case 'Double':
        return Number(v.valueOf!());
      case 'Binary': {
        const b = value as { sub_type: number; toUUID?: () => { toHexString(dashes?: boolean): string }; toString(enc: string): string };
        return b.sub_type === 4 && b.toUUID ? b.toUUID().toHexString(true) : b.toString('base64');
      }
      default:
        // Decimal128, Timestamp, BSONRegExp, Code, MinKey/MaxKey: their text form.
        return v.toString();
    }
  }
  if (isPlainObject(value)) {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) {
      const j = toJsonValue(v);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  return String(value);
}

/** A MongoDB document as a record: `_id` → `id` (first), every value plain JSON. */
export function normaliseDocument(doc: Document): Doc {
  const out: Doc = {};
  const { _id, ...rest } = doc;
  const id = toJsonValue(_id);
  if (id !== undefined) out[rest.id === undefined ? 'id' : '_id'] = id;
  for (const [k, v] of Object.entries(rest)) {
    const j = toJsonValue(v);
    if (j !== undefined) out[k] = j;
  }
  return out;
}

/**
 * Snapshot reads from MongoDB. Create one with `await MongoSource.create(options)`, which loads the driver first;
 * `new MongoSource(options)` works once the driver is loaded (`loadMongoDriver`).
 */
export class MongoSource implements Source {
  readonly client: MongoClient;
  readonly dbName: string;
  readonly maxListItems: number;
  private readonly registry: ChannelRegistry;
  private readonly logger: Logger;
  private readonly recovery: { baseMs: number; maxMs: number };
  /** Channels whose reads failed since MongoDB was last seen answering. */
  private readonly affected = new Set<string>();
  private readonly recoverListeners = new Set<(channels: string[]) => void>();
  private probe: ReturnType<typeof setTimeout> | undefined;
  private probing = false;
  private closed = false;
  /** The first successful connect; until then every operation tries again (see `ensureConnected`). */
  private connecting: Promise<void> | undefined;

  /**
   * Loads the driver, then creates the source (not connected yet: `connect()`).
   * @throws MissingPackageError when the `mongodb` package is not installed.
   */
  static async create(options: MongoSourceOptions): Promise<MongoSource> {
    await loadMongoDriver();
    return new MongoSource(options);
  }

  /** @throws Error when the driver is not loaded yet (use `MongoSource.create`). */
  constructor(options: MongoSourceOptions) {
    this.registry = new ChannelRegistry(options.channels ?? DEFAULT_CHANNELS);
    this.logger = options.logger ?? silentLogger;
    this.dbName = options.db ?? dbNameFromUrl(options.url) ?? 'pxe';
    this.maxListItems = options.maxListItems ?? DEFAULTS.maxListItems;
    this.recovery = { baseMs: 250, maxMs: 5000, ...options.recovery };
    this.client = new (mongodb().MongoClient)(options.url, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
      appName: 'monorail-ws',
      ...options.clientOptions,
    });
  }

  /** Channels this source serves (those with a collection). */
  serves(channel: string): boolean {
    return this.registry.get(channel)?.collection !== undefined;
  }

  /** Connects; never throws. When MongoDB is down, reads fail with `source-unavailable` until it is back. */
  async connect(): Promise<boolean> {
    try {
      await this.ensureConnected();
      this.logger.info('mongodb connected', { db: this.dbName });
      return true;
    } catch (err) {
      this.logger.warn('mongodb unreachable at startup; reads answer source-unavailable until it is back', { err });
      return false;
    }
  }

  /** Registers a listener for MongoDB answering again after failed reads, with the channels that failed. */
  onRecover(listener: (channels: string[]) => void): () => void {
    this.recoverListeners.add(listener);
    return () => this.recoverListeners.delete(listener);
  }

  async read(channel: string, params: Params, limit: number = this.maxListItems): Promise<Doc[]> {
    const { spec, filter } = this.prepare(channel, params);
    try {
      await this.ensureConnected();
      const docs = await this.client
        .db(this.dbName)
        .collection(spec.collection!)
        .find(filter)
        .sort({ _id: 1 })
        .limit(Math.max(1, Math.min(limit, this.maxListItems)))
        .toArray();
      return docs.map(normaliseDocument);
    } catch (err) {
      throw this.failed(spec.name, err);
    }
  }

  async get(channel: string, params: Params): Promise<Doc | undefined> {
    const { spec, filter } = this.prepare(channel, params);
    try {
      await this.ensureConnected();
      const doc = await this.client.db(this.dbName).collection(spec.collection!).findOne(filter);
      return doc ? normaliseDocument(doc) : undefined;
    } catch (err) {
      throw this.failed(spec.name, err);
    }
  }

  /** Stops probing and closes the driver. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probe);
    await this.client.close().catch(() => undefined);
  }

  /**
   * Connects once. A driver whose first connect failed stays closed ("Topology is closed") for every later
   * operation, so until one connect succeeds each operation calls `connect()` again; after that the driver's own
   * monitoring reconnects.
   */
  private ensureConnected(): Promise<void> {
    this.connecting ??= this.client.connect().then(
      () => undefined,
      (err: unknown) => {
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  private prepare(channel: string, params: Params): { spec: ChannelSpec; filter: Document } {
    const spec = this.registry.get(channel);
    if (!spec?.collection) throw new Error(`channel "${channel}" has no MongoDB collection`);
    return { spec, filter: toMongoFilter(params) };
  }

  private failed(channel: string, err: unknown): unknown {
    const { MongoError, MongoServerError } = mongodb();
    if (!(err instanceof MongoError)) return err;
    this.logger.warn('mongodb read failed', { channel, err });
    this.affected.add(channel);
    this.startProbe();
    const message = err instanceof MongoServerError ? `MongoDB refused the read (code ${String(err.code)})` : 'MongoDB is unreachable';
    return new SourceUnavailableError(message);
  }

  /**
   * Probes each affected channel with the smallest read of its collection (a ping is not enough: a server can
   * answer pings and still refuse reads), with backoff, and reports the channels that can be read again.
   */
  private startProbe(attempt = 0): void {
    if (this.closed || (this.probing && attempt === 0)) return;
    this.probing = true;
    const delay = Math.min(this.recovery.maxMs, this.recovery.baseMs * 2 ** Math.min(attempt, 20));
    this.probe = setTimeout(() => void this.runProbe(attempt), delay);
  }

  private async runProbe(attempt: number): Promise<void> {
    const back: string[] = [];
    for (const channel of [...this.affected]) {
      const collection = this.registry.get(channel)!.collection!;
      try {
        await this.ensureConnected();
        await this.client
          .db(this.dbName)
          .collection(collection)
          .findOne({}, { projection: { _id: 1 } });
        back.push(channel);
      } catch {
        // still unreadable
      }
    }
    if (this.closed) return;
    for (const channel of back) this.affected.delete(channel);
    if (this.affected.size > 0) this.startProbe(attempt + 1);
    else this.probing = false;
    if (back.length === 0) return;
    this.logger.info('mongodb answers again; re-snapshotting', { channels: back });
    for (const listener of this.recoverListeners) {
      try {
        listener(back);
      } catch (err) {
        this.logger.error('recover listener threw', { err });
      }
    }
  }
}
