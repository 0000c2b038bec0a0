/**
 * The Svelte recipe of docs/client.md "React, Vue, Svelte", as the page shows it below this comment (test/docs.test.ts
 * compares them, with this import path written as the package's); test/recipes.test.ts runs it against the mock.
 */
import { type Readable, readable } from 'svelte/store';
import type { Connection, Doc, Filter, LiveOptions, LiveQuery, LiveSnapshot } from '../../../client/index.js';

/** A live query as a Svelte store (`$nodes.data`, `$nodes.status`), with `setParams` to move it. */
export interface LiveStore<T> extends Readable<LiveSnapshot<T>> {
  setParams(next: Filter<T>): void;
}

/** Opened by the store's first subscriber (a component using `$store`), closed when the last one goes. */
export function liveStore<T extends Doc>(connection: Connection<T>, params: Filter<T> = {}, options?: LiveOptions): LiveStore<T> {
  let query: LiveQuery<T> | undefined;
  const { subscribe } = readable<LiveSnapshot<T>>(undefined, (set) => {
    const opened = connection.live(params, options);
    query = opened;
    set(opened.getSnapshot());
    const unsubscribe = opened.subscribe(() => set(opened.getSnapshot()));
    return () => {
      unsubscribe();
      opened.close();
      query = undefined;
    };
  });
  return {
    subscribe,
    setParams(next) {
      params = next;
      query?.setParams(next);
    },
  };
}
