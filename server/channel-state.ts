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
  type JsonValue,
  type Params,
} from '../protocol/index.js';
import type { ChannelSpec } from './channels.js';
import type { SharedFrame } from './hub-connection.js';
import type { Change } from './source.js';

/**
 * One distinct filter of a channel, shared by every watch with the same canonical params (a thousand UIs
 * watching `{type: "compute"}` hold one): what it reads and how it is indexed are derived once, and it remembers
 * its verdict on the change being fanned out, so `matches` runs once per change and filter, not per connection.
 */
export interface Filter {
  /** Canonical params. */
  readonly key: string;
  readonly params: Params;
  readonly fields: readonly string[];
  /** The equality-indexed field and its keys, or undefined when the filter must be evaluated on every change. */
  readonly indexed?: { readonly field: string; readonly keys: readonly string[] };
  refs: number;
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
   * The hub's latest snapshot read per watch (by canonical params) while one is in flight, so an older read that
   * answers later does not overwrite its list; created with the first such read, dropped when none is left.
   */
  reads: Map<string, unknown> | undefined;
  /** Snapshot reads of this connection on this channel still in flight: live changes wait for them. */
  inflight: number;
  /** The connection: frames go to its `sendFrame` (the same frame object to every connection it concerns). */
  readonly conn: { sendFrame(frame: SharedFrame): void };
}

/** A new subscription of `conn` to `state` under `resource`, with no watches. */
export function subscription(resource: string, state: ChannelState, conn: Subscription['conn']): Subscription {
  return { resource, state, watches: NO_WATCHES, reads: undefined, inflight: 0, conn };
}

