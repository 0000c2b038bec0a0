/**
 * WebSocket clients at the TCP level, for what a WebSocket library will not do on purpose, written against RFC 6455
 * directly: a connection that never sends a byte (or stops halfway through its headers), an upgraded connection that
 * writes frames built by hand (a first fragment whose continuation never comes) and records every frame the server
 * sends back, and a connection that stops reading after its handshake (a frozen tab, a stalled network) or is
 * dropped without a close frame.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/**
 * A client frame, masked as RFC 6455 §5.3 requires of clients. `fin: false` makes it the first (or a middle)
 * fragment of a message.
 */
export function maskedFrame(opcode: number, payload: Buffer, { fin = true }: { fin?: boolean } = {}): Buffer {
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

/** A client text frame (FIN, masked). */
export function maskedTextFrame(text: string): Buffer {
  return maskedFrame(Opcode.Text, Buffer.from(text, 'utf8'));
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

/** The request line and headers of a WebSocket upgrade to `url`, with the blank line that ends them. */
export function upgradeRequest(url: string, headers: Record<string, string> = {}): string {
  const { host, pathname, search } = new URL(url);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return (
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** A TCP connection to `url`'s host and port, once connected; a reset by the server is no error. */
async function tcpConnect(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
  // A reset by the server is one of the outcomes tests look for, not an error; 'close' follows it.
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/**
 * Resolves once `socket` has received the end of the server's response headers: with their status line, and the
 * bytes that followed them. Reading stops there (the caller decides whether to read on).
 */
function responseHeaders(socket: Socket): Promise<{ status: string; rest: Buffer }> {
  let received = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve({ status: received.subarray(0, received.indexOf('\r\n')).toString(), rest: received.subarray(end + 4) });
    };
    const onClose = () => reject(new Error('closed during the handshake'));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** A TCP connection to the server, watched until it ends. */
export interface SilentSocket {
  readonly socket: Socket;
  /** Resolves when the connection ends, whichever side ended it (a reset included). */
  readonly ended: Promise<void>;
  isEnded(): boolean;
}

/**
 * Opens a TCP connection to the host and port of `url` and sends nothing (a test may write part of a request on
 * `socket`). Whatever the server answers (a 408, say) is read and dropped: left unread, it would hold back the end
 * of the stream, and with it `ended`.
 */
export async function silentSocket(url: string): Promise<SilentSocket> {
  const socket = await tcpConnect(url);
  let done = false;
  socket.resume();
  const ended = new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))).then(() => {
    done = true;
  });
  return { socket, ended, isEnded: () => done };
}

/** An upgraded connection that records every frame the server sends and writes the bytes it is given. */
export interface FrameClient extends SilentSocket {
  /** Every frame received so far. */
  readonly frames: ServerFrame[];
  /** The payloads of the text frames received so far. */
  texts(): string[];
  /** Resolves once the connection is gone, with the code of the server's close frame (undefined: none came). */
  readonly closed: Promise<number | undefined>;
  /** Writes raw bytes (frames built with `maskedFrame`). */
  write(bytes: Buffer): void;
}

/** Opens `url` (its path and query), completes the handshake (101, else it rejects) and records the server's frames. */
export async function frameClient(url: string, headers: Record<string, string> = {}): Promise<FrameClient> {
  const raw = await silentSocket(url);
  raw.socket.write(upgradeRequest(url, headers));
  const { status, rest } = await responseHeaders(raw.socket);
  if (!status.includes(' 101 ')) throw new Error(`handshake refused: ${status}`);
  const frames: ServerFrame[] = [];
  const reader = new ServerFrameReader((frame) => frames.push(frame));
  reader.push(rest);
  raw.socket.on('data', (data: Buffer) => reader.push(data));
  raw.socket.resume();
  const closed = raw.ended.then(() => {
    const close = frames.find((f) => f.opcode === Opcode.Close);
    return close ? closeCodeOf(close) : undefined;
  });
  return {
    ...raw,
    frames,
    texts: () => frames.filter((f) => f.opcode === Opcode.Text).map((f) => f.payload.toString('utf8')),
    closed,
    write: (bytes) => raw.socket.write(bytes),
  };
}

/** A connection that stopped reading after its handshake and first frames. */
export interface StalledClient {
  readonly socket: Socket;
  /** Bytes of server frames read before it stalled. */
  readonly bytesRead: number;
  /** Resolves when the server ends or resets the TCP connection (seen only once reading resumes). */
  readonly ended: Promise<void>;
  /** Drops the TCP connection at once, without a close frame (RST). */
  drop(): void;
}

/**
 * Opens `ws://host:port/path`, sends `messages` as text frames, and stops reading: the server's frames pile up
 * in the kernel buffers and then in the server's own send buffer.
 */
export async function stalledClient(
  url: string,
  messages: readonly object[] = [],
  headers: Record<string, string> = {},
): Promise<StalledClient> {
  const socket = await tcpConnect(url);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(upgradeRequest(url, headers));
  const { status, rest } = await responseHeaders(socket);
  if (!status.includes(' 101 ')) throw new Error(`handshake refused: ${status}`);
  for (const m of messages) socket.write(maskedTextFrame(JSON.stringify(m)));
  return {
    socket,
    bytesRead: rest.length,
    ended,
    drop() {
      socket.resetAndDestroy();
    },
  };
}
