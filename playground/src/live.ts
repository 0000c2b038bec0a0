/**
 * What every live pane shares: a `Lifetime` that owns the pane's live queries, subscriptions and timers (so a hot
 * update of the playground under `vite` closes them all and leaks nothing), and the status badge and "updating…" note
 * each pane shows from its live query's snapshot (docs/client.md "Live queries").
 */
import type { Connection, Filter, LiveOptions, LiveQuery, LiveSnapshot } from '../../client/index.js';
import { h, scheduler } from './dom.js';

/** Everything one run of the playground opened; `dispose()` ends it all (Vite's `dispose` hook calls it). */
export class Lifetime {
  #cleanups: Array<() => void> = [];
  #disposed = false;

  /** Runs `cleanup` on dispose (at once when disposed already). */
  add(cleanup: () => void): void {
    if (this.#disposed) cleanup();
    else this.#cleanups.push(cleanup);
  }

  /** A live query closed on dispose: `connection.live(params, options)`. */
  live<T extends object>(connection: Connection<T>, params: Filter<T>, options?: LiveOptions): LiveQuery<T> {
    const query = connection.live(params, options);
    this.add(() => query.close());
    return query;
  }

  /**
   * A live query that follows the selection: opened on the first params `follow` gets, then moved with `setParams`
   * (the previous rows stay, dimmed, until the new list), `render` subscribed to it. `follow(undefined)` — nothing
   * selected yet — does nothing; otherwise it renders.
   */
  following<T extends object>(connection: Connection<T>, render: () => void, options?: LiveOptions): Following<T> {
    let query: LiveQuery<T> | undefined;
    return {
      get query() {
        return query;
      },
      follow: (params) => {
        if (params === undefined) return;
        if (query) query.setParams(params);
        else {
          query = this.live(connection, params, options);
          this.subscribe(query, render);
        }
        render();
      },
    };
  }

  /** `query.subscribe(fn)`, unsubscribed on dispose. */
  subscribe(query: { subscribe(fn: () => void): () => void }, fn: () => void): void {
    this.add(query.subscribe(fn));
  }

  /** `setInterval`, cleared on dispose. */
  every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.add(() => clearInterval(timer));
  }

  /**
   * A render batched to one per frame (`scheduler`) that does nothing once disposed: a hot update's new run owns the
   * pane then, and a frame the old run had queued must not paint over it.
   */
  renderer(render: () => void): () => void {
    return scheduler(() => {
      if (!this.#disposed) render();
    });
  }

  dispose(): void {
    this.#disposed = true;
    const cleanups = this.#cleanups.splice(0).reverse();
    for (const cleanup of cleanups) cleanup();
  }
}

/** A pane's live query that follows the selection (`Lifetime.following`). */
export interface Following<T> {
  /** Undefined until the first params. */
  readonly query: LiveQuery<T> | undefined;
  follow(params: Filter<T> | undefined): void;
}

/** What a badge says for each status (`error` adds the server's code). */
const LABELS = { loading: 'loading', ready: 'ready', stale: 'stale', error: 'error' } as const;

/**
 * The status badge of a pane's live query: `<span data-testid="<pane>-status" data-status="ready">`. The e2e specs
 * read `data-status`; the text adds the error code, the title the error message.
 */
export function statusBadge(pane: string, snapshot: LiveSnapshot<unknown>): HTMLElement {
  const { status, error, via } = snapshot;
  // `via`: how the view last became ready — a full list, or the missed changes only (a server or mock with resume).
  const resumed = status === 'ready' && via === 'resume';
  return h(
    'span',
    {
      class: `live live-${status}`,
      'data-testid': `${pane}-status`,
      'data-status': status,
      'data-via': via ?? '',
      title: error ? `${error.code}: ${error.message}` : describe(snapshot),
    },
    error ? `${LABELS[status]} · ${error.code}` : resumed ? 'ready · resumed' : LABELS[status],
  );
}

/** The note a pane shows while `setParams` waits for the new list: the rows on screen are the previous params'. */
export function updatingNote(pane: string, snapshot: LiveSnapshot<unknown>): HTMLElement | null {
  return snapshot.isPrevious ? h('span', { class: 'updating', 'data-testid': `${pane}-updating` }, 'updating…') : null;
}

/**
 * Attributes for the element holding a pane's rows: dimmed (CSS) while previous or stale, and readable by e2e.
 * @param base The element's own classes.
 */
export function rowsAttrs(snapshot: LiveSnapshot<unknown>, base = ''): Record<string, string | false> {
  const state = snapshot.isPrevious ? 'previous' : snapshot.status === 'stale' ? 'stale' : '';
  return {
    class: `${base} ${state}`.trim(),
    'data-previous': snapshot.isPrevious ? 'true' : false,
    'data-status': snapshot.status,
  };
}

/** `rowsAttrs` on an element that stays (a list built once). */
export function markRows(el: HTMLElement, snapshot: LiveSnapshot<unknown>): void {
  el.classList.toggle('previous', snapshot.isPrevious);
  el.classList.toggle('stale', !snapshot.isPrevious && snapshot.status === 'stale');
  if (snapshot.isPrevious) el.setAttribute('data-previous', 'true');
  else el.removeAttribute('data-previous');
  el.setAttribute('data-status', snapshot.status);
}

function describe({ status }: LiveSnapshot<unknown>): string {
  if (status === 'loading') return 'waiting for the first list: no rows yet means "not known yet", not "none"';
  if (status === 'stale') return 'the connection is not open: the last rows stay until the next list';
  return 'the list arrived; every change keeps the rows current';
}
