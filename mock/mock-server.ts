/**
 * `createMockServer`: the monorail-ws server without a network, for UI development offline and for tests. It is the
 * same `Hub` and `MemoryBackend` as the real server, reached through mock-socket instead of `ws`, so it answers
 * exactly like the server (docs/architecture.md "Adapters"). Browser-safe: no `node:*`, `ws`, `mongodb` or `amqplib`.
 *
 * What the mock accepts: every URL with the scheme, host and port of `mock.url` whose path starts with `mock.url`'s
 * path; the channel is the last path segment, as on the real server. Hosts are compared as written (after URL
 * normalisation: case, default port), so a mock at `ws://localhost:9100` does not answer `ws://127.0.0.1:9100` —
 * a connection there fails as an unreachable host would (error, then close 1006), except that the `error` event
 * says why: the URL asked for and the mock's URL. Only the first failure of each URL says so; the client's retries
 * of it fail with the close alone, so a mistyped host is one clear message rather than one per reconnect.
 */
import { Server, WebSocket as MockSocketClient, type Client } from 'mock-socket';
import { CloseCode, DEFAULTS, channelFromUrl, type Doc } from '../protocol/index.js';
import { ChannelRegistry, DEFAULT_CHANNELS, type ChannelSpec } from '../server/hub/channels.js';
import { isLegacyPath } from '../server/hub/dialect-1x.js';
import { Hub, type ResumeOptions } from '../server/hub/hub.js';
import { mqFromChange } from '../server/hub/mq.js';
import { MemoryBackend } from '../server/sources/memory.js';
import { defaultFixtures } from './fixtures.js';
import { mockSocketAdapter, type MockHubSocket } from './mock-socket-adapter.js';
import { createWebSocketClass, type DialFailure, type MockWebSocketConstructor } from './websocket.js';

/** Most URLs whose failure a mock remembers having explained; beyond it, a new URL is explained on every attempt. */
const MAX_EXPLAINED = 64;

/** Options of `createMockServer`. */
export interface MockServerOptions {
  /**
   * Base URL the mock answers: `ws://host:port`, optionally with a path prefix. Clients connect to
   * `${mock.url}/<channel>`. Two mocks need two different URLs.
   */
  url: string;
  /**
   * Initial records by channel. A channel given here replaces that channel's default records (`[]` empties it);
   * the other channels keep theirs. Logs and events are appended oldest first.
   * @default defaultFixtures() (RackHD-shaped nodes, SKUs, catalogs, workflows, pollers, logs and events)
   */
  fixtures?: Readonly<Record<string, readonly Doc[]>>;
  /**
   * Delay of every frame the mock sends, in ms (a slow network, for loading states). Frames are delivered on a later
   * task even at 0, never inside the client's own call.
   * @default 0
   */
  latencyMs?: number;
  /**
   * Channels served.
   * @default DEFAULT_CHANNELS (RackHD's resources: docs/rackhd.md "Channels")
   */
  channels?: readonly ChannelSpec[];
  /**
   * Largest accepted client frame in UTF-8 bytes; a larger one closes the connection with 1009, as on the server.
   * @default DEFAULTS.maxPayload (1 MiB)
   */
  maxPayload?: number;
  /**
   * Positions and resume, as the server's `resume` option (PROTOCOL.md "Positions and resume"): frames carry
   * positions, and a client that re-watches with its last one after `dropAll` gets what it missed and `resumed`
   * instead of a new `list`.
   * @default false
   */
  resume?: boolean | Omit<ResumeOptions, 'timeline'>;
  /**
   * Receives what a client's WebSocket event listener threw. The other listeners and clients are unaffected.
   * @default rethrown on a later task, so it is reported like an uncaught error in a browser event handler
   */
  onListenerError?: (error: unknown) => void;
}

