/**
 * The fallback WebSocket where there is no global one (Node 20 and 21): `ws`, when it is installed. Browser
 * bundles get `./browser-websocket.ts` instead (package.json `browser`): a browser always has the global, so
 * they need not carry a second lookup of it.
 *
 * `ws` is an optional peer dependency (a browser app does not install it), so it is looked up with `import()`:
 * a static import would fail when this module is linked, and with it `monorail-ws/client` in every Node process
 * without `ws`, even one that injects the mock's WebSocket. Without `ws` the default is undefined, and
 * `resolveWebSocket` says what to install when a connection needs one.
 */

// Typed `unknown`, as socket.ts reads it: naming socket.ts's type here would make an import cycle.
async function load(): Promise<unknown> {
  try {
    return (await import('ws')).default;
  } catch (err) {
    // Only "ws is not installed" means "no fallback"; a broken install must not pass for a missing one.
    const { code, message } = err as { code?: unknown; message?: unknown };
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(message).includes("'ws'")) return undefined;
    throw err;
  }
}

const fallback: unknown = await load();
export default fallback;
