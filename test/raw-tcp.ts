/**
 * A WebSocket client at the TCP level, for faults a WebSocket library will not produce on purpose: it completes
 * the handshake, sends a few frames, and then never reads again (a frozen tab, a stalled network) — or is
 * dropped without a close frame. Written against RFC 6455 directly, a few dozen lines.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A client frame (text, FIN, masked as RFC 6455 §5.3 requires of clients). */
export function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const n = payload.length;
  const header = n < 126 ? Buffer.from([0x81, 0x80 | n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 65536) {
    header[0] = 0x81;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = randomBytes(4);
  for (let i = 0; i < n; i++) payload[i]! ^= mask[i % 4]!;
  return Buffer.concat([header, mask, payload]);
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
  const { hostname, port, pathname } = new URL(url);
  const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(
    `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
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