/** A running mock server and its control API. */
export interface MockServer {
  /** The base URL (no trailing slash): connect to `${mock.url}/<channel>`. */
  readonly url: string;
  /** The WebSocket class to inject: `new Connection(url, { WebSocket: mock.WebSocket })`. */
  readonly WebSocket: MockWebSocketConstructor;
  /** The protocol engine, the same as the real server's (read access for tests: `hub.stats()`, `hub.connections`). */
  readonly hub: Hub;
  /** The records (read with `backend.read(channel, params, limit)` or `backend.all(channel)`). */
  readonly backend: MemoryBackend;
  /** Creates or replaces a record (appends on `logs`/`events`); watchers get `item`. Returns the stored record. */
  upsert(channel: string, doc: Doc): Doc;
  /** Deletes a record; watchers get `remove`. Returns whether it existed. */
  remove(channel: string, id: string): boolean;
  /** Appends a log entry (RackHD's on.logging shape); the id is derived from its content. Returns it with its id. */
  log(entry: Doc): Doc;
  /** Appends an event (RackHD's on.events shape); the id is derived from its content. Returns it with its id. */
  event(evt: Doc): Doc;
  /**
   * An outage: cuts every connection at once, frames in flight are lost, and clients see `close` with `code`.
   * Clients reconnect by themselves; combine with `refuse(true)` to keep them out for a while.
   * @param code @default 1006 (what a browser reports when the network or the server is lost)
   * @returns the number of connections cut.
   */
  dropAll(code?: number, reason?: string): number;
  /** While on, new connections fail as when the server is down (`error`, then `close` 1006). Open ones stay. */
  refuse(on: boolean): void;
  /** Whether new connections are refused. */
  readonly refusing: boolean;
  /**
   * Shuts the mock down like `server.close()`: every client gets 1001, new connections fail, the URL is free again.
   * Resolves once every connection has closed.
   */
  close(): Promise<void>;
}

function baseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`monorail-ws/mock: url must be a ws:// or wss:// URL such as 'ws://localhost:9100', got '${url}'`);
  }
  if ((parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') || parsed.search !== '' || parsed.hash !== '') {
    throw new TypeError(
      `monorail-ws/mock: url must be a ws:// or wss:// URL without query or fragment such as 'ws://localhost:9100', got '${url}'`,
    );
  }
  return parsed;
}

/** Rethrows on a later task: reported like an uncaught error, without unwinding into the caller. */
function rethrowLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  }, 0);
}

/**
 * Starts a mock server. Nothing global changes: clients reach it only through `mock.WebSocket` (or
 * `installGlobalWebSocket(mock)` when code under test uses the global `WebSocket`).
 * @throws TypeError when `url` is not a ws:// or wss:// URL or `fixtures` name an unknown channel, Error when another
 *   mock already serves `url`.
 * @example
 * const mock = createMockServer({ url: 'ws://localhost:9100' });
 * const nodes = new Connection(`${mock.url}/nodes`, { WebSocket: mock.WebSocket });
 * nodes.watch({ type: 'compute' });
 */
