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
 * The parts: `liveQueries()` (one per connection) counts the references to each watched params, so identical queries
 * share one server watch and the seed API's `watch(P)` is one reference among them; a `Watch` is the status of one
 * watched params, shared by its views; a view (`LiveQuery`) is what the application holds.
 */
import type { ErrorCode } from '../protocol/codes.js';
import type { Filter } from '../protocol/filter.js';
import type { ClientMessage, Params } from '../protocol/messages.js';
import { canonicalJson } from '../protocol/params.js';
import { isRefusal, type WatchAnswers } from './apply.js';
import { isValidParams } from './parse.js';
import { notifyAll } from './store.js';

/**
 * Where a live query is: `loading` until its first `list`; `ready`; `stale` while the connection is not open after
 * having been ready, and after a reconnect until its new `list` (the last records stay); `error` when the server
 * refused its watch (or its params were refused before any round trip).
 */
export type LiveStatus = 'loading' | 'ready' | 'stale' | 'error';

/**
 * Why a live query is in status `error`: the server's code and message (`bad-params` when refused locally). An error
 * from the server is its `error` frame's params, so it also carries the `request` it answers.
 */
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
  /**
   * How it became `ready` in the current session: from a `list` (a snapshot), or from `resume` — after a reconnect
   * the server replayed only what it missed (a server with `"resume"`). Undefined before that.
   */
  readonly via: 'list' | 'resume' | undefined;
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
  /** The params asked for last (while `isPrevious`, the ones being loaded): the filter given, typed as `live` took it. */
  readonly params: Filter<T>;
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
   * then both change in one step. Canonically equal params are a no-op. A `Filter<T>`, as `connection.live` takes.
   * @throws TypeError when the query is closed.
   */
  setParams(next: Filter<T>): void;
  /** Ends the query (idempotent); the server watch is stopped when nothing else holds its params. */
  close(): void;
}

/** What live queries need of the channel's `Store`. */
export interface LiveStore<T> {
  track(): string[];
  held(scope: string): T[];
  addWatch(params: Params): boolean;
  stop(params: Params): void;
}

/** One watched params: its status, shared by every live query showing it. */
interface Watch {
  /** The canonical params (the store's scope); `''` for params refused locally, which are never registered. */
  readonly key: string;
  readonly params: Params;
  /** Views showing it or waiting for it, plus one for the seed API's `watch`. */
  refs: number;
  /** Whether the seed API's `watch` holds it (one reference, however often it was called). */
  seed?: boolean;
  status: LiveStatus;
  error?: LiveError | undefined;
  /**
   * How it became ready in this session. Set, the connection's last position holds for it (PROTOCOL.md "Positions
   * and resume"), and goes with the watch when the connection opens again.
   */
  via?: 'list' | 'resume' | undefined;
}

/**
 * The live queries of one connection and the references to its watches (`Connection` holds one; client/apply.ts
 * tells it what the server answered). A watched params is held once per view showing it or waiting for it, and
 * once by the seed API's `watch(P)`; the store's watch (its scope) and the server's begin with the first reference
 * and end with the last, so an application's `watch`/`stop` and a live query on the same params never end each
 * other's watch.
 */
export interface LiveQueries<T> extends WatchAnswers {
  /** A new live query (`connection.live`). */
  open(params: Params, options?: LiveOptions): LiveQuery<T>;
  /** The seed API's `watch(P)`: one reference, however often it is called. */
  watch(params: Params): void;
  /** The seed API's `stop(P)`: releases the seed's reference only; params nothing holds are stopped as before. */
  stop(params: Params): void;
  /** The connection is not open: what was ready is stale until its next `list`. */
  offline(): void;
  /** Tells every view what changed since the last flush (after every message); no records are looked at here. */
  flush(): void;
  /**
   * The connection opened: sends every watch again, each with the last position if it was answered since the last
   * open (the store's active watches are these).
   */
  resend(): void;
}

/**
 * The live queries of a connection.
 * @param write Sends a frame now if the socket is open; returns false otherwise (the open re-sends the watches).
 * @param guard Runs a store update, reporting what its subscribers throw.
 */
