/**
 * `Connection`: one reconnecting socket to one channel, its send queue, active watches, heartbeat and store.
 *
 * Everything that can fail in a socket callback is caught and reported as an `error` event: a WebSocket callback
 * that throws would unwind into the transport (and in the mock, into the server's fan-out).
 */
import { backoffDelay } from '../protocol/backoff.js';
import { channelFromUrl, storeDefaults } from '../protocol/channels.js';
import { NO_RETRY_CODES } from '../protocol/codes.js';
import type { Filter } from '../protocol/filter.js';
import { mqMatches } from '../protocol/topic.js';
import type { ClientMessage, Doc, Params, SessionMessage } from '../protocol/messages.js';
import { stringifyMessage } from '../protocol/parse.js';
import { applyToStore } from './apply.js';
import { parseServerFrame } from './parse.js';
import {
  createEvents,
  type ConnectionError,
  type ConnectionEvents,
  type ConnectionState,
  type Events,
  type ReconnectInfo,
} from './events.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { liveQueries, type LiveOptions, type LiveQueries, type LiveQuery } from './live.js';
import { resolveOptions, type ConnectionOptions, type ResolvedOptions } from './options.js';
import { ABNORMAL_CLOSURE, NORMAL_CLOSURE, offeredProtocols, resolveToken, type SocketCloseEvent, type WebSocketLike } from './socket.js';
import { Store } from './store.js';

export type { ConnectionOptions, HeartbeatOptions, Timers } from './options.js';

/**
 * One reconnecting connection to one channel (`ws://host:port/<channel>`), with a live `Store` of its records.
 *
 * Connects from the constructor unless `autoConnect: false`. On every open it sends `init`, re-sends every
 * active watch, then the messages queued while closed. It reconnects after every close except its own
 * `disconnect()`, 4401 and 4403, with full-jitter backoff, moving to the next URL of a list.
 *
 * @typeParam T The record type of this channel (not checked at run time): `Node`, `LogEvent` … (`protocol/records.ts`),
 *   any interface or object type; `createClient` picks it per channel. It types the store and the `Filter<T>` params
 *   (a typed filter is the JSON params it spells: `Filter<T>` only narrows what compiles).
 */
export class Connection<T extends object = Doc> {
  // `declare`: assigned in the constructor, so no field declarations are emitted (bytes in every browser bundle).
  /** Typed events (mitt's `on/off/emit` plus `once`); listeners that throw are reported, never break the connection. */
  declare readonly events: Events<ConnectionEvents>;
  /** The channel, from the URL's last path segment. */
  declare readonly channel: string;
  /** The records of this channel, kept by `list`/`item`/`remove` and by the active watches. */
  declare readonly store: Store<T>;
  /** The URLs this connection rotates through on reconnect. */
  declare readonly urls: readonly string[];

  readonly #o: ResolvedOptions;
  /** The live queries, and the references to each watched params (the seed API's `watch` holds one). */
  readonly #queries: LiveQueries<T>;

  #current: ConnectionState = 'closed';
  #socket: WebSocketLike | undefined;
  /** The socket whose callbacks count; callbacks of sockets we left behind are ignored. */
  #live: WebSocketLike | undefined;
  /** Bumped by every open and disconnect, so a slow async token cannot revive a connection that moved on. */
  #gen = 0;
  #attempt = 0;
  #urlIndex = 0;
  #session: string | undefined;
  /** Runs only while the current connection's session announced "ping". */
  #pulse: Heartbeat | undefined;
  #queue: ClientMessage[] = [];
  #retryTimer: unknown;
  #stableTimer: unknown;

