/**
 * The Vue recipe of docs/client.md "React, Vue, Svelte", as the page shows it below this comment (test/docs.test.ts
 * compares them, with this import path written as the package's); test/recipes.test.ts runs it against the mock.
 */
import { type MaybeRefOrGetter, onScopeDispose, type ShallowRef, shallowRef, toValue, watch } from 'vue';
import type { Connection, Doc, Filter, LiveOptions, LiveSnapshot } from '../../../client/index.js';

/**
 * A live query as a read-only Vue ref, closed with the component (or effect scope) that made it. `params` may be a
 * ref, a reactive object or a getter: a change moves the query, and the previous records stay until theirs arrive.
 */
export function useLive<T extends Doc>(
  connection: Connection<T>,
  params: MaybeRefOrGetter<Filter<T>> = {},
  options?: LiveOptions,
): Readonly<ShallowRef<LiveSnapshot<T>>> {
  // As JSON text: reads every nested field, so a reactive object is tracked deeply, and the query gets a plain copy
  // (never the reactive object, which would change under it).
  const json = () => JSON.stringify(toValue(params));
  const query = connection.live(JSON.parse(json()), options);
  const snapshot = shallowRef(query.getSnapshot());
  const unsubscribe = query.subscribe(() => {
    snapshot.value = query.getSnapshot();
  });
  watch(json, (next) => query.setParams(JSON.parse(next)));
  onScopeDispose(() => {
    unsubscribe();
    query.close();
  });
  return snapshot;
}
