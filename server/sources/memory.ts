/**
 * The embedded in-memory backend: a `Source` and a `ChangeFeed` in one. The zero-config default of the
 * server, the heart of the mock, and a target for RabbitMQ waterline events. Browser-safe.
 */
import { DEFAULTS, matches, type Doc, type Params } from '../../protocol/index.js';
import { ChannelRegistry, DEFAULT_CHANNELS, type ChannelSpec } from '../hub/channels.js';
import { contentId } from '../hub/ids.js';
import type { Change, ChangeFeed, Source } from '../hub/source.js';

/** Options of `MemoryBackend`. */
export interface MemoryBackendOptions {
  /**
   * Channels served.
   * @default DEFAULT_CHANNELS (RackHD's resources: docs/rackhd.md "Channels")
   */
  channels?: readonly ChannelSpec[];
  /** Initial records per channel (append-only channels: oldest first). */
  seed?: Readonly<Record<string, readonly Doc[]>>;
}

/** Options of a write to the backend. */
export interface WriteOptions {
  /**
   * The change's offset in a log every instance shares (a RabbitMQ stream's): passed on with the change, so that a hub
   * whose positions are that log's can place it (`Change.offset`). Left out by the application's own writes.
   */
  offset?: number;
}

interface Table {
  spec: ChannelSpec;
  /** Records by id, in insertion order. */
  rows: Map<string, Doc>;
  /** Append-only: ids per history key, oldest first, to drop the oldest beyond the limit. */
  history: Map<string, string[]>;
}

function copy(doc: Doc): Doc {
  // Callers keep their objects; the backend keeps its own so a later mutation cannot bypass change events.
  return structuredClone(doc);
}

/** In-memory records for every channel, with change events. */
export class MemoryBackend implements Source, ChangeFeed {
  readonly registry: ChannelRegistry;
  private readonly tables = new Map<string, Table>();
  private readonly listeners = new Set<(change: Change) => void>();

  constructor(options: MemoryBackendOptions = {}) {
    this.registry = new ChannelRegistry(options.channels ?? DEFAULT_CHANNELS);
    for (const spec of this.registry.specs) this.tables.set(spec.name, { spec, rows: new Map(), history: new Map() });
    for (const [channel, docs] of Object.entries(options.seed ?? {})) {
      for (const doc of docs) {
        if (this.table(channel).spec.appendOnly) this.append(channel, doc);
        else this.upsert(channel, doc);
      }
    }
  }

  private table(channel: string): Table {
    const spec = this.registry.get(channel);
    const table = spec && this.tables.get(spec.name);
    if (!table) throw new Error(`unknown channel "${channel}"`);
    return table;
  }

  onChange(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: Change, options: WriteOptions | undefined): void {
    const c = options?.offset === undefined ? change : { ...change, offset: options.offset };
    for (const listener of this.listeners) listener(c);
  }

  read(channel: string, params: Params, limit: number = DEFAULTS.maxListItems): Doc[] {
    const out: Doc[] = [];
    for (const doc of this.table(channel).rows.values()) {
      if (out.length >= limit) break;
      if (matches(doc, params)) out.push(doc);
    }
    return out;
  }

  get(channel: string, params: Params): Doc | undefined {
    const { rows, spec } = this.table(channel);
    const id = params[spec.idField];
    if (typeof id === 'string') {
      const doc = rows.get(id);
      return doc && matches(doc, params) ? doc : undefined;
    }
    for (const doc of rows.values()) if (matches(doc, params)) return doc;
    return undefined;
  }

  /** Every record of a channel (a copy of the list, the records themselves are shared and must not be mutated). */
  all(channel: string): Doc[] {
    return [...this.table(channel).rows.values()];
  }

  /**
   * Creates or replaces a record (keyed by the channel's id field) and notifies watchers.
   * @returns the stored record.
   */
  upsert(channel: string, doc: Doc, options?: WriteOptions): Doc {
    const { rows, spec } = this.table(channel);
    if (spec.appendOnly) return this.append(channel, doc, options);
    const raw = doc[spec.idField];
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      throw new TypeError(`${spec.name} records need a string "${spec.idField}"`);
    }
    const id = String(raw);
    const data = copy(doc);
    const prev = rows.get(id) ?? null;
    rows.set(id, data);
    this.emit({ channel: spec.name, id, data, prev }, options);
    return data;
  }

  /**
   * Deletes a record and notifies watchers.
   * @returns whether it existed.
   */
  remove(channel: string, id: string, options?: WriteOptions): boolean {
    const { rows, spec, history } = this.table(channel);
    const prev = rows.get(id);
    if (prev === undefined) return false;
    rows.delete(id);
    if (spec.appendOnly) {
      const key = historyKeyOf(spec, prev);
      const ids = history.get(key);
      if (ids) {
        const at = ids.indexOf(id);
        if (at !== -1) ids.splice(at, 1);
      }
    }
    this.emit({ channel: spec.name, id, data: null, prev }, options);
    return true;
  }

  /**
   * Appends to an append-only channel (logs, events). The id is the record's own or derived from its content,
   * so the same entry appended twice (e.g. received by two instances) is one entry.
   * @returns the stored record (with its id).
   */
  append(channel: string, entry: Doc, options?: WriteOptions): Doc {
    const { rows, spec, history } = this.table(channel);
    if (!spec.appendOnly) return this.upsert(channel, entry, options);
    const id = contentId(entry, spec.idField);
    const data = copy(entry);
    data[spec.idField] = id;
    if (rows.has(id)) return rows.get(id)!;
    rows.set(id, data);
    const key = historyKeyOf(spec, data);
    let ids = history.get(key);
    if (!ids) history.set(key, (ids = []));
    ids.push(id);
    const limit = spec.historyLimit ?? DEFAULTS.historyLimit;
    while (ids.length > limit) rows.delete(ids.shift()!);
    this.emit({ channel: spec.name, id, data, prev: null }, options);
    return data;
  }
}

function historyKeyOf(spec: ChannelSpec, doc: Doc): string {
  if (!spec.historyKey) return '';
  const value = doc[spec.historyKey];
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}
