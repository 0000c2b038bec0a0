/**
 * The per-record memory of one channel, and the item/remove decision built on it (PROTOCOL.md "Overlapping
 * watches").
 *
 * A change from a broker often comes without the record's previous state, yet a connection must get a `remove`
 * when the record leaves its watches. So the channel remembers what each record looked like — just the values of
 * the fields active watch filters read — and a change is logged with what the record was (`Prev`): absent, a
 * document (the feed's own, or the remembered projection), or unknown. The memory is bounded by what is watched:
 * only the fields some watch reads, only while the channel has a watch, never for append-only channels.
 *
 * The decision then runs per connection: `item` when the record matches any of its watches now; `remove` when it was
 * deleted or matched one of them before and matches none now; nothing otherwise. A record never seen is unknown,
 * and unknown costs at most one harmless `remove` (removing an absent id is a no-op for the client store).
 * Browser-safe.
 */
import { canonicalJson, matches, project, type Doc, type Params } from '../../protocol/index.js';
import type { ChannelSpec } from './channels.js';
import type { SharedFrame } from './socket.js';
import type { Change } from './source.js';

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
  /** Its offset on the hub's timeline (`positions.ts`); -1 on a channel without positions, or a change outside the stream. */
  readonly pos: number;
  readonly id: string;
  readonly data: Doc | null;
  readonly prev: Prev;
  /**
   * Its frames, one per distinct resource name and kind, each serialised once for every connection it goes to
   * (the fan-out's cache, kept on the change so that finding it costs no lookup).
   */
  frames?: Array<{
    readonly resource: string;
    readonly kind: 'item' | 'remove';
    readonly positioned: boolean;
    readonly frame: SharedFrame;
  }>;
}

/**
 * The changes of `log[start..]` (ordered by `key`) whose `key` is above `bound`, oldest first: a binary search, for
 * both logs of changes kept by a channel (the read log by `seq`, `change-log.ts`; the history by `pos`, `history.ts`).
 */
export function changesAfter(log: readonly LoggedChange[], start: number, key: 'seq' | 'pos', bound: number): LoggedChange[] {
  let lo = start;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]![key] <= bound) lo = mid + 1;
    else hi = mid;
  }
  return log.slice(lo);
}

/**
 * What the decision needs of a watch filter: its params, the fields it reads, and room for its verdicts on the
 * change being fanned out. A filter is shared by every watch with the same params (`watch-index.ts`), so each
 * verdict is computed once per change and filter and reused for every connection holding it.
 */
export interface FilterVerdicts {
  readonly params: Params;
  readonly fields: readonly string[];
  /** `seq` of the change `now` and `before` were computed for (-1: none yet). */
  nowSeq: number;
  now: boolean;
  beforeSeq: number;
  before: boolean;
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

/** What one channel remembers of its records while it has watches. */
export class RecordMemory {
  private readonly cache = new Map<string, CacheEntry>();
  /** Fields read by active watches, each with the number of watches reading it. */
  private readonly fieldCounts = new Map<string, number>();
  /** Fields read by active watches; replaced (never mutated) when it changes, so a generation of entries can share it. */
  private fieldSet: ReadonlySet<string> = new Set();
  /** The sets of watched fields cache entries refer to, by generation, oldest first: at most `FIELD_GENERATIONS`. */
  private readonly generations = new Map<number, ReadonlySet<string>>();
  private generation = 0;
  /** The set of fields `generation` stands for. */
  private generationFields: ReadonlySet<string> | undefined;
  /** Active watches on the channel: records are remembered only while there is one. */
  private watches = 0;

  constructor(private readonly spec: ChannelSpec) {}

  /** Number of records remembered for `remove` decisions. */
  get size(): number {
    return this.cache.size;
  }

  /** The fields remembered of each record from now on: those active watches read. */
  get fields(): ReadonlySet<string> {
    return this.fieldSet;
  }

