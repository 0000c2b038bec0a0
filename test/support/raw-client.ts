/**
 * A raw protocol client for the server, mock and integration suites: a real `ws` socket that sends objects or text
 * as they are (no client SDK in between) and records every frame it receives, in order.
 */
import WebSocket from 'ws';
import type { ServerMessage } from '../../protocol/index.js';
import { WAIT_TIMEOUT_MS, waitFor } from './wait.js';

/** A raw protocol client: sends objects or text, records every parsed frame in order. */
export class RawClient {
  readonly frames: ServerMessage[] = [];
  readonly ws: WebSocket;
  closeEvent: { code: number; reason: string } | undefined;
  private read = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as ServerMessage));
    ws.on('close', (code, reason) => (this.closeEvent = { code, reason: String(reason) }));
  }

  /** Opens a connection to `url` and resolves once it is open. */
  static async connect(url: string, protocols?: string[], options?: WebSocket.ClientOptions): Promise<RawClient> {
    const ws = new WebSocket(url, protocols, options);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(message: object | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next frame not yet returned by `next` (optionally the next with this handler, skipping others). */
  async next<H extends ServerMessage['handler']>(
    handler?: H,
    timeoutMs = WAIT_TIMEOUT_MS,
  ): Promise<Extract<ServerMessage, { handler: H }>> {
    const found = await waitFor(
      () => {
        while (this.read < this.frames.length) {
          const frame = this.frames[this.read++]!;
          if (!handler || frame.handler === handler) return frame;
        }
        return undefined;
      },
      timeoutMs,
      `a ${handler ?? 'any'} frame on ${this.ws.url}`,
    );
    return found as Extract<ServerMessage, { handler: H }>;
  }

  /** Sends a message and resolves with the next frame. */
  async request<H extends ServerMessage['handler']>(message: object, handler?: H): Promise<Extract<ServerMessage, { handler: H }>> {
    this.send(message);
    return this.next(handler);
  }

  /**
   * Everything the server sent this client before now, not yet consumed by `next`: sends a `ping` and resolves with
   * the frames that arrive before its `pong` (frames on one connection arrive in order).
   */
  async drain(): Promise<ServerMessage[]> {
    this.send({ handler: 'ping' });
    const frames: ServerMessage[] = [];
    for (;;) {
      const f = await this.next();
      if (f.handler === 'pong') return frames;
      frames.push(f);
    }
  }

  /** Frames received and not yet consumed by `next`. */
  pending(): ServerMessage[] {
    return this.frames.slice(this.read);
  }

  /** Waits for the socket to close; resolves with the close code and reason. */
  async closed(timeoutMs = WAIT_TIMEOUT_MS): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closeEvent, timeoutMs, `${this.ws.url} to close`);
  }

  close(): void {
    this.ws.close();
  }
}
