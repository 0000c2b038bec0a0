/**
 * Live queries: a view of one filter on a channel, with its own status (issue 13). `connection.live(params)` returns
 * a `LiveQuery` whose snapshot holds only the records of its own watch — never what a `query`, a `get` or another
 * watch put in the channel's store — and says whether they are loading, ready, stale or refused.
 *
 * A live query on params P shows the records the store's scope P holds (docs/architecture.md "The store's scopes"):
 * the store already decides, for every message, which watches hold each record, so a view adds no `matches` and no
 * copy of its own. The store reports which scopes a message touched (`Store.track`), and only the views of those
 * scopes are told; a view builds its array when it is read (`Store.held`), like the store's own snapshot.
 *
 * The parts: `LiveQueries` (one per connection) counts the references to each watched params, so identical queries
 * share one server watch and the seed API's `watch(P)` is one reference among them; a `Watch` is the status of one
 * watched params, shared by its views; a `View` is what the application holds.
 */
import type { ErrorCode } from '../protocol/codes.js';
import type { ClientMessage, Params, ServerMessage } from '../protocol/messages.js';
import { canonicalJson, isPlainObject, OPERATORS } from '../protocol/params.js';
import { erroredWatch, isForChannel, isRefusal } from './apply.js';
import { isValidParams } from './parse.js';
import { notifyAll } from './store.js';

/**
 * Where a live query is: `loading` until its first `list`; `ready`; `stale` while the connection is not open after
 * having been ready, and after a reconnect until its new `list` (the last records stay); `error` when the server
 * refused its watch (or its params were refused before any round trip).
 */
export type LiveStatus = 'loading' | 'ready' | 'stale' | 'error';

