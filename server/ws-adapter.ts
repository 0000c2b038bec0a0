/**
 * The `ws` adapter: turns a `ws` WebSocket into the hub's minimal socket. A few lines on purpose; everything
 * protocol-related lives in the hub so the mock behaves the same.
 *
 * Memory is the point of its shape: an idle connection must cost little more than `ws`'s own objects. So the
 * listeners are module functions shared by every connection (`this` is the socket, which finds its adapter in a
 * field of `ServerWebSocket`), and the adapter is one object holding the guards' state too (`GuardedSocket`).
 */
import { WebSocket, type RawData } from 'ws';
import { GuardedSocket, type GuardOptions } from './guard.js';
import type { ServerHeartbeat } from './heartbeat.js';
import type { SharedFrame } from './hub-connection.js';
import type { FrameWriter } from './ws-frames.js';

/**
 * The server's WebSocket class (`ws`'s `WebSocket` option): a `ws` WebSocket with a field for its adapter, set in
 * the constructor like every other field (one hidden class), so shared listeners reach the adapter through `this`.
 */
export class ServerWebSocket extends WebSocket {
  /** The hub's socket of this connection, once admitted (a refused connection never gets one). */
  hubSocket: WsHubSocket | undefined = undefined;
}

/** What every connection of a server shares. */
export interface WsSocketOptions extends GuardOptions {
  /** Frames shared by many connections are framed once. */
  readonly frames?: FrameWriter;
  /** Told of every message and of the close (the socket's own listeners report them: one listener per event). */
  readonly heartbeat?: ServerHeartbeat;
}

/** The parts of a `ws` 8 WebSocket read for the peer address. */
interface WsInternals {
  readonly _socket?: { readonly remoteAddress?: string } | null;
}

/** Wraps a `ws` socket (made by a WebSocketServer with `WebSocket: ServerWebSocket`) for the hub. */
export function wsSocket(ws: ServerWebSocket, options: WsSocketOptions): WsHubSocket {
  const socket = new WsHubSocket(ws, options);
  ws.hubSocket = socket;
  ws.on('message', onWsMessage);
  ws.on('close', onWsClose);
  return socket;
}

function onWsMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as ServerWebSocket).hubSocket?.message(data, isBinary);
}

function onWsClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as ServerWebSocket).hubSocket?.closed(code, reason);
}

/** A `ws` socket as the hub sees it, with the rate limit and the slow-consumer policy. */
export class WsHubSocket extends GuardedSocket<WsSocketOptions> {
  /** Whether shared frames may go straight to the TCP socket (`FrameWriter.canWrite`, decided once). */
  private readonly direct: boolean;

  constructor(
    private readonly ws: ServerWebSocket,
    options: WsSocketOptions,
  ) {
    super(options);
    this.direct = options.frames?.canWrite(ws) ?? false;
  }

  close(code: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Read from the TCP socket when asked (logs), not kept: Node caches it on the socket once read. */
  get remoteAddress(): string | undefined {
    return (this.ws as unknown as WsInternals)._socket?.remoteAddress;
  }

  /** @internal A frame from the client. */
  message(data: RawData, isBinary: boolean): void {
    this.options.heartbeat?.answered(this.ws);
    if (!this.admitMessage()) return;
    const text = isBinary
      ? ''
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
    this.received(text, isBinary);
  }

  /** @internal The socket closed. */
  closed(code: number, reason: Buffer): void {
    this.options.heartbeat?.untrack(this.ws);
    this.ended(code, reason.toString('utf8'));
  }

  protected write(data: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  protected writeFrame(frame: SharedFrame): void {
    const frames = this.options.frames;
    if (frames) frames.send(this.ws, frame, this.direct);
    else if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame.text);
  }
}
