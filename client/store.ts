/**
 * The local store of one channel, exactly as PROTOCOL.md "The client store" specifies.
 *
 * Items are kept by id together with the set of *scopes* holding them; a scope is the canonical JSON of the params
 * of an active watch or of a `list` the client received. Scopes are what make reconciliation order-independent:
 * a snapshot only ever takes away what it put there itself (or what nothing claims), so overlapping watches can
 * answer in any order and the result is the same.
 */
import { CLIENT_DEFAULTS as DEFAULTS } from '../protocol/codes.js';
import { jsonEqual, matches } from '../protocol/matches.js';
import type { Filter } from '../protocol/filter.js';
import type { Doc, Params } from '../protocol/messages.js';
import { canonicalJson } from '../protocol/params.js';

/** How a store identifies and keeps records. `Connection` fills these from `storeDefaults(channel)` (as `channelInfo` would). */
export interface StoreOptions {
  /**
   * Field of a record that holds its id; ids are compared as strings.
   * @default 'id'
   */
  idField?: string;
  /**
   * Append-only channels (`logs`, `events`): `list` and `item` only add, nothing is reconciled away, and the store
   * keeps a bounded history.
   * @default false
   */
  appendOnly?: boolean;
  /**
   * Entries an append-only store keeps; the oldest is dropped beyond this. Ignored by other stores.
   * @default 1000 (`DEFAULTS.historyLimit`)
   */
  historyLimit?: number;
}

/** Whether `record` is one a watch on `params` receives (see the `Store` constructor). */
export type WatchMatcher = (record: Doc, params: Params) => boolean;

interface Entry<T> {
  doc: T;
  /**
   * Scopes holding the item (in an append-only store they only say whose entries it is: nothing is deleted for
   * lack of one). An array, not a Set: an item has one scope or a few, and a 100,000-item list then costs 100,000
   * small arrays instead of as many hash sets.
   */
  readonly scopes: string[];
  /** The `list` that last listed it (see `applyList`). */
  mark: number;
}

/**
 * Records of one channel, kept by id, in arrival order.
 *
 * `getSnapshot()`, `subscribe()` and `get()` are the read side and follow React's `useSyncExternalStore` contract
 * (Svelte and Vue use it as is). The `apply*`, `addWatch` and `stop` methods are the write side; `Connection`
 * calls them for the messages it receives and the watches it holds, and applications normally leave them alone.
 *
 * Every applied message changes the store in one step and notifies at most once, so a subscriber never sees a
 * store that was emptied and refilled. Treat returned records as read-only: the store hands out what it keeps.
 *
 * @typeParam T The record type; the store does not check it. Any object type, interfaces included (see
 * `protocol/records.ts`): what the store holds is the JSON the server sent, `T` is how the application reads it.
 */
export class Store<T extends object = Doc> {
  // `declare`: assigned in the constructor, so no field declarations are emitted (bytes in every browser bundle).
  /** Field that holds a record's id. */
  declare readonly idField: string;
  /** Whether this is an append-only (history) store. */
  declare readonly appendOnly: boolean;
  /** Most entries an append-only store keeps. */
  declare readonly historyLimit: number;

  // A Map iterates in insertion order and keeps an entry's position when its value changes: exactly the
  // snapshot order we promise (new items at the end, updated items in place).
  readonly #items = new Map<string, Entry<T>>();
  readonly #watches = new Map<string, Params>();
  readonly #listeners = new Set<() => void>();
  /** Whether a record is one a watch on params receives. */
  readonly #matches: WatchMatcher;
  #snapshot: readonly T[] | undefined;
  #changed = false;
  /** Numbers the lists applied, so one can tell the items it listed from the others without a set of ids. */
  #lists = 0;
  /** The scopes whose records changed since the live queries last looked; undefined until they `track()`. */
  #touched: string[] | undefined;

