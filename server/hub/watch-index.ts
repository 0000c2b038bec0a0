/**
 * The watch index of one channel: which watches a change can concern. Watches with the same canonical params share
 * one `Filter`; a filter with an equality condition (`{type: "compute"}`, `{subject: {$in: [...]}}`) is indexed by
 * its values, so a change is looked at only by the subscriptions whose keys its record has now or had before, plus
 * those holding a filter that cannot be indexed. Everything else provably neither matches now nor matched before.
 * Browser-safe.
 */
import { isOperatorObject, paramFields, valuesAt, type Doc, type JsonValue, type Params } from '../../protocol/index.js';
import type { FilterVerdicts, LoggedChange } from './record-memory.js';

/**
 * One distinct filter of a channel, shared by every watch with the same canonical params (a thousand UIs
 * watching `{type: "compute"}` hold one): what it reads and how it is indexed are derived once, and it remembers
 * its verdict on the change being fanned out, so `matches` runs once per change and filter, not per connection.
 */
export interface Filter extends FilterVerdicts {
  /** Canonical params. */
  readonly key: string;
  /** The equality-indexed field and its keys, or undefined when the filter must be evaluated on every change. */
  readonly indexed?: { readonly field: string; readonly keys: readonly string[] };
  /** Watches holding it. */
  refs: number;
}

/** What the index needs of a subscription: its watches, which it sets as they are added and removed. */
export interface Watcher {
  /**
   * The shared filters of its watches (a watch is nothing more than a hold on one, so an idle watch is one array
   * slot), in the order they were added. Replaced, never mutated, when one is added or removed: an exact-size array
   * costs an idle connection least (a `Map`, or an array grown by `push`, reserves room for many), the fan-out walks
   * it without allocating, and a walk is never disturbed by a change. At most `maxWatches`, so lookups are short
   * scans.
   */
  watches: readonly Filter[];
}

/** No watches: the initial `Watcher.watches` of every subscription (one shared empty array). */
export const NO_WATCHES: readonly Filter[] = Object.freeze([]);

/** The watch (filter) of `sub` with canonical params `key`, if it holds one. */
export function watchOf(sub: Watcher, key: string): Filter | undefined {
  const watches = sub.watches;
  for (let i = 0; i < watches.length; i++) if (watches[i]!.key === key) return watches[i];
  return undefined;
}

function primitiveKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return 's' + value;
    case 'number':
      return 'n' + value;
    case 'boolean':
      return value ? 'bt' : 'bf';
    default:
      return undefined;
  }
}

/** Picks an equality condition to index a watch by, so unrelated changes never look at it. */
function indexFor(params: Params): Filter['indexed'] {
  for (const field of Object.keys(params)) {
    const condition = params[field];
    const key = primitiveKey(condition);
    if (key !== undefined) return { field, keys: [key] };
    if (isOperatorObject(condition) && Object.keys(condition).length === 1 && Array.isArray(condition.$in)) {
      const keys = condition.$in.map(primitiveKey);
      if (keys.length > 0 && keys.every((k) => k !== undefined)) return { field, keys: keys as string[] };
    }
  }
  return undefined;
}

/** The equality keys a document offers on a path (array elements included, as equality sees them). */
function keysAt(doc: Doc, field: string, out: Set<string>): void {
  for (const value of valuesAt(doc, field)) {
    if (Array.isArray(value)) {
      for (const e of value) {
        const k = primitiveKey(e);
        if (k !== undefined) out.add(k);
      }
    } else {
      const k = primitiveKey(value);
      if (k !== undefined) out.add(k);
    }
  }
}

/** A new filter for canonical params `key` (held by no watch yet). */
export function makeFilter(key: string, params: Params): Filter {
  const indexed = indexFor(params);
  return {
    key,
    params,
    fields: paramFields(params),
    ...(indexed ? { indexed } : {}),
    refs: 0,
    nowSeq: -1,
    now: false,
    beforeSeq: -1,
    before: false,
  };
}