  /**
   * @param url `ws://host:port/<channel>`, or a list of such URLs for failover (all for the same channel).
   * @param options See `ConnectionOptions`.
   * @throws TypeError when `url` is an empty list or no WebSocket implementation is available.
   */
  constructor(url: string | readonly string[], options: ConnectionOptions = {}) {
    this.urls = typeof url === 'string' ? [url] : [...url];
    if (this.urls.length === 0) throw new TypeError('monorail-ws: new Connection(url) needs a URL');
    this.channel = channelFromUrl(this.urls[0]!);
    this.#o = resolveOptions(options);
    // `mq` params are an exchange and a topic pattern, which `matches` would compare as equal values.
    this.store = new Store<T>({ ...storeDefaults(this.channel), ...options.store }, this.channel === 'mq' ? mqMatches : undefined);
    this.events = createEvents<ConnectionEvents>((error, source) => this.#report({ kind: 'listener', source, error }));
    this.#queries = liveQueries<T>(this.store, this.#write.bind(this), this.#apply.bind(this));
    if (options.autoConnect !== false) this.connect();
  }

  /** `'connecting'` (first connect), `'open'`, `'reconnecting'` (lost, retrying) or `'closed'`. */
  get state(): ConnectionState {
    return this.#current;
  }

  /** The current (or last) WebSocket instance. */
  get wsConn(): WebSocketLike | undefined {
    return this.#socket;
  }

  /** The session id the server gave the current connection; undefined until `session` arrives and after a close. */
  get sessionId(): string | undefined {
    return this.#session;
  }

  /** The URL in use (or to be tried next). */
  get url(): string {
    return this.urls[this.#urlIndex]!;
  }

  /** Connects if closed; while waiting to reconnect, connects now. No-op while connecting or open. */
  connect(): void {
    switch (this.#current) {
      case 'reconnecting':
        // No timer pending means a retry is already under way.
        if (this.#retryTimer === undefined) return;
        this.#cancelRetry();
        break;
      case 'closed':
        this.#attempt = 0;
        this.#setState('connecting');
        break;
      default:
        return;
    }
    this.#open();
  }

  /** Closes with 1000 and stops reconnecting until `connect()`. Active watches and the queue are kept for then. */
  disconnect(): void {
    const ws = this.#live;
    this.#gen++;
    this.#halt();
    this.#cancelRetry();
    this.#setState('closed');
    try {
      ws?.close(NORMAL_CLOSURE);
    } catch {
      // Already closing: nothing left to do.
    }
  }

  /**
   * Calls `cb` once the socket is open, at once if it is.
   * @returns A function that cancels a callback not yet called.
   */
  ready(cb: () => void): () => void {
    if (this.#current !== 'open') return this.events.once('ready', () => cb());
    cb();
    return () => undefined;
  }

  /**
   * Calls `cb(sessionId)` once the current connection has a session id, at once if it has.
   * @returns A function that cancels a callback not yet called.
   */
  init(cb: (sessionId: string) => void): () => void {
    if (this.#session === undefined) return this.events.once('init', cb);
    cb(this.#session);
    return () => undefined;
  }

  /** Asks for every record (answered with a `list`). Queued while not open. */
  all(): void {
    this.#send({ handler: 'all' });
  }

  /** Asks once for the records matching `params` (answered with a `list`). Queued while not open. */
  query(params: Filter<T> = {}): void {
    this.#send({ handler: 'query', params: params as Params });
  }

  /** Asks for the first record matching `params` (answered with `item`, or `remove` when none). Queued while not open. */
  get(params: Filter<T> = {}): void {
    this.#send({ handler: 'get', params: params as Params });
  }

  /**
   * Watches the records matching `params`: a snapshot, then every change, re-established after every reconnect.
   * Not queued: while closed the watch is only remembered, and sent on open. Watching the same params twice is a no-op.
   */
  watch(params: Filter<T> = {}): void {
    this.#queries.watch(params as Params);
  }

  /** Ends `watch(params)`, unless a live query holds the same params (docs/client.md "Live queries"). Not queued. */
  stop(params: Filter<T> = {}): void {
    this.#queries.stop(params as Params);
  }

  /** A live view of the records matching `params` only, with its own status; `close()` it when done. */
  live(params: Filter<T> = {}, options?: LiveOptions): LiveQuery<T> {
    return this.#queries.open(params as Params, options);
  }

  #open(): void {
    const gen = ++this.#gen;
    this.#live = undefined;
    // A slow async token must not revive a connection that moved on (disconnected, or opened again) meanwhile.
    const isCurrent = (): boolean => gen === this.#gen;
    const fail = (err: unknown): void => {
      if (isCurrent()) this.#fail(err);
    };
    const create = (token?: string): void => {
      if (!isCurrent()) return;
      try {
        this.#create(token);
      } catch (err) {
        // A token with characters a subprotocol cannot carry makes browsers throw in the constructor.
        fail(err);
      }
    };
    resolveToken(this.#o.token, create, fail);
  }

  #create(token: string | undefined): void {
    const url = this.url;
    const protocols = offeredProtocols(token, this.#o.protocols);
    const ws = new this.#o.WebSocket(url, protocols.length > 0 ? protocols : undefined);
    this.#socket = this.#live = ws;
    // After disconnect() the socket stays live only so its close event is still reported; it delivers nothing else.
    const live =
      <E>(handle: (event: E) => void) =>
      (event: E): void => {
        if (this.#live === ws && this.#current !== 'closed') handle(event);
      };
    ws.onopen = live(() => this.#handleOpen(ws, url));
    ws.onmessage = live((event) => this.#handleFrame(event.data));
    ws.onerror = live((event) => this.#report({ kind: 'socket', event }));
    ws.onclose = (event) => {
      if (this.#live === ws) this.#handleClose(event);
    };
  }

  #handleOpen(ws: WebSocketLike, url: string): void {
    // The state changes silently first and is announced after the sends: whatever a listener sends in reaction
    // then goes after init, the watches and the queue, in the order the application issued it.
    this.#current = 'open';
    this.#stableTimer = this.#o.timers.setTimeout(() => {
      this.#attempt = 0;
    }, this.#o.backoff.resetAfterMs);
    // "resume": this client takes `progress` frames; each watch goes with its last position, which only a server
    // that announced "resume" gave (PROTOCOL.md "Positions and resume").
    this.#write({ handler: 'init', features: ['resume'] });
    this.#queries.resend();
    for (const message of this.#queue.splice(0)) this.#send(message);
    const { events } = this;
    events.emit('state', 'open');
    events.emit('open', { url });
    // An open listener may have disconnected already; then `ready(cb)` callbacks wait for the next open.
    if (this.#live === ws && this.#current === 'open') events.emit('ready', { url });
  }

  #handleFrame(data: unknown): void {
    this.#pulse?.beat();
    const m = parseServerFrame(data);
    if ('kind' in m) {
      this.#report(m);
      return;
    }
    const { events } = this;
    if (m.handler === 'session') this.#startSession(m);
    else this.#apply(() => applyToStore(this.store, this.channel, m, this.#queries));
    this.#apply(() => this.#queries.flush());
    // Events come after the store changed, so a listener reading the store sees what the message did.
    events.emit('message', m);
    if (m.handler === 'error') {
      this.#report({ ...m.params, kind: 'server', resource: m.resource });
      return;
    }
    events.emit(m.handler, m);
    if (m.handler === 'session' && this.#session === m.id) events.emit('init', m.id);
  }

  /** A session began: its id, and the heartbeat when the server announced "ping". */
  #startSession({ id, features }: SessionMessage): void {
    this.#session = id;
    this.#pulse?.stop();
    const { heartbeat, timers } = this.#o;
    this.#pulse =
      heartbeat && features?.includes('ping')
        ? startHeartbeat(heartbeat, timers, this.#write.bind(this, { handler: 'ping' }), this.#abandon.bind(this))
        : undefined;
  }

  #handleClose(event: SocketCloseEvent): void {
    const info = { code: event.code, reason: event.reason, wasClean: event.wasClean };
    this.#live = undefined;
    this.#halt();
    if (this.#current !== 'closed' && NO_RETRY_CODES.includes(event.code)) this.#setState('closed');
    // Scheduled before `close` is emitted, so a close listener calling connect() finds the timer and connects now.
    this.#retry(this.#gen, () => this.events.emit('close', info));
  }

  /** The socket could not even be created (token function failed, constructor threw): report and retry. */
  #fail(event: unknown): void {
    const gen = this.#gen;
    this.#report({ kind: 'socket', event });
    this.#retry(gen);
  }

  /**
   * Schedules the next attempt unless the connection is closed or moved on since `gen`; `announce` (the close
   * event) comes between the scheduling and `reconnecting`.
   */
  #retry(gen: number, announce?: () => void): void {
    let next: ReconnectInfo | undefined;
    if (gen === this.#gen && this.#current !== 'closed') next = this.#schedule();
    announce?.();
    // Unless an `announce` listener connected now (no timer left) or disconnected (a new generation).
    if (next !== undefined && gen === this.#gen && this.#retryTimer !== undefined) this.events.emit('reconnecting', next);
  }

  #schedule(): ReconnectInfo {
    const attempt = ++this.#attempt;
    const delayMs = backoffDelay(attempt - 1, this.#o.backoff, this.#o.random);
    this.#urlIndex = (this.#urlIndex + 1) % this.urls.length;
    this.#retryTimer = this.#o.timers.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#open();
    }, delayMs);
    this.#setState('reconnecting');
    return { attempt, delayMs };
  }

  /** Gives up on a silent socket: a dead TCP connection may take minutes to report its close, so we do not wait. */
  #abandon(): void {
    const ws = this.#live;
    // Detached first: an implementation that reports the close synchronously must not be handled twice.
    this.#live = undefined;
    try {
      ws?.close();
    } catch {
      // Closing a dead socket may throw in some implementations; it is abandoned either way.
    }
    this.#handleClose({ code: ABNORMAL_CLOSURE, reason: 'heartbeat timeout', wasClean: false });
  }

  /** The current socket is over (closed, or being closed): its session, heartbeat and stability timer end with it. */
  #halt(): void {
    this.#session = undefined;
    this.#pulse?.stop();
    this.#pulse = undefined;
    if (this.#stableTimer !== undefined) this.#o.timers.clearTimeout(this.#stableTimer);
    this.#stableTimer = undefined;
  }

  /** Cancels a pending reconnect. */
  #cancelRetry(): void {
    if (this.#retryTimer !== undefined) this.#o.timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #setState(state: ConnectionState): void {
    if (this.#current === state) return;
    this.#current = state;
    if (state !== 'open') this.#apply(() => this.#queries.offline());
    this.events.emit('state', state);
  }

  /** Sends now if open; returns false otherwise. */
  #write(message: ClientMessage): boolean {
    const ws = this.#live;
    if (this.#current !== 'open' || ws === undefined) return false;
    try {
      ws.send(stringifyMessage(message));
      return true;
    } catch (event) {
      this.#report({ kind: 'socket', event });
      return false;
    }
  }

  /** Sends now, or queues until the next open (bounded: the oldest is dropped and reported). */
  #send(message: ClientMessage): void {
    if (this.#write(message)) return;
    this.#queue.push(message);
    if (this.#queue.length > this.#o.maxQueue) this.#report({ kind: 'queue-overflow', dropped: this.#queue.shift()! });
  }

  /** Runs a store update; a subscriber that throws is reported instead of unwinding into the socket callback. */
  #apply(update: () => void): void {
    try {
      update();
    } catch (error) {
      this.#report({ kind: 'listener', source: 'store', error });
    }
  }

  #report(error: ConnectionError): void {
    if (error.kind === 'listener' && (error.source === 'error' || !this.events.all.get('error')?.length)) {
      // Nobody would see it (or reporting it would loop): rethrow outside our stack, like a DOM event listener.
      this.#o.timers.setTimeout(() => {
        throw error.error;
      }, 0);
      return;
    }
    this.events.emit('error', error);
  }
}
