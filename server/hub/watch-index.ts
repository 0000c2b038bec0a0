/**
 * The watch index of one channel: which watches a change can concern. Watches with the same canonical params share
 * one `Filter`; a filter with an equality condition (`{type: "compute"}`, `{subject: {$in: [...]}}`) is indexed by
 * its values, so a change is looked at only by the holders of filters indexed by values its record has now or had
 * before, plus the holders of filters that cannot be indexed. Everything else provably neither matches now nor
 * matched before.
 *
 * What a watch adds is proportional to what it says (issue 10, finding 3): one index entry per distinct value and
 * filter, whoever holds it, the value itself as the key (no prefixed copy), and a long filter named by a digest
 * instead of a second copy of its canonical text. `Filter.bytes` is what holding it costs (`watch-bytes.ts`), which
 * `maxWatchBytes` caps per connection. Browser-safe.
 */
import { canonicalJson, isOperatorObject, paramFields, valuesAt, type Doc, type Params } from '../../protocol/index.js';
import type { FilterVerdicts, LoggedChange } from './record-memory.js';
import { estimateWatchBytes } from './watch-bytes.js';

/**
 * A value an equality condition is indexed by, as it is: `Map` keys tell `1` from `"1"` and `true` from `"true"`
 * exactly as `matches` does, and an index entry then holds a reference to the string the filter's params already hold.
 */
type IndexValue = string | number | boolean;

/**
 * One distinct filter of a channel, shared by every watch with the same canonical params (a thousand UIs
 * watching `{type: "compute"}` hold one): what it reads and how it is indexed are derived once, and it remembers
 * its verdict on the change being fanned out, so `matches` runs once per change and filter, not per connection.
 */
export interface Filter extends FilterVerdicts {
  /**
   * Its name on the channel (`filterKeyOf`): the canonical params when they are short, else a digest of them, so a
   * large filter does not hold its canonical text besides its params (two filters with one digest are told apart by
   * their canonical forms, compared in full).
   */
  readonly key: string;
  /**
   * The equality-indexed field and its values (for `$in`, the list in `params` itself, not a copy), or undefined when
   * the filter must be evaluated on every change.
   */
  readonly indexed?: { readonly field: string; readonly values: readonly IndexValue[] };
  /** What holding it costs a connection (`estimateWatchBytes`), charged in full to every connection that holds it. */
  readonly bytes: number;
  /**
   * The subscriptions holding it: the one (most filters have a single holder, which then costs no `Set`), or a `Set`
   * of several. The index leads from a value to its filters, and from there to their holders.
   */
  holders: Watcher | Set<Watcher> | undefined;
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

/** Canonical params up to this many characters name their filter as they are; longer ones by a digest. */
const MAX_PLAIN_KEY = 128;

/**
 * The key of the filter with canonical params `canonical`: the text itself, or, past `MAX_PLAIN_KEY` characters, a
 * digest of it (which starts with `#`, and canonical params never do). Not collision-proof, and need not be: a
 * digest is only ever trusted after `sameFilter` compared the canonical forms in full.
 */
export function filterKeyOf(canonical: string): string {
  if (canonical.length <= MAX_PLAIN_KEY) return canonical;
  // Two 32-bit multiplicative hashes over the UTF-16 code units, plus the length.
  let a = 0x811c9dc5;
  let b = 0x9e3779b9 ^ canonical.length;
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return `#${canonical.length.toString(36)}:${(a >>> 0).toString(36)}:${(b >>> 0).toString(36)}`;
}

/** Whether `filter` is the filter of canonical params `canonical` (whose key is `key`). */
function sameFilter(filter: Filter, canonical: string, key: string): boolean {
  // A plain key is the canonical text; a digest is confirmed by the text itself, rebuilt (rarely: a second watcher
  // of a large filter, or its stop), so that two filters with one digest can never stand in for each other.
  return filter.key === key && (key === canonical || canonicalJson(filter.params) === canonical);
}

/** The watch (filter) of `sub` with canonical params `canonical`, if it holds one. */
export function watchOf(sub: Watcher, canonical: string): Filter | undefined {
  const key = filterKeyOf(canonical);
  const watches = sub.watches;
  for (let i = 0; i < watches.length; i++) if (sameFilter(watches[i]!, canonical, key)) return watches[i];
  return undefined;
}

function isIndexValue(value: unknown): value is IndexValue {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean';
}

/** Picks an equality condition to index a watch by, so unrelated changes never look at it. */
function indexFor(params: Params): Filter['indexed'] {
  for (const field of Object.keys(params)) {
    const condition = params[field];
    if (isIndexValue(condition)) return { field, values: [condition] };
    if (isOperatorObject(condition) && Object.keys(condition).length === 1 && Array.isArray(condition.$in)) {
      const values = condition.$in;
      if (values.length > 0 && values.every(isIndexValue)) return { field, values: values as IndexValue[] };
    }
  }
  return undefined;
}

/** The equality values a document offers on a path (array elements included, as equality sees them). */
function valuesOn(doc: Doc, field: string, out: Set<IndexValue>): void {
  for (const value of valuesAt(doc, field)) {
    if (Array.isArray(value)) {
      for (const e of value) if (isIndexValue(e)) out.add(e);
    } else if (isIndexValue(value)) out.add(value);
  }
}

/** A new filter for `params` (named `key`, from `filterKeyOf`), held by no watch yet. */
export function makeFilter(key: string, params: Params): Filter {
  const indexed = indexFor(params);
  return {
    key,
    params,
    fields: paramFields(params),
    ...(indexed ? { indexed } : {}),
    bytes: estimateWatchBytes(key, params, indexed?.values.length ?? 0),
    holders: undefined,
    nowSeq: -1,
    now: false,
    beforeSeq: -1,
    before: false,
  };
}

function addHolder(filter: Filter, sub: Watcher): void {
  const holders = filter.holders;
  if (holders === undefined) filter.holders = sub;
  else if (holders instanceof Set) holders.add(sub);
  else filter.holders = new Set([holders, sub]);
}

function removeHolder(filter: Filter, sub: Watcher): void {
  const holders = filter.holders;
  if (!(holders instanceof Set)) filter.holders = undefined;
  else {
    holders.delete(sub);
    if (holders.size === 1) filter.holders = holders.values().next().value;
  }
}

/** Who watches what on one channel, indexed by equality values. */
export class WatchIndex<S extends Watcher> {
  /** Subscriptions holding at least one watch. */
  readonly subs = new Set<S>();
  /** Distinct filters by key, each held by at least one subscription. */
  private readonly filters = new Map<string, Filter>();
  /** Filters that are not indexed: every change looks at their holders. */
  private readonly scan = new Set<Filter>();
  /**
   * field → equality value → the filters indexed by it: the one, or several in an array. One entry per distinct
   * value and field, whoever holds the filters: what a watch adds to the index is proportional to what it says.
   */
  private readonly index = new Map<string, Map<IndexValue, Filter | Filter[]>>();
  /** Scratch set of `candidates`. */
  private readonly values = new Set<IndexValue>();

