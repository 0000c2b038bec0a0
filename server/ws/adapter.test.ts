/**
 * The ws adapter: an admitted `ServerWebSocket` hands its own events to its adapter (no listeners per
 * connection), and everything `ws` reports still arrives — messages, pongs for the heartbeat, errors without an
 * `error` listener (which must not throw), the close — while listeners added with `on` keep working.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { CloseCode, DEFAULTS } from '../../protocol/index.js';
import { WAIT_TIMEOUT_MS, waitFor } from '../../test/support/wait.js';
import { startHeartbeat } from './heartbeat.js';
import { silentLogger } from '../hub/logger.js';
import { ServerWebSocket, wsSocket, type WsSocketOptions } from './adapter.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A ws server on `ServerWebSocket` with one admitted connection, and its client. */
async function pair(extra: Partial<WsSocketOptions> = {}, clientOptions: WebSocket.ClientOptions = {}) {
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, WebSocket: ServerWebSocket });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => http.close(r)));
  cleanup.push(() => wss.close());
  const errors: Error[] = [];
  let round = (): void => undefined;
  const heartbeat = startHeartbeat(60_000, silentLogger, {
    setInterval: (fn) => {
      round = fn;
      return 0;
    },
    clearInterval: () => undefined,
  });
  cleanup.push(() => heartbeat.stop());
  const options: WsSocketOptions = {
    rateLimit: DEFAULTS.rateLimit,
    slowConsumer: DEFAULTS.slowConsumer,
    logger: silentLogger,
    heartbeat,
    onError: (err) => errors.push(err),
    ...extra,
  };
  const accepted = new Promise<ServerWebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/nodes`, clientOptions);
  cleanup.push(() => client.terminate());
  await new Promise((r) => client.once('open', r));
  const ws = await accepted;
  heartbeat.track(ws, false);
  const socket = wsSocket(ws, options);
  const texts: string[] = [];
  const closes: Array<[number, string]> = [];
  socket.onMessage((data) => texts.push(data));
  socket.onClose((code, reason) => closes.push([code, reason]));
  return { ws, client, socket, texts, closes, errors, heartbeat, round: () => round() };
}

describe('ServerWebSocket', () => {
  it('an admitted socket carries no listener of ours, yet messages reach the hub and listeners added with on still run', async () => {
    const { ws, client, texts } = await pair();
    expect(['message', 'close', 'error', 'pong'].map((e) => ws.listenerCount(e))).toEqual([0, 1, 0, 0]); // the close one is ws's own
    const seen: string[] = [];
    ws.on('message', (data) => seen.push(String(data)));
    client.send('{"handler":"init"}');
    await waitFor(() => texts.length === 1, WAIT_TIMEOUT_MS, 'the message to reach the hub');
    expect(texts).toEqual(['{"handler":"init"}']);
    expect(seen).toEqual(['{"handler":"init"}']);
  });

  it('a protocol error without an error listener does not throw: it is reported, and the close follows', async () => {
    const { client, closes, errors, heartbeat } = await pair();
    // An unmasked client frame: ws reports an error and closes with 1002.
    (client as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    await waitFor(() => closes.length === 1, WAIT_TIMEOUT_MS, 'the close after the protocol error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/MASK/);
    expect(heartbeat.size).toBe(0);
  });

  it('pongs tell the heartbeat the peer is there; the close stops tracking it', async () => {
    const { ws, client, heartbeat, round } = await pair();
    // The client answers pings by itself; its pong, once the server has it, marks the connection alive for the
    // next round (a listener added with `on` runs after the adapter has reported it).
    let pongs = 0;
    ws.on('pong', () => pongs++);
    round();
    await waitFor(() => pongs === 1, WAIT_TIMEOUT_MS, "the client's pong at the server");
    round();
    expect(heartbeat.size).toBe(1);
    client.close();
    await waitFor(() => heartbeat.size === 0, WAIT_TIMEOUT_MS, 'the heartbeat to stop tracking the closed socket');
  });

  it('a peer that does not answer the ping is terminated at the next round', async () => {
    const { client, closes, heartbeat, round } = await pair({}, { autoPong: false });
    let pings = 0;
    client.on('ping', () => pings++);
    round();
    await waitFor(() => pings === 1, WAIT_TIMEOUT_MS, 'the ping at the client, which does not answer');
    round();
    await waitFor(() => closes.length === 1, WAIT_TIMEOUT_MS, 'the silent peer terminated');
    expect(closes[0]![0]).toBe(1006);
    expect(heartbeat.size).toBe(0);
  });

  it('rate limits before decoding: over the bucket the connection closes with 4429 and later frames are dropped', async () => {
    const { client, texts, closes } = await pair({ rateLimit: { perSecond: 0.001, burst: 2 } });
    for (let i = 0; i < 5; i++) client.send(`{"n":${i}}`);
    await waitFor(() => closes.length === 1, WAIT_TIMEOUT_MS, 'the rate-limit close');
    expect(closes).toEqual([[4429, 'rate limited']]);
    expect(texts).toEqual(['{"n":0}', '{"n":1}']);
  });

  it('nothing thrown by the hub reaches ws: the connection is closed with 1011 and logged, the server keeps serving', async () => {
    const logged: string[] = [];
    const logger = { ...silentLogger, error: (msg: string) => void logged.push(msg) };
    const { client, socket } = await pair({ logger });
    let frames = 0;
    socket.attach({
      receive: () => {
        frames++;
        throw new Error('hub bug');
      },
      ended: () => undefined,
    });
    const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
    client.send('{"handler":"init"}');
    expect(await closed).toBe(CloseCode.InternalError);
    expect([frames, logged]).toEqual([1, ['a frame could not be handled, closing the connection']]);
    // The same with a logger that throws as well: still closed, still nothing let through to ws.
    const broken = (what: string) => (): never => {
      throw new Error(what);
    };
    const second = await pair({ logger: { ...silentLogger, error: broken('logger bug') } });
    second.socket.attach({ receive: broken('hub bug'), ended: () => undefined });
    const closedToo = new Promise<number>((r) => second.client.once('close', (code) => r(code)));
    second.client.send('{"handler":"init"}');
    expect(await closedToo).toBe(CloseCode.InternalError);
  });
});
