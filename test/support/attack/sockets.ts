/**
 * Raw sockets for the attack suite, written against RFC 6455 directly: a TCP connection that never sends a byte
 * (or stops halfway through its headers), and an upgraded connection that writes frames built by hand (a first
 * fragment whose continuation never comes) and records every frame the server sends back. `raw-tcp.ts` has the
 * client that stops reading; these are the other shapes of an unfinished conversation.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/**
 * A client frame, masked as RFC 6455 §5.3 requires of clients. `fin: false` makes it the first (or a middle)
 * fragment of a message.
 */
export function clientFrame(opcode: number, payload: Buffer, { fin = true }: { fin?: boolean } = {}): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes);
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = 0x80 | (n < 126 ? n : n < 65536 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(n, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(n), 2);
  const mask = randomBytes(4);
  const masked = Buffer.alloc(n);
  for (let i = 0; i < n; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([header, mask, masked]);
}

/** One frame from the server (servers do not mask). */
export interface ServerFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** The close code of a close frame (1005 when it carries none, as RFC 6455 §7.1.5 says). */
export function closeCodeOf(frame: ServerFrame): number {
  return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
}

/** Splits the bytes a server sends into frames, in whatever chunks they arrive. */
class ServerFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (frame: ServerFrame) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const b = this.buffered;
      if (b.length < 2) return;
      const first = b.readUInt8(0);
      const short = b.readUInt8(1) & 0x7f;
      const offset = short < 126 ? 2 : short === 126 ? 4 : 10;
      if (b.length < offset) return;
      const length = short < 126 ? short : short === 126 ? b.readUInt16BE(2) : Number(b.readBigUInt64BE(2));
      if (b.length < offset + length) return;
      this.buffered = b.subarray(offset + length);
      this.onFrame({ fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload: b.subarray(offset, offset + length) });
    }
  }
}

/** A TCP connection to the server, watched until it ends. */
export interface SilentSocket {
  readonly socket: Socket;
  /** Resolves when the connection ends, whichever side ended it (a reset included). */
  readonly ended: Promise<void>;
  isEnded(): boolean;
}

/** Opens a TCP connection to the host and port of `url` and sends nothing. */
export async function silentSocket(url: string): Promise<SilentSocket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
  let done = false;
  // A reset by the server is one of the outcomes looked for, not an error; 'close' follows it.
  socket.on('error', () => undefined);
  // Whatever the server answers (a 408, say) is read and dropped: left unread, it would hold back the end of the
  // stream, and with it 'close'.
  socket.resume();
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve())).then(() => {
    done = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, ended, isEnded: () => done };
}

/** An upgraded connection that records every frame the server sends and writes the bytes it is given. */
export interface FrameClient extends SilentSocket {
  /** Every frame received so far. */
  readonly frames: ServerFrame[];
  /** Writes raw bytes (frames built with `clientFrame`). */
  write(bytes: Buffer): void;
}

/** Opens `url` (its path and query), completes the handshake (101, else it rejects) and records the server's frames. */
export async function frameClient(url: string, headers: Record<string, string> = {}): Promise<FrameClient> {
  const raw = await silentSocket(url);
  const { host, pathname, search } = new URL(url);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  raw.socket.write(
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  const frames: ServerFrame[] = [];
  const reader = new ServerFrameReader((frame) => frames.push(frame));
  let received = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onHeaders = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      raw.socket.off('data', onHeaders);
      const status = received.subarray(0, received.indexOf('\r\n')).toString();
      if (!status.includes(' 101 ')) return reject(new Error(`handshake refused: ${status}`));
      reader.push(received.subarray(end + 4));
      raw.socket.on('data', (data: Buffer) => reader.push(data));
      resolve();
    };
    raw.socket.on('data', onHeaders);
    void raw.ended.then(() => reject(new Error('closed during the handshake')));
  });
  return { ...raw, frames, write: (bytes) => raw.socket.write(bytes) };
}
