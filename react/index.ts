/**
 * monorail-ws/react: React bindings for the client SDK (issue 13; docs/client.md "React, Vue, Svelte").
 *
 * - `MonorailProvider` + `useClient()` / `useChannel(name)`: one `createClient` shared by every component below it.
 * - `useLive(connection, params, options?)`: a live query as `{data, status, error, isPrevious}`.
 * - `useConnectionState(connection)`: `'connecting' | 'open' | 'reconnecting' | 'closed'`.
 *
 * Every subscription goes through `useSyncExternalStore`, and every live query is opened in a layout effect and
 * closed by its cleanup, never during render: a render React throws away (StrictMode's second render, an abandoned
 * transition) opens nothing, and StrictMode's second mount closes the first mount's query before it opens its own,
 * so nothing is left behind. Layout effects rather than passive ones, so that a query opened or moved to new params
 * is what the first paint shows (a query sharing a watch that is already ready shows its records at once).
 * Written with `createElement`, not JSX, so the build needs no JSX settings; React is an optional peer dependency of
 * the package, needed only by this entry point. Its size is bounded (react/size.test.ts): every byte here is one
 * each app pays.
 */
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useLayoutEffect,
  useState,
  useSyncExternalStore,
} from 'react';
import type { Client } from '../client/client.js';
import type { Connection } from '../client/connection.js';
import type { ConnectionState } from '../client/events.js';
import type { LiveOptions, LiveQuery, LiveSnapshot } from '../client/live.js';
import type { Filter } from '../protocol/filter.js';
import type { Doc } from '../protocol/messages.js';
import { canonicalJson } from '../protocol/params.js';

/** A `createClient` result, whatever its channels. */
// biome-ignore lint/suspicious/noExplicitAny: the provider holds any client; `useClient<C>()` gives it its type back.
type AnyClient = Client<any>;

const ClientContext = createContext<AnyClient | null>(null);

/** Props of `MonorailProvider`. */
export interface MonorailProviderProps {
  /** The client every component below uses (`createClient(...)`, made once, outside render). */
  client: AnyClient;
  children?: ReactNode;
}

/**
 * Shares one client with every component below it (`useClient`, `useChannel`). It neither connects nor disconnects
 * the client: whoever created it owns its life.
 */
export function MonorailProvider({ client, children }: MonorailProviderProps): ReactNode {
  return createElement(ClientContext.Provider, { value: client }, children);
}

/**
 * The client of the nearest `MonorailProvider`.
 * @throws Error when no `MonorailProvider` is above the component.
 */
export function useClient<C extends AnyClient = Client>(): C {
  const client = useContext(ClientContext);
  if (!client) throw Error('monorail-ws: useClient() outside <MonorailProvider>');
  return client as C;
}

/**
 * One channel's connection of the provider's client.
 * @throws Error when there is no `MonorailProvider`, or its client has no such channel.
 */
export function useChannel<T extends object = Doc>(name: string): Connection<T> {
  return useClient().channel(name) as Connection<T>;
}

/** The connection's state, re-rendering on every change. */
export function useConnectionState<T extends object>(connection: Connection<T>): ConnectionState {
  const subscribe = useCallback((fn: () => void) => connection.events.on('state', fn), [connection]);
  const state = () => connection.state;
  return useSyncExternalStore(subscribe, state, state);
}

/** What `useLive` shows before its query is open. `error` is left out (it reads as undefined): bytes, see above. */
const LOADING = { data: Object.freeze([]), status: 'loading', isPrevious: false } as LiveSnapshot<never>;

/**
 * A live query on `connection`: only the records matching `params`, with their status. `params` are compared by
 * value (`canonicalJson`), so an object literal written inline does not open a new query on every render; new params
 * keep the previous records on screen (`isPrevious`) until theirs arrive, then swap in one step. The query closes
 * when the component unmounts (the server watch stops unless something else holds the same params).
 * @param connection A channel's connection: `useChannel('nodes')`, `client.channels.nodes`.
 * @param params The filter (docs/client.md "Reading data"). @default {}
 * @param options `limit`: on append-only channels, the most entries kept.
 */
export function useLive<T extends object = Doc>(connection: Connection<T>, params: Filter<T> = {}, options?: LiveOptions): LiveSnapshot<T> {
  const key = canonicalJson(params);
  // The query and the connection it belongs to: until the effect has opened the query of a new connection, the
  // previous connection's query must not be shown.
  const [held, setHeld] = useState<[Connection<T>, LiveQuery<T>]>();
  const query = held?.[0] === connection && held[1];
  // Rendered with params the query does not show yet (the layout effect below passes them on before the paint): the
  // records are the previous params', and this render says so too.
  const behind = query && canonicalJson(query.params) !== key;

  // Opened per connection (and limit); new params go to setParams below, so the query's records stay on screen.
  // Params and options are read when the query opens: `key` and `limit` stand for them.
  // biome-ignore lint/correctness/useExhaustiveDependencies: compared by value, as said above.
  useLayoutEffect(() => {
    const opened = connection.live(params, options);
    setHeld([connection, opened]);
    return () => opened.close();
  }, [connection, options?.limit]);

  // A query closed by the cleanup above (a new limit) is not asked: it is being replaced, with the current params.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for `params`, compared by value.
  useLayoutEffect(() => {
    if (behind && !query.closed) query.setParams(params);
  }, [query, key]);

  // The query subscribed to is always open: it closes only in the cleanup that also replaces it in `held`.
  const subscribe = useCallback((fn: () => void) => (query ? query.subscribe(fn) : () => {}), [query]);
  const read = (): LiveSnapshot<T> => (query ? query.getSnapshot() : LOADING);
  const snapshot = useSyncExternalStore(subscribe, read, read);
  return behind ? { ...snapshot, isPrevious: true } : snapshot;
}
