/**
 * Compile-time locks on the public types (in the style of mitt's test/test-types-compilation.ts): every
 * `@ts-expect-error` line must fail to type-check, checked by `tsc -p client/tsconfig.test.json`.
 * Vitest runs the file too; the one runtime test only keeps the file in the suite.
 */
import { Server as MockServer, WebSocket as MockWebSocket } from 'mock-socket';
import IsomorphicWebSocket from 'isomorphic-ws';
import NodeWebSocket from 'ws';
import { expect, expectTypeOf, it } from 'vitest';
import {
  Connection,
  createClient,
  Store,
  backoffDelay,
  type ErrorCode,
  type ConnectionState,
  type Doc,
  type ItemMessage,
  type Params,
} from './index.js';

function typeChecks(): void {
  const c = new Connection('ws://localhost:9100/nodes', { autoConnect: false });

  // Events are typed by name.
  c.events.on('item', (m) => {
    expectTypeOf(m).toEqualTypeOf<ItemMessage>();
    const id: string = m.id;
    void id;
  });
  c.events.on('init', (id) => expectTypeOf(id).toEqualTypeOf<string>());
  c.events.once('reconnecting', ({ attempt, delayMs }) => void (attempt + delayMs));
  c.events.on('close', ({ code, reason, wasClean }) => void [code, reason, wasClean]);
  c.events.on('state', (s) => expectTypeOf(s).toEqualTypeOf<ConnectionState>());
  c.events.on('*', (type, payload) => void [type, payload]);
  const off: () => void = c.events.on('error', (e) => {
    if (e.kind === 'server') expectTypeOf(e.code).toEqualTypeOf<ErrorCode>();
    if (e.kind === 'queue-overflow') void e.dropped.handler;
    // @ts-expect-error only the socket kind has an event
    if (e.kind === 'protocol') void e.event;
  });
  off();
  // @ts-expect-error unknown event name
  c.events.on('items', () => undefined);
  // @ts-expect-error item payloads are messages, not strings
  c.events.on('item', (m: string) => void m);
  // @ts-expect-error emit checks the payload
  c.events.emit('init', 42);

  // Members.
  expectTypeOf(c.state).toEqualTypeOf<ConnectionState>();
  expectTypeOf(c.sessionId).toEqualTypeOf<string | undefined>();
  expectTypeOf(c.store).toEqualTypeOf<Store<Doc>>();
  expectTypeOf(c.store.getSnapshot()).toEqualTypeOf<readonly Doc[]>();
  // @ts-expect-error state is read-only
  c.state = 'open';
  // @ts-expect-error the snapshot is read-only
  c.store.getSnapshot().push({});
  c.ready(() => undefined);
  c.init((id: string) => void id);
  c.watch({ type: 'compute', 'obm.0.service': { $in: ['ipmi'] } });
  // @ts-expect-error params are JSON
  c.query({ when: new Date() });
  // @ts-expect-error params are an object
  c.get('abc');

  // A typed store.
  interface NodeDoc extends Doc {
    id: string;
    type: string;
  }
  const typed = new Connection<NodeDoc>('ws://x/nodes', { autoConnect: false });
  expectTypeOf(typed.store.get('a')).toEqualTypeOf<NodeDoc | undefined>();

  // Options.
  new Connection(['ws://a/nodes', 'ws://b/nodes'], {
    WebSocket: MockWebSocket,
    token: async () => 'jwt',
    backoff: { baseMs: 0 },
    heartbeat: false,
    timers: { setTimeout, clearTimeout },
    store: { historyLimit: 10 },
  });
  new Connection('ws://a/nodes', { WebSocket: NodeWebSocket, heartbeat: { pingAfterMs: 1 } });
  new Connection('ws://a/nodes', { WebSocket: IsomorphicWebSocket });
  new Connection('ws://a/nodes', { WebSocket: globalThis.WebSocket });
  // @ts-expect-error a token is a string or a function returning one
  new Connection('ws://a/nodes', { token: 42 });
  // @ts-expect-error backoff fields are numbers
  new Connection('ws://a/nodes', { backoff: { baseMs: '0' } });
  // @ts-expect-error unknown option
  new Connection('ws://a/nodes', { reconnect: false });
  // @ts-expect-error heartbeat: true is not a thing
  new Connection('ws://a/nodes', { heartbeat: true });
  // @ts-expect-error a server is not a socket class
  new Connection('ws://a/nodes', { WebSocket: MockServer });

  // createClient is typed by its channel names.
  const client = createClient({ url: 'ws://localhost:9100', channels: ['nodes', 'logs'], autoConnect: false });
  expectTypeOf(client.channels.nodes).toEqualTypeOf<Connection>();
  client.channel('logs');
  // @ts-expect-error not one of this client's channels
  void client.channels.skus;
  // @ts-expect-error not one of this client's channels
  client.channel('skus');

  // Store and backoff.
  const store = new Store({ idField: 'instanceId', appendOnly: false, historyLimit: 5 });
  const unsubscribe: () => void = store.subscribe(() => undefined);
  unsubscribe();
  const p: Params = { a: 1 };
  store.applyList(p, [{ instanceId: 'x' }]);
  // @ts-expect-error idField is a string
  new Store({ idField: 1 });
  expectTypeOf(backoffDelay(0, { jitter: 0 }, () => 0.5)).toEqualTypeOf<number>();
}

it('public types compile (see tsconfig.test.json)', () => {
  expect(typeof typeChecks).toBe('function');
});
