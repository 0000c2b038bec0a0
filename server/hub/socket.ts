/**
 * The transport contract: the minimal socket the hub drives (the ws and mock-socket adapters implement it in a few
 * lines), what a socket reports to, and the frame shared by every connection a change goes to. Browser-safe.
 */

/**
 * A text frame the hub sends to many connections (a change fanned out, a broadcast): serialised once, and an
 * adapter may keep its wire encoding of it in `encoded` so that it is built once for all recipients too.
 */
export class SharedFrame {
  /** The adapter's encoding of `text` (the ws adapter: the WebSocket frame bytes), built by the first send. */
  encoded: unknown = undefined;

  constructor(
    /** The JSON text. */
    readonly text: string,
  ) {}
}

/** The minimal socket the hub needs; the ws and mock-socket adapters implement it in a few lines. */
export interface HubSocket {
  /** Sends one text frame. */
  send(data: string): void;
  /**
   * Sends a frame shared with other connections, exactly like `send(frame.text)` (same bytes, same order with
   * everything else sent); optional, for adapters that can reuse one encoding for every recipient.
   */
  sendFrame?(frame: SharedFrame): void;
  /** Closes with a code from `CloseCode`. */
  close(code: number, reason?: string): void;
  /** Registers the handler of incoming frames (`isBinary` for binary frames, which the protocol refuses). */
  onMessage(handler: (data: string, isBinary: boolean) => void): void;
  /** Registers the handler of the socket's end. */
  onClose(handler: (code: number, reason: string) => void): void;
  /** Bytes queued for sending but not yet written (for slow-consumer policies); 0 when unknown. */
  readonly bufferedAmount?: number;
  /** The peer address, when the transport knows it; read only when asked (`HubConnection.remoteAddress`). */
  readonly remoteAddress?: string;
  /**
   * Optional, instead of `onMessage` and `onClose`: the hub hands over its connection, and the adapter calls
   * `conn.receive(data, isBinary)` for every frame and `conn.ended(code, reason)` once closed. Then a connection
   * costs no handler closures, which counts when a server holds many thousands of idle ones (the ws adapter).
   */
  attach?(conn: SocketEvents): void;
}

/** What a socket reports to (`HubSocket.attach`): a `HubConnection`. */
export interface SocketEvents {
  /** A frame arrived (`isBinary` for binary frames, which the protocol refuses). */
  receive(data: string, isBinary: boolean): void;
  /** The socket ended. */
  ended(code: number, reason: string): void;
}