/** Why a live query is in status `error`: the server's code and message (`bad-params` when refused locally). */
export interface LiveError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** What a live query shows; the same object until something changes (React's `useSyncExternalStore` contract). */
export interface LiveSnapshot<T> {
  /** Only the records of this query's own watch, in arrival order; frozen. */
  readonly data: readonly T[];
  readonly status: LiveStatus;
  /** Set while `status` is `error`. */
  readonly error: LiveError | undefined;
  /** True while `setParams(next)` waits for next's `list`: `data` and `status` are still the previous params'. */
  readonly isPrevious: boolean;
}

/** Options of `connection.live(params, options)`. */
export interface LiveOptions {
  /**
   * The most records shown, the newest (in arrival order) kept: the bound of an append-only channel's view (`logs`,
   * `events`, `mq`), whose store keeps its last `historyLimit` entries of every watch together.
   * @default no bound but the store's: 1000 entries on append-only channels (`StoreOptions.historyLimit`)
   */
  limit?: number;
}

/** A live view of the records matching `params` on one connection. */
export interface LiveQuery<T> {
  /** The params asked for last (while `isPrevious`, the ones being loaded). */
  readonly params: Params;
  /** True after `close()`. */
  readonly closed: boolean;
  /** The current snapshot: the same object until something changes. */
  getSnapshot(): LiveSnapshot<T>;
  /**
   * Calls `fn` after every change of the snapshot. @returns A function that removes `fn`.
   * @throws TypeError when the query is closed.
   */
  subscribe(fn: () => void): () => void;
  /**
   * Shows the records of `next` instead: the current records stay (with `isPrevious`) until next's `list` arrives,
   * then both change in one step. Canonically equal params are a no-op.
   * @throws TypeError when the query is closed.
   */
  setParams(next: Params): void;
  /** Ends the query (idempotent); the server watch is stopped when nothing else holds its params. */
  close(): void;
}

/** What live queries need of the channel's `Store`. */
export interface LiveStore<T> {
  readonly appendOnly: boolean;
  readonly historyLimit: number;
  track(): Set<string>;
  held(scope: string): T[];
  addWatch(params: Params): boolean;
  stop(params: Params): void;
}

/**
 * Why `params` is outside the allowlist, or undefined. The check is client/parse.ts's, the lean twin of
 * `validateParams` (protocol/params.ts) that the client already carries for the params servers echo, so such params
 * never make a round trip; it names the rules rather than the key at fault, which only the full validator does.
 */
export function paramsProblem(params: unknown): string | undefined {
  return isPlainObject(params) && isValidParams(params)
    ? undefined
    : `params outside the allowlist: a JSON object of field paths, values and ${OPERATORS.join(' ')}`;
}

/** One watched params: its status, shared by every live query showing it. */
interface Watch {
  /** The canonical params (the store's scope); `''` for params refused locally, which are never registered. */
  readonly key: string;
  readonly params: Params;
  /** Views showing it or waiting for it, plus one for the seed API's `watch`. */
  refs: number;
  status: LiveStatus;
  error?: LiveError | undefined;
}

/** A live query as the application holds it: shows one `Watch`, and waits for another after `setParams`. */
class View<T> implements LiveQuery<T> {
  readonly #owner: LiveQueries<T>;
  /** The most records shown, the newest. */
  readonly #limit: number;
  #shown: Watch;
  /** What `setParams` asked for, while its `list` has not arrived. */
  #next: Watch | undefined;
  #snapshot: LiveSnapshot<T> | undefined;
  /** Undefined once closed. */
  #listeners: Set<() => void> | undefined = new Set();

  constructor(owner: LiveQueries<T>, params: Params, limit: number) {
    this.#owner = owner;
    this.#limit = limit;
    this.#shown = owner.acquire(params);
  }

  get params(): Params {
    return (this.#next ?? this.#shown).params;
  }

  get closed(): boolean {
    return this.#listeners === undefined;
  }

  getSnapshot(): LiveSnapshot<T> {
    const shown = this.#shown;
    // Built when read: a burst of changes between two renders costs one array.
    return (this.#snapshot ??= {
      data: Object.freeze(this.#owner.held(shown.key).slice(-this.#limit)),
      status: shown.status,
      error: shown.error,
      isPrevious: this.#next !== undefined,
    });
  }

  subscribe(fn: () => void): () => void {
    const listeners = this.#open('subscribe');
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }

  setParams(next: Params): void {
    this.#open('setParams');
    const owner = this.#owner;
    // Acquired before anything is released, so that a watch asked for again is never stopped in between. The view
    // holds one reference to what it shows and one to what it waits for.
    const wanted = owner.acquire(next);
    const pending = this.#next;
    if (pending !== undefined) owner.release(pending);
    if (wanted === this.#shown) owner.release(wanted);
    this.#next = wanted === this.#shown ? undefined : wanted;
    if (wanted === (pending ?? this.#shown)) return;
    this.#settle();
    this.#changed();
  }

  close(): void {
    if (this.#listeners === undefined) return;
    this.#listeners = undefined;
    const owner = this.#owner;
    owner.views.delete(this);
    owner.release(this.#shown);
    if (this.#next !== undefined) owner.release(this.#next);
  }

  /** After a message: `touched` are the watches (scopes) whose records or status changed. */
  update(touched: Set<string>): void {
    const shown = this.#shown;
    this.#settle();
    // What the awaited watch does before its `list` is not on screen.
    if (this.#shown !== shown || touched.has(shown.key)) this.#changed();
  }

  /**
   * Shows the awaited watch instead, in one step, once it has something to show (its `list`, or an error), or at
   * once when what is shown has nothing worth keeping on screen (still loading, or refused).
   */
  #settle(): void {
    const next = this.#next;
    const shown = this.#shown;
    if (next === undefined || (next.status === 'loading' && (shown.status === 'ready' || shown.status === 'stale'))) return;
    this.#owner.release(shown);
    this.#shown = next;
    this.#next = undefined;
  }

  #open(call: string): Set<() => void> {
    if (this.#listeners === undefined) throw new TypeError(`monorail-ws: ${call}() on a closed live query`);
    return this.#listeners;
  }

  #changed(): void {
    this.#snapshot = undefined;
    notifyAll(this.#listeners ?? []);
  }
}

/**
 * The live queries of one connection and the references to its watches. A watched params is held once per view
 * showing it or waiting for it, and once by the seed API's `watch(P)`; the store's watch (its scope) and the
 * server's begin with the first reference and end with the last, so an application's `watch`/`stop` and a live
 * query on the same params never end each other's watch.
 */
export class LiveQueries<T> {
  /** The open live queries. */
  readonly views = new Set<View<T>>();
  readonly #store: LiveStore<T>;
  readonly #channel: string;
  readonly #write: (message: ClientMessage) => boolean;
  /** Runs a store update whose subscribers may throw (the connection reports what they throw). */
  readonly #guard: (update: () => void) => void;
  /** Every watched params, by canonical params. */
  readonly #watches = new Map<string, Watch>();
  /** The params the seed API's `watch` holds (one reference each, however often it was called). */
  readonly #seeds = new Set<string>();
  /** The scopes whose records (the store says) or status (we say) changed since the last flush. */
  readonly #touched: Set<string>;

  /**
   * @param write Sends a frame now if the socket is open; returns false otherwise (the open re-sends the watches).
   * @param guard Runs a store update, reporting what its subscribers throw.
   */
  constructor(store: LiveStore<T>, channel: string, write: (message: ClientMessage) => boolean, guard: (update: () => void) => void) {
    this.#store = store;
    this.#touched = store.track();
    this.#channel = channel;
    this.#write = write;
    this.#guard = guard;
  }

  /** A new live query (`connection.live`). */
  open(params: Params, options?: LiveOptions): LiveQuery<T> {
    // Unbounded by default: what the store keeps (an append-only store, its last `historyLimit` entries) is the bound.
    const view = new View(this, params, options?.limit ?? Infinity);
    this.views.add(view);
    return view;
  }

  /** The seed API's `watch(P)`: one reference, however often it is called. */
  watch(params: Params): void {
    const key = canonicalJson(params);
    if (this.#seeds.has(key)) return;
    this.#seeds.add(key);
    this.#hold(key, params);
  }

  /** The seed API's `stop(P)`: releases the seed's reference only; params nothing holds are stopped as before. */
  stop(params: Params): void {
    const key = canonicalJson(params);
    const watch = this.#watches.get(key);
    if (this.#seeds.delete(key)) this.release(watch!);
    else if (watch === undefined) this.#end(params);
  }

  /** One more reference to the watch of `params`; params outside the allowlist get a refused watch of their own. */
  acquire(params: Params): Watch {
    const problem = paramsProblem(params);
    if (problem === undefined) return this.#hold(canonicalJson(params), params);
    return { key: '', params, refs: 1, status: 'error', error: { code: 'bad-params', message: problem } };
  }

  /** Drops a reference; the last one ends the watch (not a refused one, which has ended already). */
  release(watch: Watch): void {
    if (--watch.refs > 0 || this.#watches.get(watch.key) !== watch) return;
    this.#watches.delete(watch.key);
    this.#end(watch.params);
  }

  /** The records the store's scope `key` holds. */
  held(key: string): T[] {
    return this.#store.held(key);
  }

  /** After the store applied a server message: statuses from `list` and `error`, then the views are told. */
  apply(m: ServerMessage): void {
    const params =
      m.handler === 'list'
        ? isForChannel(this.#channel, m.resource)
          ? m.params
          : undefined
        : m.handler === 'error'
          ? erroredWatch(this.#channel, m)
          : undefined;
    const watch = params && this.#watches.get(canonicalJson(params));
    if (watch === undefined) {
      // Not a watch's list or error.
    } else if (m.handler === 'error') {
      const { code, message } = m.params;
      this.#status(watch, 'error', { code, message });
      if (isRefusal(code)) {
        // The store has dropped the watch already (client/apply.ts), and nothing re-sends it.
        this.#watches.delete(watch.key);
        this.#seeds.delete(watch.key);
      }
    } else if (watch.status !== 'ready') this.#status(watch, 'ready');
    this.#flush();
  }

  /** The connection is not open: what was ready is stale until its next `list`. */
  offline(): void {
    for (const watch of this.#watches.values()) if (watch.status === 'ready') this.#status(watch, 'stale');
    this.#flush();
  }

  /** Takes a reference to `params`; the first one starts the store's watch and sends `watch`. */
  #hold(key: string, params: Params): Watch {
    let watch = this.#watches.get(key);
    if (watch === undefined) {
      this.#watches.set(key, (watch = { key, params, refs: 0, status: 'loading' }));
      this.#store.addWatch(params);
      this.#write({ handler: 'watch', params });
    }
    watch.refs++;
    return watch;
  }

  /** Ends the watch: its scope leaves the store, and `stop` goes to the server (while closed it is only forgotten). */
  #end(params: Params): void {
    this.#guard(() => this.#store.stop(params));
    this.#write({ handler: 'stop', params });
  }

  #status(watch: Watch, status: LiveStatus, error?: LiveError): void {
    watch.status = status;
    watch.error = error;
    this.#touched.add(watch.key);
  }

  /** Tells every view what changed with this message; no records are looked at here. */
  #flush(): void {
    const touched = this.#touched;
    try {
      if (touched.size > 0) notifyAll(Array.from(this.views, (view) => () => view.update(touched)));
    } finally {
      touched.clear();
    }
  }
}
