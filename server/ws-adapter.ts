/**
 * The `ws` adapter: turns a `ws` WebSocket into the hub's minimal socket. A few lines on purpose; everything
 * protocol-related lives in the hub so the mock behaves the same.
 */
import type { WebSocket } from 'ws';
import type { HubSocket } from './hub-connection.js';
import type { FrameSender, FrameWriter } from './ws-frames.js';

/**
 * Wraps a `ws` socket for the hub; with a `FrameWriter`, frames shared by many connections are framed once.
 * A class, so the methods live once on the prototype and not as closures on every connection.
 */
export function wsSocket(ws: WebSocket, writer?: FrameWriter): HubSocket {
  return new WsHubSocket(ws, writer);
}

class WsHubSocket implements HubSocket {
  readonly sendFrame?: FrameSender;

  constructor(
    private readonly ws: WebSocket,
    writer?: FrameWriter,
  ) {
    if (writer) this.sendFrame = writer.sender(ws);
  }

  send(data: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data);
  }

  close(code: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      handler(text, isBinary);
    });
  }

  onClose(handler: (code: number, reason: string) => void): void {
    this.ws.on('close', (code, reason) => handler(code, reason.toString('utf8')));
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
}
