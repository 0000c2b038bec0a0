/**
 * What bundlers put in place of `./node-websocket.ts` for browsers (package.json `browser`): nothing, because a
 * browser's `globalThis.WebSocket` is always there and `resolveWebSocket` takes it first.
 */
import type { WebSocketConstructor } from './socket.js';

const none: WebSocketConstructor | undefined = undefined;
export default none;
