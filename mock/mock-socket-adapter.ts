/**
 * The mock-socket adapter: turns the server side of a mock-socket connection into the hub's `HubSocket`, as
 * `server/ws/adapter.ts` does for `ws`. Everything protocol-related stays in the hub.
 *
 * What it adds, because mock-socket is not a network:
 * - mock-socket delivers a server's `send` synchronously, inside the caller's stack. Here every frame (and a close)
 *   goes through a per-connection queue drained on a later task, after `latencyMs`, in order, so the hub's fan-out
 *   never runs client code and a client never sees an answer inside its own `send`.
 * - `drop(code)` cuts the connection like a lost network: frames not yet delivered are lost, nothing more is read.
 * - Frames over `maxPayload` close the connection with 1009, as `ws` does.
 *
 * Browser-safe: no Node imports.
 */
import type { Client } from 'mock-socket';
import { CloseCode, DEFAULTS } from '../protocol/index.js';
import type { HubSocket } from '../server/hub/socket.js';

/** Options of `mockSocketAdapter`. */
export interface MockSocketAdapterOptions {
  /**
   * Delay of every frame and close sent to the client, in ms. Frames stay in order.
   * @default 0 (delivered on a later task)
   */
  latencyMs?: number;
  /**
   * Largest accepted frame in UTF-8 bytes; a larger one closes the connection with 1009.
   * @default DEFAULTS.maxPayload (1 MiB)
   */
  maxPayload?: number;
}

/** A `HubSocket` the mock can also cut. */
export interface MockHubSocket extends HubSocket {
  /** Ends the connection at once as a lost network would: undelivered frames are dropped, the client sees `code`. */
  drop(code: number, reason?: string): void;
  /** Resolves once both ends saw the close. */
  readonly closed: Promise<void>;
  /**
   * Schedules the pending delivery again on the `setTimeout` installed now. A test that scheduled it under fake
   * timers and then restored the real ones would otherwise wait forever for it (docs/client.md "Testing your
   * components with the mock").
   */
  rearm(): void;
}

/** mock-socket's ready state of an open socket. */
const OPEN = 1;

/** UTF-8 size of a string, computed only when it could exceed `limit` (a UTF-16 unit is at most 3 bytes). */
function exceeds(text: string, limit: number): boolean {
  return text.length > limit || (text.length * 3 > limit && new TextEncoder().encode(text).length > limit);
}

/** Wraps the server side of a mock-socket connection for the hub. */
export function mockSocketAdapter(client: Client, options: MockSocketAdapterOptions = {}): MockHubSocket {
  const latencyMs = options.latencyMs ?? 0;
  const maxPayload = options.maxPayload ?? DEFAULTS.maxPayload;
  const queue: Array<{ due: number; size: number; run: () => void }> = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let buffered = 0;
  /** A close was queued or the connection was cut: nothing more is sent. */
  let ending = false;
  /** The connection was cut: nothing more is read either. */
  let cut = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  client.on('close', () => {
    ending = cut = true;
    resolveClosed();
  });

  const schedule = (): void => {
    if (timer !== undefined || queue.length === 0) return;
    timer = setTimeout(drain, Math.max(0, queue[0]!.due - performance.now()));
  };
  const drain = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { size, run } = queue.shift()!;
      buffered -= size;
      try {
        run();
      } catch {
        // `mock.WebSocket` isolates its listeners; this only guards the queue against other clients of
        // mock-socket (its own WebSocket class) whose listeners may throw.
      }
    }
    schedule();
  };
  const enqueue = (size: number, run: () => void): void => {
    queue.push({ due: performance.now() + latencyMs, size, run });
    buffered += size;
    schedule();
  };

  return {
    send(data) {
      if (ending) return;
      enqueue(data.length, () => {
        if (!cut && client.readyState === OPEN) client.send(data);
      });
    },
    close(code, reason = '') {
      if (ending) return;
      ending = true;
      // Behind the frames already sent, as a close frame follows the data on a real socket.
      enqueue(0, () => {
        if (!cut && client.readyState === OPEN) client.close({ code, reason, wasClean: true });
      });
    },
    drop(code, reason = '') {
      if (cut) return;
      ending = cut = true;
      queue.length = 0;
      buffered = 0;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (client.readyState === OPEN) client.close({ code, reason, wasClean: false });
    },
    onMessage(handler) {
      client.on('message', (data) => {
        if (cut) return;
        if (typeof data !== 'string') return handler('', true);
        if (exceeds(data, maxPayload)) {
          // `ws` stops reading and closes with 1009 before the frame reaches the application.
          cut = true;
          ending = true;
          queue.length = 0;
          if (client.readyState === OPEN) client.close({ code: CloseCode.TooBig, reason: 'Max payload size exceeded', wasClean: true });
          return;
        }
        handler(data, false);
      });
    },
    onClose(handler) {
      client.on('close', ((event: { code: number; reason: string }) => handler(event.code, event.reason)) as () => void);
    },
    get bufferedAmount() {
      return buffered;
    },
    closed,
    rearm() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      schedule();
    },
  };
}
