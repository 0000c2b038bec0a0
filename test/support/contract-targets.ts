/**
 * The two targets of the contract suite: the mock (`monorail-ws/mock`) and the real ws server (in process, port 0).
 * A test sees only `Running`: how to connect a client, how to change the data, how to read the source of truth and
 * how to make an outage. How each target does that is here, so every test is written once. The assertions the
 * tests share on a client's frames and store are at the end.
 */
import WebSocket from 'isomorphic-ws';
import {
  Connection,
  type CloseInfo,
  type ConnectionError,
  type ConnectionOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from '../../client/index.js';
import { createMockServer } from '../../mock/index.js';
import type { ClientMessage, Doc, Params, ServerMessage } from '../../protocol/index.js';
import { createServer, MemoryBackend, type HubStats, type MonorailServer } from '../../server/index.js';
import { expect } from 'vitest';
import { byId } from './records.js';
import { TcpProxy } from './tcp-proxy.js';
import { holdableTimers, type HoldableTimers } from './timers.js';
import { WAIT_TIMEOUT_MS, waitFor } from './wait.js';

/** What a test starts a target with. */
export interface StartOptions {
  /** Every channel's records (the suite passes a full set, so both targets hold exactly the same data). */
  fixtures: Record<string, Doc[]>;
  /** Largest accepted client frame. @default the server's default (1 MiB) */
  maxPayload?: number;
  /**
   * Every frame of the server reaches a client this much later (the mock's `latencyMs`; in front of the ws server,
   * a delaying TCP proxy). @default 0
   */
  latencyMs?: number;
}

/** A client of the suite: the connection plus what it saw, recorded from its creation. */
export interface TestClient {
  readonly conn: Connection;
  /** Every frame received (`message` events), in order. */
  readonly frames: ServerMessage[];
  /** Every frame the client sent, in order (its WebSocket's `send`). */
  readonly sent: ClientMessage[];
  readonly closes: CloseInfo[];
  readonly errors: ConnectionError[];
  /** Number of `init` events (one per session exchanged). */
  readonly inits: () => number;
  /** Timers of this connection still pending (backoff retries, the stable-connection reset). */
  readonly pendingTimers: () => number;
}

/** A running target. */
export interface Running {
  /** `ws://host:port` (no channel). */
  readonly url: string;
  /** Connects a client to `${url}/${path}` with the suite's defaults (fast backoff, no heartbeat). */
  connect(path: string, options?: ConnectionOptions): TestClient;
  upsert(channel: string, doc: Doc): void;
  remove(channel: string, id: string): void;
  /** Appends to `logs`; returns the stored entry with its id. */
  log(entry: Doc): Doc;
  /** Appends to `events`; returns the stored entry with its id. */
  event(evt: Doc): Doc;
  /** The records of the source of truth matching `params`. */
  source(channel: string, params?: Params): Doc[];
  /** The hub's counters (connections, watches, …). */
  stats(): HubStats;
  readonly outage: {
    /** The close code clients see when the outage starts. */
    readonly closeCode: number;
    /** Clients lose their connection, and reconnects fail until `end`. */
    begin(): Promise<void>;
    /** Brings the server back with `change` applied before any client gets back. */
    end(change: () => void): Promise<void>;
  };
  close(): Promise<void>;
}

export interface Target {
  readonly name: string;
  start(options: StartOptions): Promise<Running>;
}

/** A WebSocket class like `Impl` that records every frame its instances send. */
function recording(Impl: WebSocketConstructor, sent: ClientMessage[]): WebSocketConstructor {
  const Base = Impl as new (url: string, protocols?: string[]) => WebSocketLike;
  return class extends Base {
    override send(data: string): void {
      sent.push(JSON.parse(data) as ClientMessage);
      super.send(data);
    }
  };
}

/** Creates clients for a target and closes them all with it. */
function clients(base: () => string, WebSocketImpl: WebSocketConstructor) {
  const all: Array<{ client: TestClient; timers: HoldableTimers }> = [];
  return {
    all,
    connect(path: string, options: ConnectionOptions = {}): TestClient {
      const timers = holdableTimers();
      const sent: ClientMessage[] = [];
      const conn = new Connection(`${base()}/${path}`, {
        timers,
        backoff: { baseMs: 5, maxMs: 50 },
        heartbeat: false,
        ...options,
        WebSocket: recording(options.WebSocket ?? WebSocketImpl, sent),
      });
      let inits = 0;
      const client: TestClient = {
        conn,
        frames: [],
        sent,
        closes: [],
        errors: [],
        inits: () => inits,
        pendingTimers: () => timers.pending,
      };
      conn.events.on('message', (m) => client.frames.push(m));
      conn.events.on('close', (e) => client.closes.push(e));
      conn.events.on('error', (e) => client.errors.push(e));
      conn.events.on('init', () => inits++);
      all.push({ client, timers });
      return client;
    },
    disconnectAll(): void {
      for (const { client } of all) client.conn.disconnect();
    },
  };
}

/** `monorail-ws/mock`: outage = `refuse(true)` + `dropAll()`; clients keep retrying and are refused until `end`. */
export const mockTarget: Target = {
  name: 'mock',
  async start({ fixtures, maxPayload, latencyMs }) {
    // A URL of its own per start: a mock left over by a failed test could never answer the next one.
    const mock = createMockServer({ url: `ws://localhost:${nextMockPort++}`, fixtures, latencyMs, ...(maxPayload ? { maxPayload } : {}) });
    const made = clients(() => mock.url, mock.WebSocket);
    return {
      url: mock.url,
      connect: made.connect,
      upsert: (channel, doc) => void mock.upsert(channel, doc),
      remove: (channel, id) => void mock.remove(channel, id),
      log: (entry) => mock.log(entry),
      event: (evt) => mock.event(evt),
      source: (channel, params = {}) => mock.backend.read(channel, params, 100_000),
      stats: () => mock.hub.stats(),
      outage: {
        closeCode: 1006,
        async begin() {
          mock.refuse(true);
          mock.dropAll();
        },
        async end(change) {
          change();
          mock.refuse(false);
        },
      },
      async close() {
        made.disconnectAll();
        await mock.close();
      },
    };
  },
};
let nextMockPort = 19_100;

/**
 * The ws server in process on port 0, on a memory backend that outlives restarts (as MongoDB outlives a real
 * server). Outage = `server.close()` (clients see 1001, reconnects fail with 1006 while nothing listens); `end`
 * holds every client's next retry, starts a server on the same port, applies the change, then lets clients in.
 */
export const serverTarget: Target = {
  name: 'ws server',
  async start({ fixtures, maxPayload, latencyMs }) {
    const backend = new MemoryBackend({ seed: fixtures });
    const serve = (port: number): Promise<MonorailServer> => createServer({ port, backend, ...(maxPayload ? { maxPayload } : {}) });
    let server = await serve(0);
    let down = false;
    const proxy = latencyMs ? await TcpProxy.start(server.port, { delayMs: latencyMs }) : undefined;
    const url = proxy ? `ws://127.0.0.1:${proxy.port}` : server.url;
    const made = clients(() => url, WebSocket);
    return {
      url,
      connect: made.connect,
      upsert: (channel, doc) => void server.backend!.upsert(channel, doc),
      remove: (channel, id) => void server.backend!.remove(channel, id),
      log: (entry) => server.backend!.append('logs', entry),
      event: (evt) => server.backend!.append('events', evt),
      source: (channel, params = {}) => backend.read(channel, params, 100_000),
      stats: () => server.hub.stats(),
      outage: {
        closeCode: 1001,
        async begin() {
          down = true;
          await server.close();
        },
        async end(change) {
          for (const { timers } of made.all) timers.hold();
          // Every client waiting to reconnect has its next attempt held (a retry already under way fails first),
          // so none can reach the restarted server before the change.
          await waitFor(
            () => made.all.every(({ client, timers }) => client.conn.state !== 'reconnecting' || timers.heldCount > 0),
            5000,
            'every reconnecting client to have its retry held',
          );
          server = await serve(server.port);
          down = false;
          change();
          for (const { timers } of made.all) timers.release();
        },
      },
      async close() {
        made.disconnectAll();
        await proxy?.close();
        if (!down) await server.close();
      },
    };
  },
};

export const TARGETS: readonly Target[] = [mockTarget, serverTarget];

// Assertions on a TestClient, shared by the tests of the suite.

/** Same JSON regardless of order (records compared by id). */
function same(docs: readonly Doc[], expected: readonly Doc[], idField = 'id'): boolean {
  return JSON.stringify(byId(docs, idField)) === JSON.stringify(byId(expected, idField));
}

/** Waits until the client's store holds exactly what `expected()` returns, then asserts it (for the message). */
export async function converged(client: TestClient, expected: () => Doc[], idField = 'id'): Promise<void> {
  await waitFor(() => same(client.conn.store.getSnapshot(), expected(), idField), WAIT_TIMEOUT_MS, 'the store to equal the source');
  expect(byId([...client.conn.store.getSnapshot()], idField)).toEqual(byId(expected(), idField));
}

/** Runs `action` and resolves with the frames that arrived after it, once there are `count` of them. */
export async function framesAfter(client: TestClient, count: number, action: () => void): Promise<ServerMessage[]> {
  const from = client.frames.length;
  action();
  await waitFor(() => client.frames.length >= from + count, WAIT_TIMEOUT_MS, `${count} frame(s)`);
  return client.frames.slice(from);
}

/**
 * Proves that nothing else arrived: sends a query the server must answer, and resolves with every frame that came
 * in before its answer (frames of one connection keep their order).
 */
export async function framesUntilBarrier(client: TestClient): Promise<ServerMessage[]> {
  const from = client.frames.length;
  const marker = { id: `barrier-${from}-${Math.random()}` };
  client.conn.query(marker);
  const at = await waitFor(
    () => {
      const i = client.frames.findIndex((f, n) => n >= from && f.handler === 'list' && JSON.stringify(f.params) === JSON.stringify(marker));
      return i === -1 ? undefined : i + 1;
    },
    WAIT_TIMEOUT_MS,
    'the answer to the barrier query',
  );
  return client.frames.slice(from, at - 1);
}

/**
 * Waits for the snapshot (`list`) of every given watch. `converged` alone cannot tell when watches overlap: the store
 * may already equal the union after the first snapshot, and a later one would then land in the next frame window.
 */
export async function snapshots(client: TestClient, ...watches: Params[]): Promise<void> {
  const keys = watches.map((params) => JSON.stringify(params));
  await waitFor(
    () => keys.every((key) => client.frames.some((f) => f.handler === 'list' && JSON.stringify(f.params) === key)),
    5000,
    `the snapshots of ${keys.join(' and ')}`,
  );
}

export async function opened(client: TestClient): Promise<string> {
  return new Promise((resolve) => client.conn.init(resolve));
}
