/**
 * `hotKeep`: one instance that survives hot module replacement. A module that creates a client (or a mock server) at
 * module scope runs again on every edit under Vite's HMR; each run would open new sockets while the old ones stay
 * open (a leak against the real server) or ask for a mock URL the previous run still serves (the mock's "another
 * mock server already serves" error, which is there on purpose). Vite hands every run of a module the same
 * `import.meta.hot.data` object, so the first run's instance is kept there and returned to every later run
 * (docs/client.md "Hot reload").
 *
 * It registers no `dispose` or `prune` callback: Vite keeps one of each per module, so a library's would replace the
 * application's own (or be replaced by it, or by a second `hotKeep` in the same module). Generic, and it imports
 * nothing, so an app that does not use it ships none of it.
 */

/** What `hotKeep` needs of a module's hot context: Vite's `import.meta.hot`, whose `data` outlives the module's runs. */
export interface HotContext {
  readonly data: Record<string, unknown>;
}

/**
 * The instance kept under `key` in this module's hot data, made by `create()` on the module's first run. Without a
 * hot context (a production build, Node, tests) it is `create()` itself. The kept instance is reused as it is, so an
 * edit to what `create` does takes effect on the next full page reload.
 * @param hot `import.meta.hot`: `undefined` outside Vite's dev server, and then nothing is kept.
 * @param key Names the instance within this module (two instances need two keys; the same key returns the same one).
 * @param create Makes the instance; called once per page load.
 * @example
 * export const client = hotKeep(import.meta.hot, 'client', () => createClient({ url, channels: ['nodes'] }));
 */
export function hotKeep<T>(hot: HotContext | undefined, key: string, create: () => T): T {
  if (hot === undefined) return create();
  if (!Object.hasOwn(hot.data, key)) hot.data[key] = create();
  return hot.data[key] as T;
}
