/**
 * Per-channel routing state of the hub: which connections watch what (indexed by equality keys), what each
 * watched record looked like (just the fields filters read), and the change log kept while snapshot reads
 * are in flight. Decides, per connection, whether a change is an `item`, a `remove` or nothing
 * (DESIGN.md §3 "Overlapping watches"). Browser-safe.
 */
import {
  canonicalJson,
  isOperatorObject,
  matches,
  paramFields,
  project,
  valuesAt,
  type Doc,
  type Params,
} from '../protocol/index.js';
import type { ChannelSpec } from './channels.js';
import type { SharedFrame } from './hub-connection.js';
import type { Change } from './source.js';
import { estimateWatchBytes } from './watch-bytes.js';

/**
 * A value an equality condition is indexed by, as it is (no prefixed copy): `Map` keys tell `1` from `"1"` and `true`
 * from `"true"` exactly as `matches` does, and an index entry then holds a reference to the string the filter's
 * params already hold.
 */
type IndexValue = string | number | boolean;

/**
 * One distinct filter of a channel, shared by every watch with the same canonical params (a thousand UIs
 * watching `{type: "compute"}` hold one): what it reads and how it is indexed are derived once, and it remembers
 * its verdict on the change being fanned out, so `matches` runs once per change and filter, not per connection.
 */
export interface Filter {
  /**
   * Its name on the channel (`filterKeyOf`): the canonical params when they are short, else a digest of them, so a
   * large filter does not hold its canonical text besides its params (two filters with one digest are told apart by
   * `sameFilter`).
   */
  readonly key: string;
  readonly params: Params;
  readonly fields: readonly string[];
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
  holders: Subscription | Set<Subscription> | undefined;
  /** `seq` of the change `now` and `before` were computed for (-1: none yet). */
  nowSeq: number;
  now: boolean;
  beforeSeq: number;
  before: boolean;
}

/** No watches: the initial `Subscription.watches` of every subscription (one shared empty array). */
const NO_WATCHES: readonly Filter[] = Object.freeze([]);

/** A connection's watches on one channel, under the name (`resource`) it used. */
export interface Subscription {
  readonly resource: string;
  readonly state: ChannelState;
  /**
   * Its watches: the shared filters of their params (a watch is nothing more than a connection's hold on one, so an
   * idle watch is one array slot), in the order they were added. Replaced, never mutated, when one is added or
   * removed: an exact-size array costs an idle connection least (a `Map`, or an array grown by `push`, reserves room
   * for many), the fan-out walks it without allocating, and a walk is never disturbed by a change. At most
   * `maxWatches`, so lookups are short scans.
   */
  watches: readonly Filter[];
  /**
   * The hub's latest snapshot read per watch while one is in flight, so an older read that answers later does not
   * overwrite its list; created with the first such read, dropped when none is left.
   */
  reads: Map<Filter, unknown> | undefined;
  /** Snapshot reads of this connection on this channel still in flight: live changes wait for them. */
  inflight: number;
  /** The connection: frames go to its `sendFrame` (the same frame object to every connection it concerns). */
  readonly conn: { sendFrame(frame: SharedFrame): void };
}

/** A new subscription of `conn` to `state` under `resource`, with no watches. */
export function subscription(resource: string, state: ChannelState, conn: Subscription['conn']): Subscription {
  return { resource, state, watches: NO_WATCHES, reads: undefined, inflight: 0, conn };
}

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
export function watchOf(sub: Subscription, canonical: string): Filter | undefined {
  const key = filterKeyOf(canonical);
  const watches = sub.watches;
  for (let i = 0; i < watches.length; i++) if (sameFilter(watches[i]!, canonical, key)) return watches[i];
  return undefined;
}

/** What the record looked like before a change. */
export type Prev =
  | { readonly kind: 'absent' }
  | { readonly kind: 'unknown' }
  /** `fields` undefined: the whole record; else the projection covers just these fields. */
  | { readonly kind: 'doc'; readonly doc: Doc; readonly fields?: ReadonlySet<string> };