export function liveQueries<T>(
  store: LiveStore<T>,
  write: (message: ClientMessage) => boolean,
  guard: (update: () => void) => void,
): LiveQueries<T> {
  /** Every watched params, by canonical params. */
  const watches = new Map<string, Watch>();
  /** Each open view's `update`. */
  const views = new Set<() => void>();
  /** The scopes whose records (the store says) or status (we say) changed since the last flush. */
  const touched = store.track();
  /**
   * The last position the server gave on the channel: every watch answered since the last open is there (frames
   * arrive in order, so what holds for one holds for all; PROTOCOL.md "Positions and resume").
   */
  let last: string | undefined;

  /** Takes a reference to `params`; the first one starts the store's watch and sends `watch`. */
  const hold = (key: string, params: Params): Watch => {
    let watch = watches.get(key);
    if (!watch) {
      watches.set(key, (watch = { key, params, refs: 0, status: 'loading' }));
      store.addWatch(params);
      write({ handler: 'watch', params });
    }
    watch.refs++;
    return watch;
  };

  /** Ends the watch: its scope leaves the store, and `stop` goes to the server (while closed it is only forgotten). */
  const end = (params: Params): void => {
    guard(() => store.stop(params));
    write({ handler: 'stop', params });
  };

  /** Drops a reference; the last one ends the watch (not a refused one, which has ended already). */
  const release = (watch: Watch): void => {
    if (--watch.refs > 0 || watches.get(watch.key) !== watch) return;
    watches.delete(watch.key);
    end(watch.params);
  };

  /**
   * One more reference to the watch of `params`. Params outside the allowlist get a refused watch of their own, at
   * once: the check is client/parse.ts's, the lean twin of `validateParams` (protocol/params.ts) that the client
   * carries anyway for the params servers echo. Its message names no key; the server's would.
   */
  const acquire = (params: Params): Watch =>
    isValidParams(params)
      ? hold(canonicalJson(params), params)
      : { key: '', params, refs: 0, status: 'error', error: { code: 'bad-params', message: 'params outside the allowlist' } };

  /**
   * A live query as the application holds it: shows one watch, and waits for another after `setParams`. Its
   * methods do not use `this`, so `useSyncExternalStore(query.subscribe, query.getSnapshot)` works as written.
   * @param limit The most records shown, the newest.
   */
  const view = (params: Params, limit: number): LiveQuery<T> => {
    let shown = acquire(params);
    /** What `setParams` asked for, while its `list` has not arrived. */
    let next: Watch | undefined;
    let snapshot: LiveSnapshot<T> | undefined;
    /** Undefined once closed. */
    let listeners: Set<() => void> | undefined = new Set();

    const open = (call: string): Set<() => void> => {
      if (!listeners) throw new TypeError(`monorail-ws: ${call}() on a closed live query`);
      return listeners;
    };
    const changed = (): void => {
      snapshot = undefined;
      notifyAll(listeners ?? []);
    };
    /**
     * Shows the awaited watch instead, in one step, once it has something to show (its `list`, or an error), or at
     * once when what is shown has nothing worth keeping on screen (still loading, or refused).
     */
    const settle = (): boolean => {
      if (!next || (next.status === 'loading' && (shown.status === 'ready' || shown.status === 'stale'))) return false;
      release(shown);
      shown = next;
      next = undefined;
      return true;
    };
    /** After a message: `touched` holds what changed (records or status of a watch, by key). */
    const update = (): void => {
      // What the awaited watch does before its `list` is not on screen.
      if (settle() || touched.includes(shown.key)) changed();
    };
    views.add(update);

    return {
      // A typed filter is the JSON params it spells (`Filter<T>` only narrows what compiles): the casts are types only.
      get params() {
        return (next ?? shown).params as Filter<T>;
      },
      get closed() {
        return !listeners;
      },
      // Built when read: a burst of changes between two renders costs one array.
      getSnapshot: () =>
        (snapshot ??= {
          data: Object.freeze(store.held(shown.key).slice(-limit)),
          status: shown.status,
          error: shown.error,
          isPrevious: !!next,
          via: shown.via,
        }),
      subscribe: (fn) => {
        open('subscribe').add(fn);
        return () => {
          // After close() the listeners are gone already.
          listeners?.delete(fn);
        };
      },
      setParams: (params) => {
        open('setParams');
        // Acquired before anything is released, so that a watch asked for again is never stopped in between. The
        // view holds one reference to what it shows and one to what it waits for.
        const wanted = acquire(params as Params);
        const pending = next;
        if (pending) release(pending);
        if (wanted === shown) release(wanted);
        next = wanted === shown ? undefined : wanted;
        if (wanted === (pending ?? shown)) return;
        settle();
        changed();
      },
      close: () => {
        if (!listeners) return;
        listeners = undefined;
        views.delete(update);
        release(shown);
        if (next) release(next);
      },
    };
  };

  return {
    // Unbounded by default: what the store keeps (an append-only store, its last `historyLimit` entries) is the bound.
    open: (params, options) => view(params, options?.limit ?? Infinity),
    watch(params) {
      const key = canonicalJson(params);
      if (!watches.get(key)?.seed) hold(key, params).seed = true;
    },
    stop(params) {
      const key = canonicalJson(params);
      const watch = watches.get(key);
      if (watch?.seed) {
        watch.seed = false;
        release(watch);
      } else if (!watch) end(params);
    },
    answered(params, error, resumed) {
      const watch = watches.get(canonicalJson(params));
      if (!watch || (!error && watch.status === 'ready')) return;
      watch.status = error ? 'error' : 'ready';
      watch.error = error;
      if (!error) watch.via = resumed ? 'resume' : 'list';
      touched.push(watch.key);
      // A refusal ends the watch: the store has dropped it already (client/apply.ts), and nothing re-sends it.
      if (error && isRefusal(error.code)) watches.delete(watch.key);
    },
    offline() {
      for (const watch of watches.values()) {
        if (watch.status === 'ready') {
          watch.status = 'stale';
          touched.push(watch.key);
        }
      }
      this.flush();
    },
    moved(position) {
      last = position;
    },
    resend() {
      for (const watch of watches.values()) {
        write({ handler: 'watch', params: watch.params, position: watch.via && last });
        // Sent once: until its answer in the new session, the watch has no position to come back with.
        watch.via = undefined;
      }
    },
    flush() {
      try {
        if (touched.length > 0) notifyAll(views);
      } finally {
        touched.length = 0;
      }
    },
  };
}