  /** Number of distinct filters held. */
  get filterCount(): number {
    return this.filters.size;
  }

  /**
   * The filter of `params` (canonical form `canonical`): the one already held on this channel, else a new one that
   * nobody holds yet (its `bytes` tell what holding it would cost before `add` commits to it).
   */
  filterFor(canonical: string, params: Params): Filter {
    const key = filterKeyOf(canonical);
    const filter = this.filters.get(key);
    return filter && sameFilter(filter, canonical, key) ? filter : makeFilter(key, params);
  }

  /** Adds `filter` (from `filterFor`, for params `sub` does not watch yet) to the watches of `sub`. */
  add(sub: S, filter: Filter): Filter {
    if (filter.holders === undefined) this.register(filter);
    addHolder(filter, sub);
    // concat and slice allocate exactly what they hold (spread and push reserve room for more).
    sub.watches = sub.watches.concat(filter);
    this.subs.add(sub);
    return filter;
  }

  /** Removes the watch `filter` of `sub` (one of `sub.watches`). */
  remove(sub: S, filter: Filter): void {
    const i = sub.watches.indexOf(filter);
    sub.watches = sub.watches.length === 1 ? NO_WATCHES : sub.watches.slice(0, i).concat(sub.watches.slice(i + 1));
    removeHolder(filter, sub);
    if (filter.holders === undefined) this.unregister(filter);
    if (sub.watches.length === 0) this.subs.delete(sub);
  }

  /** The subscriptions a change may concern: everything else provably neither matches now nor matched before. */
  candidates(change: LoggedChange): Iterable<S> {
    if (change.prev.kind === 'unknown' || this.index.size === 0) return this.subs;
    if (change.prev.kind === 'doc' && change.prev.fields) {
      // A projection made before a field was watched cannot say which index values the record had.
      for (const f of this.index.keys()) if (!change.prev.fields.has(f)) return this.subs;
    }
    const out = new Set<S>();
    for (const filter of this.scan) this.addHoldersTo(filter, out);
    const values = this.values;
    for (const [field, byValue] of this.index) {
      values.clear();
      if (change.data) valuesOn(change.data, field, values);
      if (change.prev.kind === 'doc') valuesOn(change.prev.doc, field, values);
      for (const value of values) {
        const entry = byValue.get(value);
        if (entry === undefined) continue;
        if (Array.isArray(entry)) for (const filter of entry) this.addHoldersTo(filter, out);
        else this.addHoldersTo(entry, out);
      }
    }
    values.clear();
    return out;
  }

  private addHoldersTo(filter: Filter, out: Set<S>): void {
    // Every holder of a filter in this index was added by `add`, as an S.
    const holders = filter.holders as S | Set<S> | undefined;
    if (holders instanceof Set) for (const sub of holders) out.add(sub);
    else if (holders !== undefined) out.add(holders);
  }

  /** A filter gets its first holder: it joins the filter map and the index (or the scan list). */
  private register(filter: Filter): void {
    // A filter whose digest another filter already uses stays out of the map: correct, only not shared.
    if (!this.filters.has(filter.key)) this.filters.set(filter.key, filter);
    if (filter.indexed) {
      const { field, values } = filter.indexed;
      let byValue = this.index.get(field);
      if (!byValue) this.index.set(field, (byValue = new Map()));
      for (const value of values) {
        const entry = byValue.get(value);
        // A value listed twice in one `$in` indexes the filter once.
        if (entry === undefined) byValue.set(value, filter);
        else if (Array.isArray(entry)) {
          if (!entry.includes(filter)) entry.push(filter);
        } else if (entry !== filter) byValue.set(value, [entry, filter]);
      }
    } else this.scan.add(filter);
  }

  /** A filter lost its last holder: undoes `register`. */
  private unregister(filter: Filter): void {
    if (this.filters.get(filter.key) === filter) this.filters.delete(filter.key);
    if (filter.indexed) {
      const { field, values } = filter.indexed;
      const byValue = this.index.get(field)!;
      for (const value of values) {
        const entry = byValue.get(value);
        if (entry === filter) byValue.delete(value);
        else if (Array.isArray(entry)) {
          const i = entry.indexOf(filter);
          if (i >= 0) entry.splice(i, 1);
          if (entry.length === 1) byValue.set(value, entry[0]!);
        }
      }
      if (byValue.size === 0) this.index.delete(field);
    } else this.scan.delete(filter);
  }
}
