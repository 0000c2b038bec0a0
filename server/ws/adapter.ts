/**
 * The `ws` adapter: turns a `ws` WebSocket into the hub's minimal socket. A few lines on purpose; everything
 * protocol-related lives in the hub so the mock behaves the same.
 *
 * Memory is the point of its shape: an idle connection must cost little more than `ws`'s own objects. So there
 * are no listeners and no closures per connection (the socket, a `ServerWebSocket`, hands its events to the
 * adapter it points to), and the adapter is one object holding the guards' state too (`GuardedSocket`).
 */
import { WebSocket, type RawData } from 'ws';
import { CloseCode } from '../../protocol/index.js';
import { GuardedSocket, type GuardOptions } from './guard.js';
import type { ServerHeartbeat } from './heartbeat.js';
import type { SharedFrame } from '../hub/socket.js';
import type { FrameWriter } from './frames.js';

/**
 * The server's WebSocket class (`ws`'s `WebSocket` option): a `ws` WebSocket that hands its own events to its
 * adapter. `ws` tells a socket everything through `emit`; an admitted socket's `message`, `pong`, `close` and
 * `error` go to the adapter there, before any listener, so an idle connection carries no listener of ours (each
 * one costs a slot in the socket's event table, two an array). Listeners added with `on` still run as usual.
 */
export class ServerWebSocket extends WebSocket {
  /** The hub's socket of this connection, once admitted (a refused connection never gets one). */
  hubSocket: WsHubSocket | undefined = undefined;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const socket = this.hubSocket;
    if (socket !== undefined) {
      switch (event) {
        case 'message':
          socket.message(args[0] as RawData, args[1] as boolean);
          break;
        case 'pong':
          socket.pong();
          break;
        case 'close': {
          // ws's own listener (the server's client set) first, as when the adapter listened after it.
          const listened = super.emit(event, ...args);
          socket.closed(args[0] as number, args[1] as Buffer);
          return listened;
        }
        case 'error':
          socket.error(args[0] as Error);
          // Handled: without a listener of its own, an 'error' event must not throw.
          return this.listenerCount('error') > 0 ? super.emit(event, ...args) : true;
      }
    }
    return super.emit(event, ...args);
  }
}

/** What every connection of a server shares. */
export interface WsSocketOptions extends GuardOptions {
  /** Frames shared by many connections are framed once. */
  readonly frames?: FrameWriter;
  /** Told of every message and pong, and of the close (the socket reports them: no listener of its own). */
  readonly heartbeat?: ServerHeartbeat;
  /** Socket errors (a reset, a protocol violation); `ws` closes the socket after reporting one. */
  onError?(error: Error): void;
}

/** The parts of a `ws` 8 WebSocket read for the peer address. */
interface WsInternals {
  readonly _socket?: { readonly remoteAddress?: string } | null;
}

/** Wraps a `ws` socket (made by a WebSocketServer with `WebSocket: ServerWebSocket`) for the hub. */
export function wsSocket(ws: ServerWebSocket, options: WsSocketOptions): WsHubSocket {
  const socket = new WsHubSocket(ws, options);
  ws.hubSocket = socket;
  return socket;
}

/** A `ws` socket as the hub sees it, with the rate limit and the slow-consumer policy. */
export class WsHubSocket extends GuardedSocket<WsSocketOptions> {
  /** Whether shared frames may go straight to the TCP socket (`FrameWriter.canWrite`, decided once). */
  private readonly direct: boolean;
  /**
   * @internal The number of the unfinished-message sweep that first found a message in progress
   * (`fragment-timeout.ts`), -1 when none: a complete message clears it.
   */
  unfinishedSince = -1;

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
    this.unfinishedSince = -1;
    this.options.heartbeat?.answered(this.ws);
    if (!this.admitMessage()) return;
    const text = isBinary
      ? ''
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
    try {
      this.received(text, isBinary);
    } catch (err) {
      // Called from ws's emit: an exception let through would unwind into ws's receiver and end the process. The
      // hub catches its own; this is the last line for whatever gets past it (a logger that throws, say).
      try {
        this.close(CloseCode.InternalError, 'internal error');
        this.options.logger.error('a frame could not be handled, closing the connection', {
          err,
          code: CloseCode.InternalError,
          remoteAddress: this.remoteAddress,
        });
      } catch {
        // Nowhere left to report to, and nothing may reach ws.
      }
    }
  }

  /** @internal A pong (the answer to the heartbeat's ping). */
  pong(): void {
    this.options.heartbeat?.answered(this.ws);
  }

  /** @internal A socket error; the close follows. */
  error(error: Error): void {
    this.options.onError?.(error);
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
    else this.write(frame.text);
  }
}