/** The watch (filter) of `sub` with canonical params `key`, if it holds one. */
export function watchOf(sub: Subscription, key: string): Filter | undefined {
  const watches = sub.watches;
  for (let i = 0; i < watches.length; i++) if (watches[i]!.key === key) return watches[i];
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

/**
 * How many sets of watched fields the records remembered may refer to: the latest this many (see `CacheEntry.gen`).
 * Each record is remembered as a projection on the fields watched at the time, and must say which fields those were;
 * were each to hold its set, watching and stopping a new field around every read would keep one set of every watched
 * field per record (issue 10: 10,000 records × 4,000 watched fields, ~800 MB). A record whose set was dropped counts
 * as unknown at its next change: at most one harmless `remove` per connection. A module constant, not an option:
 * the sets of a handful of generations are what a channel holds anyway.
 */
export const FIELD_GENERATIONS = 8;

interface CacheEntry {
  doc: Doc;
  /** The generation of the watched fields `doc` is a projection on; unknown once dropped from `generations`. */
  gen: number;
  /** Sequence number of the change (or snapshot start) that produced it. */
  seq: number;
  /**
   * Snapshots disagreed with what connections were last sent, so the record's previous state is unknown until its
   * next change (which sets a certain entry).
   */
  uncertain?: true;
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

function makeFilter(key: string, params: Params): Filter {
  const indexed = indexFor(params);
  return { key, params, fields: paramFields(params), ...(indexed ? { indexed } : {}), refs: 0, nowSeq: -1, now: false, beforeSeq: -1, before: false };
}

/** Routing state of one channel. */
export class ChannelState {
  readonly subs = new Set<Subscription>();
  /** Distinct filters by canonical params. */
  private readonly filters = new Map<string, Filter>();
  /** Subscriptions holding a watch that is not indexed, with a count of such watches. */
  private readonly scan = new Map<Subscription, number>();
  /** field → equality key → subscriptions (with a count of their watches under that key). */
  private readonly index = new Map<string, Map<string, Map<Subscription, number>>>();
  private readonly fieldCounts = new Map<string, number>();
  /** Fields read by active watches; replaced (never mutated) when it changes, so a generation of cache entries can share it. */
  private fieldSet: ReadonlySet<string> = new Set();
  private readonly cache = new Map<string, CacheEntry>();
  /** The sets of watched fields cache entries refer to, by generation, oldest first: at most `FIELD_GENERATIONS`. */
  private readonly generations = new Map<number, ReadonlySet<string>>();
  private generation = 0;
  /** The set of fields `generation` stands for. */
  private generationFields: ReadonlySet<string> | undefined;
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

  /** Adds the watch `params` (canonical form `key`, which the subscription does not hold yet) and returns its filter. */
  addWatch(sub: Subscription, key: string, params: Params): Filter {
    let filter = this.filters.get(key);
    if (!filter) this.filters.set(key, (filter = makeFilter(key, params)));
    filter.refs++;
    // concat and slice allocate exactly what they hold (spread and push reserve room for more).
    sub.watches = sub.watches.concat(filter);
    const wasIdle = this.subs.size === 0;
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
    let grew = false;
    for (const f of filter.fields) {
      const n = this.fieldCounts.get(f) ?? 0;
      this.fieldCounts.set(f, n + 1);
      if (n === 0) grew = true;
    }
    if (grew) this.fieldSet = new Set(this.fieldCounts.keys());
    if (wasIdle) this.onActivity?.(true);
    return filter;
  }

  /** Removes the watch `key` of `sub` and returns its filter; undefined when it held none. */
  removeWatch(sub: Subscription, key: string): Filter | undefined {
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
    let shrank = false;
    for (const f of filter.fields) {
      const n = this.fieldCounts.get(f)! - 1;
      if (n === 0) {
        this.fieldCounts.delete(f);
        shrank = true;
      } else this.fieldCounts.set(f, n);
    }
    if (shrank) this.fieldSet = new Set(this.fieldCounts.keys());
    if (sub.watches.length === 0) this.subs.delete(sub);
    if (this.subs.size === 0) {
      // Nobody watches: what records looked like no longer matters, and would only go stale.
      this.cache.clear();
      this.onActivity?.(false);
    }
    return filter;
  }

  /** Removes every watch of a subscription (its connection closed). */
  dropSubscription(sub: Subscription): void {
    // `removeWatch` replaces the array, so this walks the one it started with.
    for (const filter of sub.watches) this.removeWatch(sub, filter.key);
  }

  /** Forgets what records looked like (after missed changes: broker reconnect, source outage). */
  forget(): void {
    this.cache.clear();
    this.generations.clear();
    this.generationFields = undefined;
  }

  /** The generation of the fields watched now, for a new cache entry; started when the first entry needs it. */
  private currentGeneration(): number {
    if (this.generationFields !== this.fieldSet) {
      this.generationFields = this.fieldSet;
      this.generations.set(++this.generation, this.fieldSet);
      // A Map iterates in insertion order: the first key is the oldest generation.
      if (this.generations.size > FIELD_GENERATIONS) this.generations.delete(this.generations.keys().next().value!);
    }
    return this.generation;
  }

  /** Turns a change into a logged change, updating what the channel remembers of the record. */
  record(change: Change): LoggedChange {
    const seq = ++this.seq;
    let prev: Prev;
    if (change.prev === null) prev = ABSENT;
    else if (change.prev !== undefined) prev = { kind: 'doc', doc: change.prev };
    else {
      const entry = this.cache.get(change.id);
      const fields = entry && !entry.uncertain ? this.generations.get(entry.gen) : undefined;
      prev = fields ? { kind: 'doc', doc: entry!.doc, fields } : UNKNOWN;
    }
    if (this.subs.size > 0 && !this.spec.appendOnly) {
      if (change.data) this.cache.set(change.id, { doc: project(change.data, this.fieldSet), gen: this.currentGeneration(), seq });
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
    const out = new Set<Subscription>(this.scan.keys());
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
      // An entry whose fields were dropped cannot be compared with the snapshot: uncertain, as if they differed.
      const fields = entry && this.generations.get(entry.gen);
      if (entry && (fields === undefined || canonicalJson(project(doc, fields)) !== canonicalJson(entry.doc))) {
        this.cache.set(id, { ...entry, uncertain: true });
        continue;
      }
      this.cache.set(id, { doc: project(doc, this.fieldSet), gen: this.currentGeneration(), seq: entry?.seq ?? startSeq });
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

/** A primitive value usable as an index key (exported for tests). */
export function indexKeyOf(value: JsonValue): string | undefined {
  return primitiveKey(value);
}
