/**
 * Fan-out at the byte level. The WebSocket frame of a server message is the same bytes for every client (servers
 * never mask), so a change going to a thousand clients is framed once and those bytes are written to every TCP
 * socket, instead of `ws.send` measuring, encoding and framing the same text a thousand times.
 *
 * And the system call, which is most of the cost of a small frame: every socket written to is corked until the
 * end of the current tick (`process.nextTick`), so the frames a burst of changes sends to one client in one
 * event-loop turn leave in one `writev`. Nothing waits for a later turn; a single change costs what it did.
 * A socket holding more than `FLUSH_BYTES` is flushed at once: corked bytes count in `bufferedAmount` although
 * the kernel would mostly have taken them, so the slow-consumer policy must never see more than that much extra.
 *
 * Writing past `ws` is safe only while `ws` itself would write at once, in order: the socket is open, no
 * extension (permessage-deflate) transforms frames, and its sender has nothing queued (it queues only while it
 * compresses or reads a Blob). Otherwise the frame goes through `ws.send`, which keeps the order. The bytes
 * written count in `ws.bufferedAmount` like any other (it reads the socket's writable length), so the
 * slow-consumer policy sees them.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { SharedFrame } from '../hub/socket.js';

/** The unmasked, final text frame carrying `text`, exactly as `ws` frames `send(text)` on a server socket. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, 'utf8');
  return frame;
}

/** The parts of a `ws` 8 WebSocket this module reads; checked at run time, never trusted blindly. */
interface WsInternals {
  readonly _socket?: Duplex | null;
  readonly _sender?: { readonly _state?: unknown; readonly _queue?: unknown } | null;
}

/** Bytes a corked socket may hold before it is flushed within the tick (see the module comment). */
export const FLUSH_BYTES = 64 * 1024;

/** `ws`'s sender state while it writes frames as they come (ws 8: `DEFAULT`). */
const SENDER_IDLE = 0;

/** Writes shared frames to `ws` sockets (one per WebSocket server: no module state). */
export class FrameWriter {
  private readonly corked = new Set<Duplex>();
  private readonly flush = (): void => {
    for (const socket of this.corked) {
      try {
        socket.uncork();
      } catch {
        // A socket failing to write reports it through its own 'error' event; the others must still be flushed.
      }
    }
    this.corked.clear();
  };

  /**
   * Whether shared frames may be written straight to the TCP socket of this open connection: no extension, and
   * `ws` internals as expected. Decided once per connection; `send` checks the sender's queue on every frame.
   */
  canWrite(ws: WebSocket): boolean {
    const { _socket: socket, _sender: sender } = ws as unknown as WsInternals;
    return ws.extensions === '' && !!socket && !!sender && typeof sender._state === 'number' && Array.isArray(sender._queue);
  }

  /**
   * Sends a shared frame on `ws`: its prebuilt bytes straight to the TCP socket while `ws` would write at once
   * (`direct`: what `canWrite(ws)` said), else `ws.send`. A method, not a closure per connection.
   */
  send(ws: WebSocket, frame: SharedFrame, direct: boolean): void {
    if (ws.readyState !== 1) return;
    if (!direct) {
      ws.send(frame.text);
      return;
    }
    const { _socket: socket, _sender: sender } = ws as unknown as Required<WsInternals>;
    // ws queues frames only while it compresses or reads a Blob: then this one must queue behind them.
    if (sender!._state !== SENDER_IDLE || (sender!._queue as unknown[]).length !== 0) ws.send(frame.text);
    else this.write(socket!, frame);
  }

  private write(socket: Duplex, frame: SharedFrame): void {
    if (!this.corked.has(socket)) {
      if (this.corked.size === 0) process.nextTick(this.flush);
      socket.cork();
      this.corked.add(socket);
    }
    socket.write((frame.encoded ??= textFrame(frame.text)) as Buffer);
    if (socket.writableLength > FLUSH_BYTES) {
      socket.uncork();
      socket.cork();
    }
  }
}