/** Who watches what on one channel, indexed by equality keys. */
export class WatchIndex<S extends Watcher> {
  /** Subscriptions holding at least one watch. */
  readonly subs = new Set<S>();
  /** Distinct filters by canonical params. */
  private readonly filters = new Map<string, Filter>();
  /** Subscriptions holding a watch that is not indexed, with a count of such watches. */
  private readonly scan = new Map<S, number>();
  /** field → equality key → subscriptions (with a count of their watches under that key). */
  private readonly index = new Map<string, Map<string, Map<S, number>>>();

  /** Number of distinct filters held. */
  get filterCount(): number {
    return this.filters.size;
  }

  /** Adds the watch `params` (canonical form `key`, which the subscription does not hold yet) and returns its filter. */
  add(sub: S, key: string, params: Params): Filter {
    let filter = this.filters.get(key);
    if (!filter) this.filters.set(key, (filter = makeFilter(key, params)));
    filter.refs++;
    // concat and slice allocate exactly what they hold (spread and push reserve room for more).
    sub.watches = sub.watches.concat(filter);
    this.subs.add(sub);
    if (filter.indexed) {
      let byKey = this.index.get(filter.indexed.field);
      if (!byKey) this.index.set(filter.indexed.field, (byKey = new Map()));
      for (const k of filter.indexed.keys) {
        let holders = byKey.get(k);
        if (!holders) byKey.set(k, (holders = new Map()));
        holders.set(sub, (holders.get(sub) ?? 0) + 1);
      }
    } else {
      this.scan.set(sub, (this.scan.get(sub) ?? 0) + 1);
    }
    return filter;
  }

  /** Removes the watch `key` of `sub` and returns its filter; undefined when it held none. */
  remove(sub: S, key: string): Filter | undefined {
    const filter = watchOf(sub, key);
    if (!filter) return undefined;
    const i = sub.watches.indexOf(filter);
    sub.watches = sub.watches.length === 1 ? NO_WATCHES : sub.watches.slice(0, i).concat(sub.watches.slice(i + 1));
    if (--filter.refs === 0) this.filters.delete(key);
    if (filter.indexed) {
      const byKey = this.index.get(filter.indexed.field)!;
      for (const k of filter.indexed.keys) {
        const holders = byKey.get(k)!;
        const n = holders.get(sub)! - 1;
        if (n === 0) holders.delete(sub);
        else holders.set(sub, n);
        if (holders.size === 0) byKey.delete(k);
      }
      if (byKey.size === 0) this.index.delete(filter.indexed.field);
    } else {
      const n = this.scan.get(sub)! - 1;
      if (n === 0) this.scan.delete(sub);
      else this.scan.set(sub, n);
    }
    if (sub.watches.length === 0) this.subs.delete(sub);
    return filter;
  }

  /** The subscriptions a change may concern: everything else provably neither matches now nor matched before. */
  candidates(change: LoggedChange): Iterable<S> {
    if (change.prev.kind === 'unknown' || this.index.size === 0) return this.subs;
    if (change.prev.kind === 'doc' && change.prev.fields) {
      // A projection made before a field was watched cannot say which index keys the record had.
      for (const f of this.index.keys()) if (!change.prev.fields.has(f)) return this.subs;
    }
    const out = new Set<S>(this.scan.keys());
    const keys = new Set<string>();
    for (const [field, byKey] of this.index) {
      keys.clear();
      if (change.data) keysAt(change.data, field, keys);
      if (change.prev.kind === 'doc') keysAt(change.prev.doc, field, keys);
      for (const k of keys) {
        const holders = byKey.get(k);
        if (holders) for (const sub of holders.keys()) out.add(sub);
      }
    }
    return out;
  }
}

/** A primitive value usable as an index key (exported for tests). */
export function indexKeyOf(value: JsonValue): string | undefined {
  return primitiveKey(value);
}
