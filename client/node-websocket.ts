/**
 * The fallback WebSocket where there is no global one (Node 20 and 21): `ws`, through isomorphic-ws. Browser
 * bundles get `./browser-websocket.ts` instead (package.json `browser`): a browser always has the global, so
 * they need not carry a second lookup of it.
 */
export { default } from 'isomorphic-ws';
