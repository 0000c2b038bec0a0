/**
 * The `ws` adapter: turns a `ws` WebSocket into the hub's minimal socket. A few lines on purpose; everything
 * protocol-related lives in the hub so the mock behaves the same.
 */
import type { WebSocket } from 'ws';
import type { HubSocket } from './hub-connection.js';
import type { FrameWriter } from './ws-frames.js';

/** Wraps a `ws` socket for the hub; with a `FrameWriter`, frames shared by many connections are framed once. */
export function wsSocket(ws: WebSocket, writer?: FrameWriter): HubSocket {
  const sendFrame = writer?.sender(ws);
  return {
    send(data) {
      if (ws.readyState === ws.OPEN) ws.send(data);
    },
    ...(sendFrame ? { sendFrame } : {}),
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
