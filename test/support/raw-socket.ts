/**
 * A WebSocket client at the TCP level, for faults a WebSocket library will not produce on purpose: it completes
 * the handshake, sends a few frames, and then never reads again (a frozen tab, a stalled network) — or is
 * dropped without a close frame; or it never finishes its handshake, or a message (a first fragment and no
 * continuation). Written against RFC 6455 directly, a few dozen lines.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A client frame (masked as RFC 6455 §5.3 requires of clients): `opcode` 1 text, 0 continuation, 9 ping; `fin` false for a first or middle fragment. */
export function maskedFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const header = Buffer.alloc(n < 126 ? 2 : n < 65536 ? 4 : 10);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (n < 126) header[1] = 0x80 | n;
  else if (n < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(n, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < n; i++) masked[i]! ^= mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

/** A client text frame (FIN, masked). */
export function maskedTextFrame(text: string): Buffer {
  return maskedFrame(1, Buffer.from(text, 'utf8'));
}

/** A TCP connection to `url`'s host and port, once connected; it reports nothing until asked. */
export async function rawSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
  // A reset by the server is one of the outcomes tests look for, not an error.
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** The request line and headers of a WebSocket upgrade to `url`, with the blank line that ends them. */
export function upgradeRequest(url: string, headers: Record<string, string> = {}): string {
  const { host, pathname, search } = new URL(url);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return (
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** A WebSocket opened over raw TCP that keeps reading: it records the server's text frames and close frame. */
export interface RawWebSocket {
  readonly socket: Socket;
  /** The server's text frames so far. */
  readonly messages: readonly string[];
  /** Resolves once the TCP connection is gone, with the code of the server's close frame (undefined: none came). */
  readonly closed: Promise<number | undefined>;
}

/** Opens `url` over raw TCP (the upgrade answered 101, else it rejects) and reads the server's frames. */
export async function rawWebSocket(url: string, headers: Record<string, string> = {}): Promise<RawWebSocket> {
  const socket = await rawSocket(url);
  socket.write(upgradeRequest(url, headers));
  let received = Buffer.alloc(0);
  let upgraded = false;
  let code: number | undefined;
  const messages: string[] = [];
  const closed = new Promise<number | undefined>((resolve) => socket.once('close', () => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!upgraded) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = received.subarray(0, received.indexOf('\r\n')).toString();
        if (!status.includes(' 101 ')) return reject(new Error(`handshake refused: ${status}`));
        upgraded = true;
        received = received.subarray(end + 4);
        resolve();
      }
      // Server frames are unmasked and never fragmented.
      while (received.length >= 2) {
        const short = received[1]! & 0x7f;
        const offset = short === 126 ? 4 : short === 127 ? 10 : 2;
        if (received.length < offset) break;
        const length = short === 126 ? received.readUInt16BE(2) : short === 127 ? Number(received.readBigUInt64BE(2)) : short;
        if (received.length < offset + length) break;
        const opcode = received[0]! & 0x0f;
        if (opcode === 1) messages.push(received.subarray(offset, offset + length).toString('utf8'));
        if (opcode === 8 && length >= 2) code = received.readUInt16BE(offset);
        received = received.subarray(offset + length);
      }
    });
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
  return { socket, messages, closed };
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
export async function stalledClient(url: string, messages: readonly object[] = [], headers: Record<string, string> = {}): Promise<StalledClient> {
  const socket = await rawSocket(url);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(upgradeRequest(url, headers));
  let received = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const status = received.subarray(0, received.indexOf('\r\n')).toString();
      if (!status.includes(' 101 ')) reject(new Error(`handshake refused: ${status}`));
      else resolve();
    };
    socket.on('data', onData);
  });
  for (const m of messages) socket.write(maskedTextFrame(JSON.stringify(m)));
  return {
    socket,
    bytesRead: received.length,
    ended,
    drop() {
      socket.resetAndDestroy();
    },
  };
}