export function createMockServer(options: MockServerOptions): MockServer {
  const base = baseUrl(options.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = `${base.protocol}//${base.host}${prefix}`;
  const latencyMs = options.latencyMs ?? 0;
  if (!(latencyMs >= 0 && Number.isFinite(latencyMs)))
    throw new TypeError(`monorail-ws/mock: latencyMs must be a number ≥ 0, got ${latencyMs}`);
  const maxPayload = options.maxPayload ?? DEFAULTS.maxPayload;
  const reportError = options.onListenerError ?? rethrowLater;
  const channels = options.channels ?? DEFAULT_CHANNELS;

  const backend = new MemoryBackend({ channels, seed: seedFor(channels, options.fixtures) });
  const hub = new Hub({ source: backend, feed: backend, channels, ...(options.resume ? { resume: options.resume } : {}) });
  // mq streams the mock's own logs and events in RackHD's formats, as the server does without a broker.
  backend.onChange((change) => {
    for (const message of mqFromChange(change)) hub.mq.publish(message);
  });
  const sockets = new Set<MockHubSocket>();
  /** The URL each client asked for, by mock-socket's client socket (mock-socket itself only sees `innerUrl`). */
  const dialled = new WeakMap<object, string>();
  let refusing = false;
  let closed = false;

  // mock-socket connects only the exact URL a Server registered, so the mock registers one URL and `mock.WebSocket`
  // dials it for every path it serves, remembering the real one. `mock: false`: never patch the global WebSocket.
  const innerUrl = `${url}/`;
  let server: Server;
  try {
    server = new Server(innerUrl, {
      mock: false,
      // Consulted at the handshake, so a refusal that starts while a client connects still applies.
      verifyClient: () => !refusing && !closed,
      // As the real server: select monorail-ws when offered, never echo a bearer token. '' means none.
      selectProtocol: (offered: string[]) => (offered.includes(DEFAULTS.subprotocol) ? DEFAULTS.subprotocol : ''),
    });
  } catch (err) {
    throw new Error(`monorail-ws/mock: another mock server already serves ${url} (${(err as Error).message})`);
  }
  server.on('connection', (client: Client) => {
    const socket = mockSocketAdapter(client, { latencyMs, maxPayload });
    sockets.add(socket);
    void socket.closed.then(() => sockets.delete(socket));
    const target = dialled.get(client.target) ?? client.url;
    // As the server: below the mock's URL, `/rackhd/<channel>` speaks RackHD's 1.x dialect (PROTOCOL.md).
    const path = new URL(target).pathname.slice(prefix.length);
    hub.accept(socket, {
      channel: channelFromUrl(target),
      ...(isLegacyPath(path, DEFAULTS.legacyPath) ? { dialect: '1.x' as const } : {}),
    });
  });

  /** URLs whose failure was explained (the application's own URLs; bounded all the same). */
  const explained = new Set<string>();
  /** Why `target` cannot connect, said once per URL (the reconnects of a client that asked for it stay quiet). */
  const unreachable = (target: URL): DialFailure => {
    if (explained.has(target.href)) return { silent: true };
    if (explained.size < MAX_EXPLAINED) explained.add(target.href);
    const why = closed
      ? `the mock server at ${url} is closed`
      : `this mock serves ${url}/<channel> only (scheme, host and port as written: localhost and 127.0.0.1 differ)`;
    return { message: `monorail-ws/mock: nothing serves ${target.href}: ${why}. Later retries of this URL fail without an error event.` };
  };

  const WebSocket = createWebSocketClass({
    dial(target, protocols) {
      // Refused here rather than only in verifyClient: mock-socket would log a misleading "HTTP Authentication
      // failed" for every attempt of a reconnect loop. verifyClient still catches a refusal that starts mid-handshake.
      if (closed || !serves(target)) return unreachable(target);
      // An outage the application asked for (`refuse`): fails as a real one does, without a word.
      if (refusing) return undefined;
      const inner = new MockSocketClient(innerUrl, [...protocols]);
      dialled.set(inner, target.href);
      return inner;
    },
    reportError,
  });

  function serves(target: URL): boolean {
    if (target.protocol !== base.protocol || target.host !== base.host) return false;
    return prefix === '' || target.pathname === prefix || target.pathname.startsWith(`${prefix}/`);
  }

  return {
    url,
    WebSocket,
    hub,
    backend,
    upsert: (channel, doc) => backend.upsert(channel, doc),
    remove: (channel, id) => backend.remove(channel, id),
    log: (entry) => backend.append('logs', entry),
    event: (evt) => backend.append('events', evt),
    dropAll(code = CloseCode.Abnormal, reason = '') {
      const cut = [...sockets];
      for (const socket of cut) socket.drop(code, reason);
      return cut.length;
    },
    refuse(on) {
      refusing = on;
    },
    get refusing() {
      return refusing;
    },
    async close() {
      if (!closed) {
        closed = true;
        hub.close(CloseCode.GoingAway, 'server shutting down');
        server.stop();
      }
      // The closes queue behind frames whose delivery may sit on a fake clock a test has since uninstalled.
      for (const socket of sockets) socket.rearm();
      await Promise.all([...sockets].map((s) => s.closed));
    },
  };
}

/**
 * The default records of every served channel, with the caller's channels (by name or alias) replacing theirs.
 * @throws TypeError for fixtures of a channel the mock does not serve.
 */
function seedFor(channels: readonly ChannelSpec[], fixtures: MockServerOptions['fixtures']): Record<string, readonly Doc[]> {
  const registry = new ChannelRegistry(channels);
  const seed: Record<string, readonly Doc[]> = {};
  for (const [channel, docs] of Object.entries(defaultFixtures())) if (registry.get(channel)) seed[channel] = docs;
  for (const [channel, docs] of Object.entries(fixtures ?? {})) {
    const spec = registry.get(channel);
    if (!spec) {
      throw new TypeError(
        `monorail-ws/mock: fixtures for unknown channel "${channel}"; channels: ${channels.map((c) => c.name).join(', ')}`,
      );
    }
    seed[spec.name] = docs;
  }
  return seed;
}

/**
 * Makes `mock.WebSocket` the global `WebSocket`, for code that does not take an injected implementation.
 * Opt-in and reversible; nothing else in the mock touches globals.
 * @returns A function that puts the previous global back.
 */
export function installGlobalWebSocket(mock: Pick<MockServer, 'WebSocket'>): () => void {
  const scope = globalThis as { WebSocket?: unknown };
  const had = Object.hasOwn(scope, 'WebSocket');
  const previous = scope.WebSocket;
  scope.WebSocket = mock.WebSocket;
  return () => {
    if (had) scope.WebSocket = previous;
    else delete scope.WebSocket;
  };
}
