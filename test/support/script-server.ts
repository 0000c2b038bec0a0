/**
 * A scripted WebSocket server for client tests: a real `ws` server on port 0 that records what each connection
 * offered and sent, answers `init` with a `session` (unless told not to), and lets a test send or close at will.
 * Its promises (`connection`, `messages`, `first`) wait with `waitFor`, so a frame that never comes fails the test
 * with what was awaited.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ClientMessage, ServerMessage } from '../../protocol/messages.js';
import { WAIT_TIMEOUT_MS, waitFor } from './wait.js';

/** One accepted connection, seen from the server. */
export interface ServerConn {
  readonly index: number;
  /** Request path, e.g. `/nodes`. */
  readonly path: string;
  /** Subprotocols the client offered. */
  readonly protocols: string[];
  readonly socket: WebSocket;
  /** Every frame received, parsed as JSON (strings that are not JSON are kept as they are). */
  readonly received: Array<ClientMessage | string>;
  /** Resolves with the first `n` frames once that many arrived. */
  messages(n: number): Promise<Array<ClientMessage | string>>;
  /** Resolves with the first frame with this handler (waiting for it if needed). */
  first(handler: ClientMessage['handler']): Promise<ClientMessage>;
  send(frame: ServerMessage | string): void;
  close(code?: number, reason?: string): void;
  /** Resolves when the client's socket closed, with the code the server saw. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

export interface ScriptServer {
  /** `ws://127.0.0.1:<port>` (no path). */
  readonly url: string;
  readonly connections: ServerConn[];
  /** Resolves with connection `index` (0-based) once it was accepted. */
  connection(index: number): Promise<ServerConn>;
  close(): Promise<void>;
}

export interface ScriptOptions {
  /** Reply to `init` with `session {id: 's<index>', features}`; `false` leaves `init` to the test. */
  session?: false | { features?: string[] };
}

export async function startScriptServer(options: ScriptOptions = {}): Promise<ScriptServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;
  const connections: ServerConn[] = [];

  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const received: Array<ClientMessage | string> = [];
    const offered = req.headers['sec-websocket-protocol'];
    const index = connections.length;
    const conn: ServerConn = {
      index,
      path: req.url ?? '',
      protocols: offered ? offered.split(',').map((p) => p.trim()) : [],
      socket,
      received,
      messages: (n) =>
        waitFor(() => (received.length >= n ? received.slice(0, n) : undefined), WAIT_TIMEOUT_MS, `${n} frame(s) on connection ${index}`),
      first: (handler) =>
        waitFor(
          () => received.find((m): m is ClientMessage => typeof m === 'object' && m.handler === handler),
          WAIT_TIMEOUT_MS,
          `a ${handler} frame on connection ${index}`,
        ),
      send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      close: (code, reason) => socket.close(code, reason),
      closed: new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }))),
    };
    socket.on('message', (data) => {
      const text = String(data);
      let frame: ClientMessage | string = text;
      try {
        frame = JSON.parse(text) as ClientMessage;
      } catch {
        // Kept as text: a test may check what a client sent that was not JSON.
      }
      received.push(frame);
      if (options.session !== false && typeof frame === 'object' && frame.handler === 'init') {
        const features = options.session?.features;
        conn.send({ handler: 'session', id: `s${index}`, ...(features ? { features } : {}) });
      }
    });
    connections.push(conn);
  });

  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    connection: (index) => waitFor(() => connections[index], WAIT_TIMEOUT_MS, `connection ${index} to be accepted`),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** A `ws://` URL on which nothing listens (connecting fails with 1006). */
export async function deadUrl(): Promise<string> {
  const server = await startScriptServer();
  const url = server.url;
  await server.close();
  return url;
}
