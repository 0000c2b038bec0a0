/**
 * Shared frames written straight to the TCP socket (`FrameWriter`): the bytes a real `ws` client parses, in order
 * with everything `ws` itself sends, counted in `bufferedAmount`, flushed in one write per tick, never after a
 * close, and through `ws.send` whenever `ws` would queue or transform frames (permessage-deflate).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { waitFor } from '../../test/support/wait.js';
import { SharedFrame } from '../hub/socket.js';
import { FrameWriter, textFrame } from './frames.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Sends shared frames on one open connection as the ws adapter does: `canWrite` decided once, then `send`. */
function sender(writer: FrameWriter, ws: WebSocket): (frame: SharedFrame) => void {
  const direct = writer.canWrite(ws);
  return (frame) => writer.send(ws, frame, direct);
}

/** A ws server and one connected client; `server` is the server side of that connection. */
async function pair(options: { perMessageDeflate?: boolean } = {}) {
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: options.perMessageDeflate ?? false });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => http.close(r)));
  cleanup.push(() => wss.close());
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, {
    perMessageDeflate: options.perMessageDeflate ?? false,
  });
  cleanup.push(() => client.terminate());
  const received: string[] = [];
  client.on('message', (data, isBinary) => received.push(isBinary ? '<binary>' : String(data)));
  await new Promise((r) => client.once('open', r));
  const server = await accepted;
  return { server, client, received, writer: new FrameWriter() };
}

/** Counts the writes that reach the server side's TCP socket (each is one system call). */
function countWrites(ws: WebSocket): () => number {
  const socket = (ws as unknown as { _socket: Record<'_write' | '_writev', (...args: unknown[]) => unknown> })._socket;
  let writes = 0;
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name];
    socket[name] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original.apply(this, args);
    };
  }
  return () => writes;
}

describe('textFrame', () => {
  it('is what ws frames for send(text) on a server socket, at every length boundary', () => {
    for (const text of ['', 'a', 'x'.repeat(125), 'x'.repeat(126), 'x'.repeat(65_535), 'x'.repeat(65_536), 'é€😀'.repeat(30_000)]) {
      const frame = textFrame(text);
      const bytes = Buffer.byteLength(text);
      expect(frame[0]).toBe(0x81);
      const header = bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10;
      expect(frame.length).toBe(header + bytes);
      expect(frame.subarray(header).toString('utf8')).toBe(text);
    }
  });
});

describe('FrameWriter', () => {
  it('a real client receives the exact texts, in order with frames ws sends itself, at every length', async () => {
    const { server, received, writer } = await pair();
    const send = sender(writer, server);
    const texts = ['{"a":1}', 'é'.repeat(100), 'x'.repeat(126), 'y'.repeat(70_000), '😀'.repeat(20_000)];
    const expected: string[] = [];
    for (const [i, text] of texts.entries()) {
      send(new SharedFrame(text));
      server.send(`plain ${i}`);
      expected.push(text, `plain ${i}`);
    }
    await waitFor(() => received.length === expected.length);
    expect(received).toEqual(expected);
  });

  it('one frame object serves many connections: framed once, the same bytes to each', async () => {
    const a = await pair();
    const b = await pair();
    const writer = new FrameWriter();
    const frame = new SharedFrame('{"handler":"item","resource":"nodes","id":"n1","data":{"id":"n1"}}');
    sender(writer, a.server)(frame);
    const encoded = frame.encoded;
    sender(writer, b.server)(frame);
    expect(frame.encoded).toBe(encoded);
    await waitFor(() => a.received.length === 1 && b.received.length === 1);
    expect([a.received, b.received]).toEqual([[frame.text], [frame.text]]);
  });

  it('frames sent in one tick are counted in bufferedAmount and leave in one write', async () => {
    const { server, received, writer } = await pair();
    const writes = countWrites(server);
    const send = sender(writer, server);
    const frames = Array.from({ length: 50 }, (_, i) => new SharedFrame(JSON.stringify({ i, pad: 'x'.repeat(100) })));
    let bytes = 0;
    for (const f of frames) {
      send(f);
      bytes += textFrame(f.text).length;
    }
    expect(server.bufferedAmount).toBe(bytes);
    expect(writes()).toBe(0);
    await waitFor(() => received.length === 50);
    expect(writes()).toBe(1);
    expect(received).toEqual(frames.map((f) => f.text));
  });

  it('a long burst is not held back: past FLUSH_BYTES the socket is written within the tick', async () => {
    const { server, received, writer } = await pair();
    const writes = countWrites(server);
    const send = sender(writer, server);
    const frame = new SharedFrame('z'.repeat(1000));
    for (let i = 0; i < 200; i++) send(frame);
    // 200 KB in one tick: flushed every FLUSH_BYTES (64 KiB), not all at the end.
    expect(writes()).toBeGreaterThanOrEqual(2);
    await waitFor(() => received.length === 200);
  });

  it('a send set off while the writer flushes is flushed too: no socket is left corked', async () => {
    const a = await pair();
    const b = await pair();
    const writer = new FrameWriter();
    const sendA = sender(writer, a.server);
    const sendB = sender(writer, b.server);
    const socketA = (a.server as unknown as { _socket: { uncork(): void; writableCorked: number } })._socket;
    const socketB = (b.server as unknown as { _socket: { writableCorked: number } })._socket;
    // Whatever runs when A is uncorked (a write callback, a drain listener) sends to B: first and second frame.
    const uncork = socketA.uncork.bind(socketA);
    let once = true;
    socketA.uncork = () => {
      uncork();
      if (once) {
        once = false;
        sendB(new SharedFrame('b1'));
        sendB(new SharedFrame('b2'));
      }
    };
    sendA(new SharedFrame('a1'));
    sendA(new SharedFrame('a2'));
    await waitFor(() => a.received.length === 2 && b.received.length === 2);
    expect([socketA.writableCorked, socketB.writableCorked]).toEqual([0, 0]);
    // Later ticks still batch and flush.
    for (const text of ['b3', 'b4', 'b5']) sendB(new SharedFrame(text));
    await waitFor(() => b.received.length === 5);
    expect(b.received).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
    expect(socketB.writableCorked).toBe(0);
  });

  it('nothing is written once the connection is closing', async () => {
    const { server, client, received, writer } = await pair();
    const send = sender(writer, server);
    const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
    send(new SharedFrame('before'));
    server.close(1001, 'bye');
    send(new SharedFrame('after'));
    expect(await closed).toBe(1001);
    expect(received).toEqual(['before']);
  });

  it('with permessage-deflate negotiated it sends through ws.send, which compresses', async () => {
    const { server, received, writer } = await pair({ perMessageDeflate: true });
    expect(server.extensions).toContain('permessage-deflate');
    const send = sender(writer, server);
    const text = JSON.stringify({ pad: 'a'.repeat(5000) });
    send(new SharedFrame(text));
    send(new SharedFrame('second'));
    await waitFor(() => received.length === 2);
    expect(received).toEqual([text, 'second']);
  });

  it('while ws has frames queued (it is reading a Blob) a shared frame queues behind them', async () => {
    const { server, received, writer } = await pair();
    const send = sender(writer, server);
    // ws reads a Blob asynchronously and queues what is sent meanwhile; a direct write would overtake it.
    server.send(new Blob(['from a blob']));
    expect((server as unknown as { _sender: { _state: number } })._sender._state).not.toBe(0);
    send(new SharedFrame('shared after the blob'));
    server.send('plain after both');
    await waitFor(() => received.length === 3);
    expect(received).toEqual(['<binary>', 'shared after the blob', 'plain after both']);
  });
});
