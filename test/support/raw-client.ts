/**
 * Test helpers shared by the server, contract and integration suites: a raw protocol client over a real
 * socket that records every frame, and small waiting utilities (no sleeps: wait for a condition).
 */
import WebSocket from 'ws';
import type { ServerMessage } from '../../protocol/index.js';

/** Waits until `check` returns a truthy value (polled on a short interval), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `waitFor` for checks that must await something (a broker query, a database read). */
export async function waitForAsync<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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
  async next<H extends ServerMessage['handler']>(handler?: H, timeoutMs = 5000): Promise<Extract<ServerMessage, { handler: H }>> {
    const found = await waitFor(
      () => {
        while (this.read < this.frames.length) {
          const frame = this.frames[this.read++]!;
          if (!handler || frame.handler === handler) return frame;
        }
        return undefined;
      },
      timeoutMs,
      `a ${handler ?? 'any'} frame`,
    );
    return found as Extract<ServerMessage, { handler: H }>;
  }

  /** Sends a message and resolves with the next frame. */
  async request<H extends ServerMessage['handler']>(message: object, handler?: H): Promise<Extract<ServerMessage, { handler: H }>> {
    this.send(message);
    return this.next(handler);
  }

  /** Frames received and not yet consumed by `next`. */
  pending(): ServerMessage[] {
    return this.frames.slice(this.read);
  }

  /** Waits for the socket to close; resolves with the close code and reason. */
  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closeEvent, timeoutMs, 'close');
  }

  close(): void {
    this.ws.close();
  }
}

/** Timers that can be held: while held, nothing scheduled runs; `release()` runs what was held. */
export function holdableTimers() {
  let held = false;
  const queue: Array<() => void> = [];
  return {
    setTimeout(fn: () => void, ms: number): unknown {
      if (held) {
        const entry = { cancelled: false };
        queue.push(() => !entry.cancelled && fn());
        return entry;
      }
      return setTimeout(fn, ms);
    },
    clearTimeout(handle: unknown): void {
      if (handle && typeof handle === 'object' && 'cancelled' in handle) (handle as { cancelled: boolean }).cancelled = true;
      else clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
    hold(): void {
      held = true;
    },
    release(): void {
      held = false;
      for (const fn of queue.splice(0)) fn();
    },
    /** Timers waiting for `release()`. */
    get heldCount(): number {
      return queue.length;
    },
  };
}

/** Records sorted by id, for comparing a store with its source regardless of order. */
export function byId<T extends { [key: string]: unknown }>(docs: readonly T[], idField = 'id'): T[] {
  return [...docs].sort((a, b) => String(a[idField]).localeCompare(String(b[idField])));
}