  /**
   * @param options See `StoreOptions`; every field is optional.
   * @param watchMatches Whether a record is one a watch on `params` receives: what an `item` is held by, and what a
   *   `remove {params}` or an unscoped record a `list` left out takes away. `Connection` gives the `mq` channel
   *   `mqMatches` (protocol/topic.ts): its params are an exchange and a topic pattern, not a filter. A parameter
   *   rather than an option: bytes in every browser bundle (client/size.test.ts).
   * @default watchMatches `matches` (MongoDB's semantics, protocol/matches.ts)
   */
  constructor(options: StoreOptions = {}, watchMatches: WatchMatcher = matches) {
    this.idField = options.idField ?? 'id';
    this.appendOnly = !!options.appendOnly;
    this.historyLimit = options.historyLimit ?? DEFAULTS.historyLimit;
    this.#matches = watchMatches;
  }

  /** Number of records held. */
  get size(): number {
    return this.#items.size;
  }

  /** The record with this id, if held. */
  get(id: string): T | undefined {
    return this.#items.get(id)?.doc;
  }

  /**
   * Every record, in arrival order (an updated record keeps its place). The array is frozen and is the same
   * reference until the store changes, so it can be compared with `===` and returned from render functions.
   */
  getSnapshot(): readonly T[] {
    // Rebuilt lazily: many messages between two renders cost one array, and none is built if nobody reads.
    return (this.#snapshot ??= Object.freeze(Array.from(this.#items.values(), (e) => e.doc)));
  }

  /**
   * Calls `fn` after every change. Every listener runs even when one throws; the first error is rethrown
   * afterwards (the `Connection` reports it as an `error` of kind `listener`).
   * @returns A function that removes `fn`.
   */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  /**
   * From now on, lists in the returned array, once each, every scope whose records change (a record joins or leaves
   * it, or a record it holds changes); the caller empties it (`length = 0`) once it has read it. Used by live queries.
   * An array, not a Set: it holds a scope or two per message, and a Set's clear() allocates every time.
   */
  track(): string[] {
    return (this.#touched ??= []);
  }

  /** The records `scope` holds, in arrival order (used by live queries). */
  held(scope: string): T[] {
    const held: T[] = [];
    for (const entry of this.#items.values()) if (entry.scopes.includes(scope)) held.push(entry.doc);
    return held;
  }

  /**
   * The params of every active watch, in the order they were added (used by `Connection`); typed as the filters the
   * connection watched with, so they can be passed back (`connection.stop(params)`).
   */
  activeWatches(): Filter<T>[] {
    return Array.from(this.#watches.values()) as Filter<T>[];
  }

  /**
   * Registers an active watch, so live `item`s that match it are held by its scope (used by `Connection`).
   * @returns false when a watch with canonically equal params was already active.
   */
  addWatch(params: Params): boolean {
    const key = canonicalJson(params);
    if (this.#watches.has(key)) return false;
    this.#watches.set(key, params);
    return true;
  }

  /**
   * Applies a `list`: upserts every item under scope `params`, and takes that scope from every absent item
   * it held (or deletes an absent item no scope holds that matches `params`). Without params (an older server)
   * it only upserts. Append-only stores only add. Used by `Connection`.
   */
  applyList(params: Params | undefined, items: readonly Doc[]): void {
    const scope = params === undefined ? undefined : canonicalJson(params);
    const mark = ++this.#lists;
    for (const item of items) {
      const entry = this.#upsertItem(item);
      if (entry === undefined || scope === undefined) continue;
      this.#hold(entry, scope);
      entry.mark = mark;
    }
    if (params === undefined || this.appendOnly) {
      this.#commit();
      return;
    }
    for (const [id, entry] of this.#items) {
      if (entry.mark === mark) continue;
      // An unscoped item (from a `get` or an older server's list) matching P is something P's snapshot
      // would have listed, so its absence means it is gone.
      const gone = this.#release(entry, scope!)
        ? entry.scopes.length === 0
        : entry.scopes.length === 0 && this.#matches(entry.doc as Doc, params);
      if (gone) this.#delete(id);
    }
    this.#commit();
  }

  /**
   * Applies an `item`: upserts it; its watch scopes become exactly the active watches it matches, scopes of
   * one-off lists stay. An item no scope holds stays until a `list` or `remove` says otherwise. Used by `Connection`.
   */
  applyItem(id: string, data: Doc): void {
    const entry = this.#upsert(id, data);
    for (const [key, params] of this.#watches) {
      if (this.#matches(data, params)) this.#hold(entry, key);
      else this.#release(entry, key);
    }
    this.#commit();
  }

  /**
   * Applies a `remove`: deletes the item with `id`, or, without an id, every item matching `params`
   * (also in append-only stores: a remove is explicit). Used by `Connection`.
   */
  applyRemove(id?: string, params?: Params): void {
    if (id !== undefined) this.#delete(id);
    else if (params !== undefined) {
      for (const [key, entry] of this.#items) if (this.#matches(entry.doc as Doc, params)) this.#delete(key);
    }
    this.#commit();
  }

  /**
   * Ends the watch `params` and takes its scope from every item; items left with no scope are deleted.
   * Append-only stores keep their history and only forget the watch. Used by `Connection`.
   */
  stop(params: Params): void {
    const scope = canonicalJson(params);
    this.#watches.delete(scope);
    for (const [id, entry] of this.#items) {
      if (this.#release(entry, scope) && entry.scopes.length === 0 && !this.appendOnly) this.#delete(id);
    }
    this.#commit();
  }

  /** Upserts a list item by its id field; items without an id cannot be addressed and are skipped. */
  #upsertItem(item: Doc): Entry<T> | undefined {
    const id = item[this.idField];
    return id === undefined || id === null ? undefined : this.#upsert(String(id), item);
  }

  #upsert(id: string, doc: Doc): Entry<T> {
    const entry = this.#items.get(id);
    if (entry !== undefined) {
      // Keeping the old object when nothing changed lets a re-snapshot after a reconnect leave the snapshot
      // (and every memoised row in a UI) untouched.
      if (!jsonEqual(entry.doc as Doc, doc)) {
        entry.doc = doc as T;
        this.#changed = true;
        this.#touch(entry);
      }
      return entry;
    }
    const created: Entry<T> = { doc: doc as T, scopes: [], mark: 0 };
    this.#items.set(id, created);
    this.#changed = true;
    if (this.appendOnly && this.#items.size > this.historyLimit) {
      // The first key of a Map is the oldest insertion: the ring's tail.
      this.#delete(this.#items.keys().next().value as string);
    }
    return created;
  }

  #delete(id: string): void {
    const entry = this.#items.get(id);
    if (entry === undefined) return;
    this.#items.delete(id);
    this.#changed = true;
    this.#touch(entry);
  }

  /** Adds `scope` to the entry once. */
  #hold(entry: Entry<T>, scope: string): void {
    if (entry.scopes.includes(scope)) return;
    entry.scopes.push(scope);
    this.#mark(scope);
  }

  /** Takes `scope` from the entry; true when it was there. */
  #release(entry: Entry<T>, scope: string): boolean {
    const at = entry.scopes.indexOf(scope);
    if (at < 0) return false;
    entry.scopes.splice(at, 1);
    this.#mark(scope);
    return true;
  }

  /** The entry's record changed or left: so did every scope holding it, for whoever tracks them. */
  #touch(entry: Entry<T>): void {
    for (const scope of entry.scopes) this.#mark(scope);
  }

  /** Notes that the records of `scope` changed, for whoever tracks them. */
  #mark(scope: string): void {
    const touched = this.#touched;
    if (touched !== undefined && !touched.includes(scope)) touched.push(scope);
  }

  /** Ends one applied message: at most one notification, none when nothing visible changed. */
  #commit(): void {
    if (!this.#changed) return;
    this.#changed = false;
    this.#snapshot = undefined;
    notifyAll(this.#listeners);
  }
}

/**
 * Calls every listener, even when one throws; the first error is rethrown afterwards (the `Connection` reports it as
 * an `error` of kind `listener`). Shared by the store and the live queries.
 */
export function notifyAll(listeners: Iterable<() => void>): void {
  // Nothing is allocated unless a listener throws: this runs for every message, once per live query too.
  let failed: { error: unknown } | undefined;
  for (const fn of listeners) {
    try {
      fn();
    } catch (error) {
      failed ??= { error };
    }
  }
  if (failed) throw failed.error;
}