  /** A watch reading `fields` was added. */
  watch(fields: readonly string[]): void {
    this.watches++;
    let grew = false;
    for (const f of fields) {
      const n = this.fieldCounts.get(f) ?? 0;
      this.fieldCounts.set(f, n + 1);
      if (n === 0) grew = true;
    }
    if (grew) this.fieldSet = new Set(this.fieldCounts.keys());
  }

  /** A watch reading `fields` was removed; with the last one, everything remembered goes. */
  unwatch(fields: readonly string[]): void {
    this.watches--;
    let shrank = false;
    for (const f of fields) {
      const n = this.fieldCounts.get(f)! - 1;
      if (n === 0) {
        this.fieldCounts.delete(f);
        shrank = true;
      } else this.fieldCounts.set(f, n);
    }
    if (shrank) this.fieldSet = new Set(this.fieldCounts.keys());
    // Nobody watches: what records looked like no longer matters, and would only go stale.
    if (this.watches === 0) this.forget();
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

  /** Turns a change (the channel's `seq`-th, at `pos`) into a logged change, updating what is remembered of the record. */
  record(change: Change, seq: number, pos = -1): LoggedChange {
    let prev: Prev;
    if (change.prev === null) prev = ABSENT;
    else if (change.prev !== undefined) prev = { kind: 'doc', doc: change.prev };
    else {
      const entry = this.cache.get(change.id);
      const fields = entry && !entry.uncertain ? this.generations.get(entry.gen) : undefined;
      prev = fields ? { kind: 'doc', doc: entry!.doc, fields } : UNKNOWN;
    }
    if (this.watches > 0 && !this.spec.appendOnly) {
      if (change.data) this.cache.set(change.id, { doc: project(change.data, this.fieldSet), gen: this.currentGeneration(), seq });
      else this.cache.delete(change.id);
    }
    return { seq, pos, id: change.id, data: change.data, prev };
  }

  /**
   * Remembers snapshot records, unless a change since the read began already told us something newer. A snapshot
   * is not necessarily what other connections were sent: read from a database, it can already show a write whose
   * change is still on its way. So a record it shows differently from what is remembered becomes uncertain (its
   * next change is a `remove` for every connection it does not match) instead of being overwritten.
   */
  remember(items: readonly Doc[], startSeq: number): void {
    if (this.watches === 0 || this.spec.appendOnly) return;
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
}

/**
 * What one connection with `watches` on a channel should receive for a change. Runs once per connection a change
 * concerns, so it allocates nothing: each filter's verdict is computed once per change and reused for every
 * connection. `afterSnapshot`: the change is replayed right after a snapshot this connection just received, which
 * may show the record older or newer than the remembered previous state (a database read can see writes whose
 * changes have not arrived yet), so for a watching connection only a previous state the feed itself gave (a
 * projection-free `prev`) can rule a `remove` out.
 */
export function decide(
  watches: readonly FilterVerdicts[],
  change: LoggedChange,
  appendOnly: boolean,
  afterSnapshot = false,
): 'item' | 'remove' | undefined {
  if (change.data) {
    for (let i = 0; i < watches.length; i++) if (matchesNow(watches[i]!, change)) return 'item';
  }
  if (appendOnly) return undefined;
  const kind = change.prev.kind;
  if (kind === 'absent') return undefined;
  if (kind === 'unknown') return 'remove';
  if (afterSnapshot && (change.prev as Extract<Prev, { kind: 'doc' }>).fields !== undefined && watches.length > 0) return 'remove';
  for (let i = 0; i < watches.length; i++) if (matchedBefore(watches[i]!, change)) return 'remove';
  return undefined;
}

function matchesNow(f: FilterVerdicts, change: LoggedChange): boolean {
  if (f.nowSeq !== change.seq) {
    f.now = matches(change.data!, f.params);
    f.nowSeq = change.seq;
  }
  return f.now;
}

/** Whether the record may have matched `f` before the change (`prev` is a document). */
function matchedBefore(f: FilterVerdicts, change: LoggedChange): boolean {
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
