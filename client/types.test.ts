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
  canonicalJson,
  Connection,
  createClient,
  matches,
  Store,
  backoffDelay,
  type ErrorCode,
  type ConnectionState,
  type Doc,
  type Filter,
  type ItemMessage,
  type LiveQuery,
  type LogEvent,
  type GraphDefinition,
  type MqEntry,
  type Node,
  type Params,
  type RackHDEvent,
  type TaskDefinition,
  type Workflow,
} from './index.js';

/** A channel of the application's own, added to the channel map the way docs/client.md shows. */
interface Rack {
  id: string;
  name: string;
  /** Optional, and an interface: `Connection<T>` takes both. */
  row?: number;
}
declare module './index.js' {
  interface ChannelRecords {
    racks: Rack;
  }
}

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
  expectTypeOf(client.channels.nodes).toEqualTypeOf<Connection<Node>>();
  expectTypeOf(client.channel('logs')).toEqualTypeOf<Connection<LogEvent>>();
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

it('public types compile (npm run typecheck: tsc -p tsconfig.check.json)', () => {
  expect(typeof typeChecks).toBe('function');
  expect(typeof recordTypeChecks).toBe('function');
});

/** The record types, the channel map and `Filter<T>` (issue 13, "Typed records"). */
function recordTypeChecks(): void {
  const client = createClient({
    url: 'ws://localhost:9100',
    channels: ['nodes', 'logs', 'events', 'workflows', 'graphObjs', 'graphDefs', 'taskDefs', 'mq', 'racks', 'chassis'],
    autoConnect: false,
  });
  const { nodes, logs, events, workflows, mq } = client.channels;

  // Each channel is typed with its record type, aliases too; a channel the map does not know holds `Doc`.
  expectTypeOf(nodes).toEqualTypeOf<Connection<Node>>();
  expectTypeOf(logs.store.getSnapshot()).toEqualTypeOf<readonly LogEvent[]>();
  expectTypeOf(events).toEqualTypeOf<Connection<RackHDEvent>>();
  expectTypeOf(workflows).toEqualTypeOf<Connection<Workflow>>();
  expectTypeOf(client.channels.graphObjs).toEqualTypeOf<Connection<Workflow>>();
  expectTypeOf(client.channel('graphDefs')).toEqualTypeOf<Connection<GraphDefinition>>();
  expectTypeOf(client.channel('taskDefs')).toEqualTypeOf<Connection<TaskDefinition>>();
  expectTypeOf(mq).toEqualTypeOf<Connection<MqEntry>>();
  expectTypeOf(client.channels.racks).toEqualTypeOf<Connection<Rack>>();
  expectTypeOf(client.channel('chassis')).toEqualTypeOf<Connection<Doc>>();
  // Records read as the server sends them: ids and dates are strings, links are ids.
  const line = logs.store.getSnapshot()[0];
  expectTypeOf(line?.context?.graphInstance).toEqualTypeOf<string | undefined>();
  expectTypeOf(workflows.store.get('x')?._status).toEqualTypeOf<Workflow['_status'] | undefined>();
  expectTypeOf(nodes.store.get('x')?.createdAt).toEqualTypeOf<string | undefined>();

  // A typed connection still goes where an untyped one is expected, and a record where a `Doc` is.
  const anyConnection: Connection = nodes;
  const doc: Doc = nodes.store.getSnapshot()[0]!;
  void [anyConnection, doc];

  // Interfaces, optional fields and Date fields are accepted (issue 13: TS2344 before). A Date field compiles, but
  // the server sends an ISO string there, and a filter compares it with one.
  interface Stamped {
    id: string;
    at: Date;
    note?: string;
  }
  const stamped = new Connection<Stamped>('ws://x/stamped', { autoConnect: false });
  new Store<Rack>({ idField: 'id' });
  stamped.watch({ at: { $gte: '2026-11-01T00:00:00.000Z' }, note: { $exists: false } });
  // @ts-expect-error a filter is JSON: the field's value on the wire is a string
  stamped.watch({ at: new Date() });
  // A connection of an interface goes where any connection is taken as `Connection<object>`.
  const anyRecords: Connection<object> = stamped;
  void anyRecords;

  // Dotted paths under a field the record has, with any scalar.
  logs.watch({ 'context.graphInstance': 'a-workflow' });
  nodes.watch({ 'obms.0.service': 'ipmi-obm-service', 'identifiers.0': { $exists: true } });
  // Values of top-level fields are checked against the field's type.
  nodes.watch({ type: { $in: ['compute', 'switch'] }, sku: null, tags: 'rack-1' });
  logs.watch({ subject: 'Server', level: { $in: ['warning', 'error'] } });
  workflows.watch({ _status: { $ne: 'succeeded' }, createdAt: { $gte: '2026-11-01' } });
  mq.watch({ exchange: 'on.logging', routingKey: 'error' });
  client.channels.racks.query({ row: { $gt: 2 } });
  // @ts-expect-error a typo in a literal union
  workflows.watch({ _status: 'runing' });
  // @ts-expect-error a number field compared with a string
  client.channels.racks.query({ row: '2' });
  // @ts-expect-error an embedded document is not a value: use dotted paths
  nodes.watch({ obms: { service: 'ipmi-obm-service' } });

  // A field whose first path segment the record lacks does not compile.
  // @ts-expect-error a typo in a field name
  nodes.watch({ nmae: 'x' });
  // @ts-expect-error a typo in the first segment of a dotted path
  logs.watch({ 'contxt.graphInstance': 'a-workflow' });
  // @ts-expect-error a field of another record
  logs.get({ instanceId: 'x' });

  // Operators outside the allowlist do not compile, for known and unknown records alike.
  // @ts-expect-error $regex
  nodes.watch({ name: { $regex: '^switch' } });
  // @ts-expect-error $or
  nodes.query({ $or: [{ type: 'switch' }, { type: 'pdu' }] });
  // @ts-expect-error $where
  logs.stop({ $where: 'true' });
  // @ts-expect-error an allowed operator beside a refused one
  nodes.watch({ name: { $in: ['a'], $regex: 'b' } });
  const untyped = client.channel('chassis');
  untyped.watch({ anything: 1, 'any.path': { $in: ['a', 2] } });
  // @ts-expect-error $regex on a Doc channel
  untyped.watch({ anything: { $regex: 'x' } });
  // @ts-expect-error $or on a Doc channel
  untyped.query({ $or: [] });
  // @ts-expect-error $exists takes a boolean
  untyped.query({ anything: { $exists: 1 } });

  // Live queries take the same typed filter, and show the channel's records.
  const compute = nodes.live({ type: 'compute', 'obms.0.service': { $exists: true } }, { limit: 50 });
  expectTypeOf(compute.getSnapshot().data).toEqualTypeOf<readonly Node[]>();
  expectTypeOf(logs.live({ 'context.graphInstance': 'a-workflow' })).toEqualTypeOf<LiveQuery<LogEvent>>();
  // @ts-expect-error $regex in a live query
  nodes.live({ name: { $regex: 'x' } });
  // @ts-expect-error a field Node does not have
  nodes.live({ instanceId: 'x' });
  // @ts-expect-error a typo in a literal union
  workflows.live({ _status: 'succeded' });
  // setParams takes the same typed filter as live, and params gives it back (no cast either way).
  const q = nodes.live({ type: 'compute' });
  q.setParams({ type: { $in: ['compute', 'switch'] }, 'obms.0.service': 'ipmi-obm-service' });
  expectTypeOf(q.params).toEqualTypeOf<Filter<Node>>();
  q.setParams(q.params);
  expectTypeOf(canonicalJson(q.params)).toEqualTypeOf<string>();
  // @ts-expect-error $regex in setParams
  q.setParams({ name: { $regex: 'x' } });
  // @ts-expect-error a field Node does not have, in setParams
  q.setParams({ instanceId: 'x' });
  // @ts-expect-error untyped Params are not a checked filter, in setParams too
  q.setParams({ type: 'compute' } as Params);

  // The active watches are the filters watched with, and go back into `stop`.
  expectTypeOf(nodes.store.activeWatches()).toEqualTypeOf<Filter<Node>[]>();
  for (const watched of untyped.store.activeWatches()) untyped.stop(watched);

  // `Filter<T>` stands alone, and `matches` takes it with a record.
  const filter: Filter<LogEvent> = { 'context.graphInstance': 'a-workflow', level: 'error' };
  expectTypeOf(matches(line!, filter)).toEqualTypeOf<boolean>();
  // Untyped `Params` is not a checked filter (it may hold any JSON); parsed JSON is cast where it is parsed.
  const parsed: Params = { type: 'compute' };
  // @ts-expect-error Params may hold anything JSON can
  nodes.watch(parsed);
  untyped.watch(parsed as Filter);
  nodes.watch(JSON.parse('{"type":"compute"}') as Filter<Node>);
}