const ABSENT: Prev = { kind: 'absent' };
const UNKNOWN: Prev = { kind: 'unknown' };

/** A change as the channel keeps it: what it became and what it was. */
export interface LoggedChange {
  readonly seq: number;
  readonly id: string;
  readonly data: Doc | null;
  readonly prev: Prev;
  /** Its frames, one per distinct resource name and kind, each serialised once for every connection it goes to. */
  frames?: Array<{ readonly resource: string; readonly kind: 'item' | 'remove'; readonly frame: SharedFrame }>;
}

interface CacheEntry {
  doc: Doc;
  fields: ReadonlySet<string>;
  /** Sequence number of the change (or snapshot start) that produced it. */
  seq: number;
  /**
   * Snapshots disagreed with what connections were last sent, so the record's previous state is unknown until its
   * next change (which sets a certain entry).
   */
  uncertain?: true;
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

/** A filter for `params` (named `key`, from `filterKeyOf`), not yet held by anyone. */
function makeFilter(key: string, params: Params): Filter {
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

function addHolder(filter: Filter, sub: Subscription): void {
  const holders = filter.holders;
  if (holders === undefined) filter.holders = sub;
  else if (holders instanceof Set) holders.add(sub);
  else filter.holders = new Set([holders, sub]);
}

function removeHolder(filter: Filter, sub: Subscription): void {
  const holders = filter.holders;
  if (!(holders instanceof Set)) filter.holders = undefined;
  else {
    holders.delete(sub);
    if (holders.size === 1) filter.holders = holders.values().next().value;
  }
}

function addHoldersTo(filter: Filter, out: Set<Subscription>): void {
  const holders = filter.holders;
  if (holders instanceof Set) for (const sub of holders) out.add(sub);
  else if (holders !== undefined) out.add(holders);
}

/** Routing state of one channel. */
export class ChannelState {
  readonly subs = new Set<Subscription>();
  /** Distinct filters by canonical params, each held by at least one subscription. */
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
  private readonly fieldCounts = new Map<string, number>();
  /** Fields read by active watches; replaced (never mutated) when it grows, so cache entries can share it. */
  private fieldSet: ReadonlySet<string> = new Set();
  private readonly cache = new Map<string, CacheEntry>();
  /** Sequence number of the last change. */
  seq = 0;
  /** Changes kept while snapshot reads are in flight, oldest first. */
  private log: LoggedChange[] = [];
  /** Start sequence numbers of in-flight reads (with counts). */
  private readonly readStarts = new Map<number, number>();

  /**
   * @param onActivity Called when the channel gets its first watching connection (`true`) and when the last one
   *   leaves (`false`), so feeds can subscribe upstream only while someone listens.
   */
  constructor(
    readonly spec: ChannelSpec,
    private readonly onActivity?: (active: boolean) => void,
  ) {}

  /** Number of records remembered for `remove` decisions. */
  get cacheSize(): number {
    return this.cache.size;
  }

  /** Number of changes held for in-flight reads. */
  get logSize(): number {
    return this.log.length;
  }

  /**
   * The filter of `params` (canonical form `canonical`): the one already held on this channel, else a new one that
   * nobody holds yet (its `bytes` tell what holding it would cost before `addWatch` commits to it).
   */
  filterFor(canonical: string, params: Params): Filter {
    const key = filterKeyOf(canonical);
    const filter = this.filters.get(key);
    return filter && sameFilter(filter, canonical, key) ? filter : makeFilter(key, params);
  }

  /** Adds `filter` (from `filterFor`, for params the subscription does not watch yet) to the watches of `sub`. */
  addWatch(sub: Subscription, filter: Filter): Filter {
    if (filter.holders === undefined) this.register(filter);
    addHolder(filter, sub);
    // concat and slice allocate exactly what they hold (spread and push reserve room for more).
    sub.watches = sub.watches.concat(filter);
    const wasIdle = this.subs.size === 0;
    this.subs.add(sub);
    if (wasIdle) this.onActivity?.(true);
    return filter;
  }

  /** Removes the watch `filter` of `sub` (one of `sub.watches`). */
  removeWatch(sub: Subscription, filter: Filter): void {
    const i = sub.watches.indexOf(filter);
    sub.watches = sub.watches.length === 1 ? NO_WATCHES : sub.watches.slice(0, i).concat(sub.watches.slice(i + 1));
    removeHolder(filter, sub);
    if (filter.holders === undefined) this.unregister(filter);
    if (sub.watches.length === 0) this.subs.delete(sub);
    if (this.subs.size === 0) {
      // Nobody watches: what records looked like no longer matters, and would only go stale.
      this.cache.clear();
      this.onActivity?.(false);
    }
  }

  /** A filter gets its first holder: it joins the filter map, the index (or the scan list) and the watched fields. */
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
    let grew = false;
    for (const f of filter.fields) {
      const n = this.fieldCounts.get(f) ?? 0;
      this.fieldCounts.set(f, n + 1);
      if (n === 0) grew = true;
    }
    if (grew) this.fieldSet = new Set(this.fieldCounts.keys());
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
    let shrank = false;
    for (const f of filter.fields) {
      const n = this.fieldCounts.get(f)! - 1;
      if (n === 0) {
        this.fieldCounts.delete(f);
        shrank = true;
      } else this.fieldCounts.set(f, n);
    }
    if (shrank) this.fieldSet = new Set(this.fieldCounts.keys());
  }

  /** Removes every watch of a subscription (its connection closed). */
  dropSubscription(sub: Subscription): void {
    // `removeWatch` replaces the array, so this walks the one it started with.
    for (const filter of sub.watches) this.removeWatch(sub, filter);
  }

  /** Forgets what records looked like (after missed changes: broker reconnect, source outage). */
  forget(): void {
    this.cache.clear();
  }

  /** Turns a change into a logged change, updating what the channel remembers of the record. */
  record(change: Change): LoggedChange {
    const seq = ++this.seq;
    let prev: Prev;
    if (change.prev === null) prev = ABSENT;
    else if (change.prev !== undefined) prev = { kind: 'doc', doc: change.prev };
    else {
      const entry = this.cache.get(change.id);
      prev = entry && !entry.uncertain ? { kind: 'doc', doc: entry.doc, fields: entry.fields } : UNKNOWN;
    }
    if (this.subs.size > 0 && !this.spec.appendOnly) {
      if (change.data) this.cache.set(change.id, { doc: project(change.data, this.fieldSet), fields: this.fieldSet, seq });
      else this.cache.delete(change.id);
    }
    const logged: LoggedChange = { seq, id: change.id, data: change.data, prev };
    if (this.readStarts.size > 0) this.log.push(logged);
    return logged;
  }

  /** The subscriptions a change may concern: everything else provably neither matches now nor matched before. */
  candidates(change: LoggedChange): Iterable<Subscription> {
    if (change.prev.kind === 'unknown' || this.index.size === 0) return this.subs;
    if (change.prev.kind === 'doc' && change.prev.fields) {
      // A projection made before a field was watched cannot say which index keys the record had.
      for (const f of this.index.keys()) if (!change.prev.fields.has(f)) return this.subs;
    }
    const out = new Set<Subscription>();
    for (const filter of this.scan) addHoldersTo(filter, out);
    const values = this.values;
    for (const [field, byValue] of this.index) {
      values.clear();
      if (change.data) valuesOn(change.data, field, values);
      if (change.prev.kind === 'doc') valuesOn(change.prev.doc, field, values);
      for (const value of values) {
        const entry = byValue.get(value);
        if (entry === undefined) continue;
        if (Array.isArray(entry)) for (const filter of entry) addHoldersTo(filter, out);
        else addHoldersTo(entry, out);
      }
    }
    values.clear();
    return out;
  }

  /**
   * What one subscription should receive for a change. Runs once per connection a change concerns, so it
   * allocates nothing: each filter's verdict is computed once per change and reused for every connection.
   * `afterSnapshot`: the change is replayed right after a snapshot this subscription just received, which may show
   * the record older or newer than the remembered previous state (a database read can see writes whose changes have
   * not arrived yet), so for a watching subscription only a previous state the feed itself gave (a projection-free
   * `prev`) can rule a `remove` out.
   */
  decide(sub: Subscription, change: LoggedChange, afterSnapshot = false): 'item' | 'remove' | undefined {
    const watches = sub.watches;
    if (change.data) {
      for (let i = 0; i < watches.length; i++) if (this.matchesNow(watches[i]!, change)) return 'item';
    }
    if (this.spec.appendOnly) return undefined;
    const kind = change.prev.kind;
    if (kind === 'absent') return undefined;
    if (kind === 'unknown') return 'remove';
    if (afterSnapshot && (change.prev as Extract<Prev, { kind: 'doc' }>).fields !== undefined && watches.length > 0) return 'remove';
    for (let i = 0; i < watches.length; i++) if (this.matchedBefore(watches[i]!, change)) return 'remove';
    return undefined;
  }

  private matchesNow(f: Filter, change: LoggedChange): boolean {
    if (f.nowSeq !== change.seq) {
      f.now = matches(change.data!, f.params);
      f.nowSeq = change.seq;
    }
    return f.now;
  }

  /** Whether the record may have matched `f` before the change (`prev` is a document). */
  private matchedBefore(f: Filter, change: LoggedChange): boolean {
    if (f.beforeSeq !== change.seq) {
      const prev = change.prev as Extract<Prev, { kind: 'doc' }>;
      // A projection that lacks a field this filter reads cannot rule it out: assume it matched.
      let covered = true;
      if (prev.fields) for (const field of f.fields) if (!prev.fields.has(field)) covered = false;
      f.before = !covered || matches(prev.doc, f.params);
      f.beforeSeq = change.seq;
    }
    return f.before;
  }

  /**
   * Remembers snapshot records, unless a change since the read began already told us something newer. A snapshot
   * is not necessarily what other connections were sent: read from a database, it can already show a write whose
   * change is still on its way. So a record it shows differently from what is remembered becomes uncertain (its
   * next change is a `remove` for every connection it does not match) instead of being overwritten.
   */
  remember(items: readonly Doc[], startSeq: number): void {
    if (this.subs.size === 0 || this.spec.appendOnly) return;
    for (const doc of items) {
      const raw = doc[this.spec.idField];
      if (typeof raw !== 'string' && typeof raw !== 'number') continue;
      const id = String(raw);
      const entry = this.cache.get(id);
      if (entry && (entry.seq > startSeq || entry.uncertain)) continue;
      if (entry && canonicalJson(project(doc, entry.fields)) !== canonicalJson(entry.doc)) {
        this.cache.set(id, { ...entry, uncertain: true });
        continue;
      }
      this.cache.set(id, { doc: project(doc, this.fieldSet), fields: this.fieldSet, seq: entry?.seq ?? startSeq });
    }
  }

  /**
   * A snapshot read begins (or joins a shared read that began at `startSeq`): keep the changes after
   * `startSeq` until it ends.
   */
  beginRead(startSeq: number = this.seq): number {
    this.readStarts.set(startSeq, (this.readStarts.get(startSeq) ?? 0) + 1);
    return startSeq;
  }

  /** Changes since `startSeq` (exclusive of older ones), oldest first. */
  changesSince(startSeq: number): LoggedChange[] {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.seq <= startSeq) lo = mid + 1;
      else hi = mid;
    }
    return this.log.slice(lo);
  }

  /** A snapshot read ended: drop the changes no in-flight read needs any more. */
  endRead(startSeq: number): void {
    const n = (this.readStarts.get(startSeq) ?? 1) - 1;
    if (n === 0) this.readStarts.delete(startSeq);
    else this.readStarts.set(startSeq, n);
    if (this.readStarts.size === 0) {
      this.log = [];
      return;
    }
    const oldest = Math.min(...this.readStarts.keys());
    let drop = 0;
    while (drop < this.log.length && this.log[drop]!.seq <= oldest) drop++;
    if (drop > 0) this.log = this.log.slice(drop);
  }
}
