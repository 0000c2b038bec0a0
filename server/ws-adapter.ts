/**
 * The `ws` adapter: turns a `ws` WebSocket into the hub's minimal socket. A few lines on purpose; everything
 * protocol-related lives in the hub so the mock behaves the same.
 */
import type { WebSocket } from 'ws';
import type { HubSocket } from './hub-connection.js';

/** Wraps a `ws` socket for the hub. */
export function wsSocket(ws: WebSocket): HubSocket {
  return {
    send(data) {
      if (ws.readyState === ws.OPEN) ws.send(data);
    },
    close(code, reason) {
      ws.close(code, reason);
    },
    onMessage(handler) {
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? '' : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
        handler(text, isBinary);
      });
    },
    onClose(handler) {
      ws.on('close', (code, reason) => handler(code, reason.toString('utf8')));
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}
