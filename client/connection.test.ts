import { Server as MockServer, WebSocket as MockWebSocket } from 'mock-socket';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientMessage } from '../protocol/messages.js';
import { Connection, type ConnectionOptions } from './connection.js';
import type { ConnectionError } from './events.js';
import { deadUrl, startScriptServer, type ScriptOptions, type ScriptServer } from '../test/support/script-server.js';
import { next, nth, record } from '../test/support/client-events.js';
import { immediateTimers, manualTimers } from '../test/support/timers.js';

const servers: ScriptServer[] = [];
const conns: Connection[] = [];

async function server(options?: ScriptOptions): Promise<ScriptServer> {
  const s = await startScriptServer(options);
  servers.push(s);
  return s;
}

function connection(url: string | string[], options: ConnectionOptions = {}): Connection {
  const c = new Connection(url, { backoff: { baseMs: 0 }, ...options });
  conns.push(c);
  return c;
}

afterEach(async () => {
  for (const c of conns.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const marker = (n: number): ClientMessage => ({ handler: 'query', params: { marker: n } });

describe('Connection: session and callbacks', () => {
  it('sends init on open, emits init with the session id, and ready(cb)/init(cb) call back once', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false });
    expect([c.state, c.channel, c.sessionId, c.wsConn]).toEqual(['closed', 'nodes', undefined, undefined]);
    let ready = 0;
    const ids: string[] = [];
    c.ready(() => ready++);
    c.init((id) => ids.push(id));
    const init = next(c, 'init');
    c.connect();
    expect(c.state).toBe('connecting');
    expect(await init).toBe('s0');
    expect([c.state, c.sessionId, ready, ids]).toEqual(['open', 's0', 1, ['s0']]);
    const sc = await s.connection(0);
    expect(sc.path).toBe('/nodes');
    expect(sc.protocols).toEqual([]);
    expect(sc.received[0]).toEqual({ handler: 'init', features: ['resume'] });

    let now = 0;
    c.ready(() => now++);
    c.init((id) => ids.push(`now:${id}`));
    expect([now, ids]).toEqual([1, ['s0', 'now:s0']]);

    // Once: a reconnect does not call them again; the session id of a closed connection is gone.
    const closed = next(c, 'close');
    sc.close(1001);
    await closed;
    expect(c.sessionId).toBeUndefined();
    const later: string[] = [];
    c.init((id) => later.push(id));
    expect(await next(c, 'init')).toBe('s1');
    expect([ready, ids, later]).toEqual([1, ['s0', 'now:s0'], ['s1']]);
  });

  it('a cancelled ready/init callback is not called', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false });
    const calls: string[] = [];
    c.ready(() => calls.push('ready'))();
    c.init(() => calls.push('init'))();
    c.connect();
    await next(c, 'init');
    expect(calls).toEqual([]);
  });

  it('goes connecting → open → reconnecting → open → closed, emitting state on each change', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false });
    const states = record(c, 'state');
    c.connect();
    await next(c, 'open');
    (await s.connection(0)).close(1001);
    await next(c, 'open');
    c.disconnect();
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
  });

  it('works over mock-socket, which only has on* handlers', async () => {
    const url = 'ws://mock.test:1/nodes';
    const mock = new MockServer(url, { mock: false });
    mock.on('connection', (socket) => {
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).handler === 'init') {
          socket.send(JSON.stringify({ handler: 'session', id: 'm1' }));
          socket.send(JSON.stringify({ handler: 'list', resource: 'nodes', params: {}, items: [{ id: 'a' }] }));
        }
      });
    });
    try {
      const c = connection(url, { WebSocket: MockWebSocket });
      // mock-socket delivers server sends synchronously: both events fire in one turn.
      const [id] = await Promise.all([next(c, 'init'), next(c, 'list')]);
      expect(id).toBe('m1');
      expect(c.store.getSnapshot()).toEqual([{ id: 'a' }]);
    } finally {
      mock.stop();
    }
  });
});

describe('Connection: reconnect', () => {
  it('emits reconnecting with the attempt and the delay from the injected random', async () => {
    const url = await deadUrl();
    const timers = immediateTimers();
    const c = connection(`${url}/nodes`, { timers, random: () => 0.5, backoff: { baseMs: 100, maxMs: 300 } });
    const seen = record(c, 'reconnecting');
    const errors = record(c, 'error');
    await nth(c, 'reconnecting', 4);
    c.disconnect();
    expect(seen).toEqual([
      { attempt: 1, delayMs: 50 },
      { attempt: 2, delayMs: 100 },
      { attempt: 3, delayMs: 150 },
      { attempt: 4, delayMs: 150 },
    ]);
    expect(timers.delays).toEqual([50, 100, 150, 150]);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.kind === 'socket')).toBe(true);
  });

  it('resets the attempt counter after resetAfterMs of stable connection', async () => {
    const s = await server();
    const timers = manualTimers();
    const c = connection(`${s.url}/nodes`, { timers, backoff: { baseMs: 100, jitter: 0, resetAfterMs: 5000 } });
    const seen = record(c, 'reconnecting');
    const drop = async (index: number) => {
      const reconnecting = next(c, 'reconnecting');
      (await s.connection(index)).close(1001);
      return reconnecting;
    };
    await next(c, 'init');
    expect(await drop(0)).toEqual({ attempt: 1, delayMs: 100 });
    let open = next(c, 'init');
    timers.fire(100);
    await open;
    expect(await drop(1)).toEqual({ attempt: 2, delayMs: 200 });
    open = next(c, 'init');
    timers.fire(200);
    await open;
    timers.fire(5000); // stable long enough
    expect(await drop(2)).toEqual({ attempt: 1, delayMs: 100 });
    expect(seen).toHaveLength(3);
  });

  it('fails over to the next URL of the list on every reconnect', async () => {
    const a = await server();
    const b = await server();
    const dead = await deadUrl();
    const c = connection([`${dead}/nodes`, `${a.url}/nodes`, `${b.url}/nodes`]);
    expect(c.channel).toBe('nodes');
    await next(c, 'init');
    expect(c.url).toBe(`${a.url}/nodes`);
    const opened = next(c, 'open');
    (await a.connection(0)).close(1001);
    expect(await opened).toEqual({ url: `${b.url}/nodes` });
    expect((await b.connection(0)).path).toBe('/nodes');
    const again = nth(c, 'open', 1);
    (await b.connection(0)).close(1001);
    // dead → a again
    expect(await again).toEqual({ url: `${a.url}/nodes` });
    expect(a.connections).toHaveLength(2);
  });

  it('connect() while waiting to reconnect connects now', async () => {
    const s = await server();
    const timers = manualTimers();
    const c = connection(`${s.url}/nodes`, { timers, backoff: { baseMs: 10_000, jitter: 0 } });
    await next(c, 'init');
    const reconnecting = next(c, 'reconnecting');
    (await s.connection(0)).close(1001);
    expect(await reconnecting).toEqual({ attempt: 1, delayMs: 10_000 });
    const init = next(c, 'init');
    c.connect();
    expect(await init).toBe('s1');
    expect(timers.pending()).not.toContain(10_000);
  });

  it('disconnect() closes with 1000 and stops reconnecting: no new connection reaches the server', async () => {
    const s = await server();
    const timers = immediateTimers();
    const c = connection(`${s.url}/nodes`, { timers });
    await next(c, 'init');
    const sc = await s.connection(0);
    const reconnecting = record(c, 'reconnecting');
    const closed = next(c, 'close');
    const scheduled = timers.delays.length;
    c.disconnect();
    expect(c.state).toBe('closed');
    expect((await sc.closed).code).toBe(1000);
    expect((await closed).code).toBe(1000);
    // A reconnect would have been scheduled synchronously with the close event.
    expect(timers.delays.length).toBe(scheduled);
    expect(reconnecting).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(s.connections).toHaveLength(1);
    expect(c.state).toBe('closed');
  });

  it.each([4401, 4403])('close %i stops retrying until connect() is called', async (code) => {
    const s = await server();
    const timers = immediateTimers();
    const c = connection(`${s.url}/nodes`, { timers });
    await next(c, 'init');
    const reconnecting = record(c, 'reconnecting');
    const closed = next(c, 'close');
    const scheduled = timers.delays.length;
    (await s.connection(0)).close(code, 'no');
    expect(await closed).toEqual({ code, reason: 'no', wasClean: true });
    expect(c.state).toBe('closed');
    expect(timers.delays.length).toBe(scheduled);
    expect(reconnecting).toEqual([]);
    c.connect();
    expect(c.state).toBe('connecting');
    expect(await next(c, 'init')).toBe('s1');
  });

  it('retries every other close code, including 1000 from the server', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    await next(c, 'init');
    for (const [i, code] of [1000, 1011, 1013, 4429].entries()) {
      const init = next(c, 'init');
      (await s.connection(i)).close(code);
      expect(await init).toBe(`s${i + 1}`);
    }
  });
});

describe('Connection: watches and queue', () => {
  it('re-sends active watches after a reconnect, but not a watch the server refused', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    const errors = record(c, 'error');
    c.watch({ type: 'compute' });
    c.watch({ bad: true });
    const sc0 = await s.connection(0);
    expect(await sc0.messages(3)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'watch', params: { type: 'compute' } },
      { handler: 'watch', params: { bad: true } },
    ]);
    const refused = next(c, 'error');
    const request = { handler: 'watch', params: { bad: true } };
    sc0.send({ handler: 'error', resource: 'nodes', params: { code: 'bad-params', message: 'nope', request } });
    expect(await refused).toEqual({ kind: 'server', code: 'bad-params', message: 'nope', request, resource: 'nodes' });
    expect(c.store.activeWatches()).toEqual([{ type: 'compute' }]);

    sc0.close(1001);
    await next(c, 'open');
    c.query({ marker: 1 });
    const sc1 = await s.connection(1);
    expect(await sc1.messages(3)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'watch', params: { type: 'compute' } },
      marker(1),
    ]);
    expect(errors).toHaveLength(1);
  });

  it('keeps a watch answered with source-unavailable: the server re-snapshots it when the source returns', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    c.watch({ type: 'compute' });
    const sc0 = await s.connection(0);
    await sc0.messages(2);
    const reported = next(c, 'error');
    const request = { handler: 'watch', params: { type: 'compute' } };
    sc0.send({ handler: 'error', resource: 'nodes', params: { code: 'source-unavailable', message: 'mongo down', request } });
    expect(await reported).toMatchObject({ kind: 'server', code: 'source-unavailable' });
    expect(c.store.activeWatches()).toEqual([{ type: 'compute' }]);
  });

  it('folds watch/stop into the active set while closed instead of queueing them', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false });
    c.watch({ a: 1 });
    c.watch({ b: 1 });
    c.stop({ a: 1 });
    c.watch({ b: 1 });
    c.connect();
    await next(c, 'open');
    c.query({ marker: 1 });
    c.watch({ c: 1 });
    c.watch({ c: 1 });
    c.stop({ b: 1 });
    const sc = await s.connection(0);
    expect(await sc.messages(5)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'watch', params: { b: 1 } },
      marker(1),
      { handler: 'watch', params: { c: 1 } },
      { handler: 'stop', params: { b: 1 } },
    ]);
    c.query({ marker: 2 });
    expect((await sc.messages(6))[5]).toEqual(marker(2));
  });

  it('queues query/all/get while closed and flushes them in order after init and the watches', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false });
    c.query({ n: 1 });
    c.watch({ w: 1 });
    c.all();
    c.get({ id: 'x' });
    c.connect();
    const sc = await s.connection(0);
    expect(await sc.messages(5)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'watch', params: { w: 1 } },
      { handler: 'query', params: { n: 1 } },
      { handler: 'all' },
      { handler: 'get', params: { id: 'x' } },
    ]);
  });

  it('drops the oldest queued message beyond maxQueue and reports it', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false, maxQueue: 2 });
    const errors = record(c, 'error');
    c.query({ n: 1 });
    c.query({ n: 2 });
    c.query({ n: 3 });
    expect(errors).toEqual([{ kind: 'queue-overflow', dropped: { handler: 'query', params: { n: 1 } } }]);
    c.connect();
    const sc = await s.connection(0);
    expect(await sc.messages(3)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'query', params: { n: 2 } },
      { handler: 'query', params: { n: 3 } },
    ]);
  });

  it('listeners of open/ready send after init, the watches and the queue', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false });
    c.events.on('state', (state) => state === 'open' && c.query({ from: 'state' }));
    c.ready(() => c.query({ from: 'ready' }));
    c.all();
    c.connect();
    const sc = await s.connection(0);
    expect(await sc.messages(4)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'all' },
      { handler: 'query', params: { from: 'state' } },
      { handler: 'query', params: { from: 'ready' } },
    ]);
  });
});

describe('Connection: store routing', () => {
  it('applies list/item/remove of its own channel to the store, ignores other resources', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    c.watch({});
    await next(c, 'init');
    const sc = await s.connection(0);
    await sc.first('watch');
    const messages = record(c, 'message');
    sc.send({ handler: 'list', resource: 'nodes', params: {}, items: [{ id: 'a' }, { id: 'b' }] });
    sc.send({ handler: 'item', resource: 'skus', id: 'z', data: { id: 'z' } });
    sc.send({ handler: 'item', resource: 'nodes', id: 'c', data: { id: 'c' } });
    sc.send({ handler: 'remove', resource: 'nodes', id: 'a' });
    const snapshots: string[][] = [];
    c.store.subscribe(() => snapshots.push(c.store.getSnapshot().map((d) => String(d.id))));
    const removed = next(c, 'remove');
    // The list may already have been applied; wait for the last frame.
    await removed;
    expect(c.store.getSnapshot()).toEqual([{ id: 'b' }, { id: 'c' }]);
    expect(messages.map((m) => m.handler)).toEqual(['list', 'item', 'item', 'remove']);
    expect(snapshots.at(-1)).toEqual(['b', 'c']);
  });

  it('uses the channel table: workflows (alias graphObjs) by instanceId, logs append-only', async () => {
    const s = await server();
    const wf = connection(`${s.url}/graphObjs`);
    const logs = connection(`${s.url}/logs/`, { store: { historyLimit: 2 } });
    expect([wf.store.idField, wf.store.appendOnly, logs.channel, logs.store.appendOnly]).toEqual(['instanceId', false, 'logs', true]);
    await s.connection(1);
    const w = s.connections.find((sc) => sc.path === '/graphObjs');
    const l = s.connections.find((sc) => sc.path === '/logs/');
    w!.send({ handler: 'list', resource: 'workflows', params: {}, items: [{ instanceId: 'g1' }] });
    l!.send({ handler: 'list', resource: 'logs', params: {}, items: [{ id: '1' }, { id: '2' }, { id: '3' }] });
    await Promise.all([next(wf, 'list'), next(logs, 'list')]);
    expect(wf.store.get('g1')).toEqual({ instanceId: 'g1' });
    expect(logs.store.getSnapshot()).toEqual([{ id: '2' }, { id: '3' }]);
  });
});

describe('Connection: auth token', () => {
  it('offers monorail-ws and bearer.<token> for a string token', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { token: 'abc' });
    await next(c, 'init');
    expect((await s.connection(0)).protocols).toEqual(['monorail-ws', 'bearer.abc']);
  });

  it('offers only the given protocols without a token, none by default', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { protocols: ['monorail-ws'] });
    await next(c, 'init');
    expect((await s.connection(0)).protocols).toEqual(['monorail-ws']);
  });

  it.each([
    ['sync', (n: number) => `t${n}`],
    ['async', (n: number) => Promise.resolve(`t${n}`)],
  ] as const)('re-evaluates a %s token function on every connect', async (_, make) => {
    const s = await server();
    let n = 0;
    const c = connection(`${s.url}/nodes`, { token: () => make(++n) });
    await next(c, 'init');
    (await s.connection(0)).close(1001);
    await next(c, 'init');
    expect(s.connections.map((sc) => sc.protocols)).toEqual([
      ['monorail-ws', 'bearer.t1'],
      ['monorail-ws', 'bearer.t2'],
    ]);
  });

  it('a token function that throws or rejects is reported and retried', async () => {
    const s = await server();
    let n = 0;
    const boom = new Error('no token yet');
    const token = (): Promise<string> => {
      n++;
      if (n === 1) throw boom;
      return n === 2 ? Promise.reject(boom) : Promise.resolve('ok');
    };
    const c = connection(`${s.url}/nodes`, { token, autoConnect: false });
    const errors = record(c, 'error');
    const reconnecting = record(c, 'reconnecting');
    c.connect();
    await next(c, 'init');
    expect(errors).toEqual([
      { kind: 'socket', event: boom },
      { kind: 'socket', event: boom },
    ]);
    expect(reconnecting.map((r) => r.attempt)).toEqual([1, 2]);
    expect((await s.connection(0)).protocols).toEqual(['monorail-ws', 'bearer.ok']);
  });
});

describe('Connection: heartbeat', () => {
  it('pings after pingAfterMs of silence when the server announces "ping", reconnects when nothing answers', async () => {
    const s = await server({ session: { features: ['ping'] } });
    const timers = manualTimers();
    const c = connection(`${s.url}/nodes`, { timers, heartbeat: { pingAfterMs: 1000, timeoutMs: 500 } });
    await next(c, 'init');
    const sc = await s.connection(0);
    expect(timers.pending()).toEqual([5000, 1000]);

    // Any frame restarts the silence timer.
    sc.send({ handler: 'list', resource: 'nodes', params: {}, items: [] });
    await next(c, 'list');
    expect(timers.pending()).toEqual([5000, 1000]);

    timers.fire(1000);
    expect(await sc.first('ping')).toEqual({ handler: 'ping' });
    expect(timers.pending()).toEqual([5000, 500]);
    sc.send({ handler: 'pong' });
    await next(c, 'pong');
    expect(timers.pending()).toEqual([5000, 1000]);

    timers.fire(1000);
    await sc.messages(3);
    const closed = next(c, 'close');
    timers.fire(500);
    expect(await closed).toEqual({ code: 1006, reason: 'heartbeat timeout', wasClean: false });
    expect(c.state).toBe('reconnecting');
    const init = next(c, 'init');
    timers.fire(0);
    expect(await init).toBe('s1');
    await sc.closed;
  });

  it('never pings a server that did not announce "ping", nor with heartbeat: false', async () => {
    const plain = await server();
    const pinging = await server({ session: { features: ['ping'] } });
    const t1 = manualTimers();
    const t2 = manualTimers();
    const a = connection(`${plain.url}/nodes`, { timers: t1 });
    const b = connection(`${pinging.url}/nodes`, { timers: t2, heartbeat: false });
    await Promise.all([next(a, 'init'), next(b, 'init')]);
    expect([t1.pending(), t2.pending()]).toEqual([[5000], [5000]]);
  });
});

describe('Connection: robustness', () => {
  it('reports a bad frame from the server as a protocol error and keeps working', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    await next(c, 'init');
    const errors = record(c, 'error');
    const sc = await s.connection(0);
    sc.send('not json');
    sc.send({ handler: 'nope' } as never);
    sc.send({ handler: 'item', resource: 'nodes' } as never);
    sc.send({ handler: 'item', resource: 'nodes', id: 'a', data: { id: 'a' } });
    await next(c, 'item');
    expect(errors.map((e) => (e.kind === 'protocol' ? e.code : e.kind))).toEqual(['bad-json', 'unknown-handler', 'bad-message']);
    expect([c.state, c.store.size]).toEqual(['open', 1]);
  });

  it('a throwing listener or store subscriber is reported and does not break the connection', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    const errors: ConnectionError[] = [];
    c.events.on('error', (e) => errors.push(e));
    c.events.on('item', () => {
      throw new Error('listener');
    });
    let after = 0;
    c.events.on('item', () => after++);
    c.store.subscribe(() => {
      throw new Error('subscriber');
    });
    await next(c, 'init');
    const sc = await s.connection(0);
    sc.send({ handler: 'item', resource: 'nodes', id: 'a', data: { id: 'a' } });
    sc.send({ handler: 'item', resource: 'nodes', id: 'b', data: { id: 'b' } });
    await nth(c, 'item', 2);
    expect(errors.map((e) => e.kind === 'listener' && [e.source, (e.error as Error).message])).toEqual([
      ['store', 'subscriber'],
      ['item', 'listener'],
      ['store', 'subscriber'],
      ['item', 'listener'],
    ]);
    expect([after, c.store.size, c.state]).toEqual([2, 2, 'open']);
  });

  it('rethrows a listener error asynchronously when nothing listens for error', async () => {
    const s = await server();
    const timers = manualTimers();
    const c = connection(`${s.url}/nodes`, { timers });
    c.events.on('open', () => {
      throw new Error('unobserved');
    });
    await next(c, 'init');
    expect(() => timers.fire(0)).toThrow('unobserved');
    expect(c.state).toBe('open');
  });

  it('an error listener that throws is rethrown asynchronously instead of looping', async () => {
    const s = await server();
    const timers = manualTimers();
    const c = connection(`${s.url}/nodes`, { timers });
    c.events.on('error', () => {
      throw new Error('error listener');
    });
    await next(c, 'init');
    (await s.connection(0)).send('garbage');
    await new Promise<void>((resolve) => c.events.once('error', () => resolve()));
    expect(() => timers.fire(0)).toThrow('error listener');
    expect(c.state).toBe('open');
  });

  it('disconnect() during the handshake: no ready callback, no error, no reconnect', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    const errors = record(c, 'error');
    const reconnecting = record(c, 'reconnecting');
    let ready = 0;
    c.ready(() => ready++);
    const closed = next(c, 'close');
    c.disconnect();
    expect(c.state).toBe('closed');
    await closed;
    expect([ready, errors, reconnecting, c.state]).toEqual([0, [], [], 'closed']);
  });

  it('disconnect() from an open listener: ready callbacks wait for the next open', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`, { autoConnect: false });
    const off = c.events.on('open', () => c.disconnect());
    let ready = 0;
    c.ready(() => ready++);
    const closed = next(c, 'close');
    c.connect();
    await closed;
    expect([ready, c.state]).toEqual([0, 'closed']);
    off();
    c.connect();
    await next(c, 'init');
    expect(ready).toBe(1);
  });

  it('once() fires a single time and on() returns an unsubscribe', async () => {
    const s = await server();
    const c = connection(`${s.url}/nodes`);
    const once: string[] = [];
    const on: string[] = [];
    c.events.once('init', (id) => once.push(id));
    const off = c.events.on('init', (id) => on.push(id));
    await next(c, 'init');
    off();
    (await s.connection(0)).close(1001);
    await next(c, 'init');
    expect([once, on]).toEqual([['s0'], ['s0']]);
  });

  it('a socket constructor that throws is reported and retried; an empty URL list is refused', async () => {
    const s = await server();
    const boom = new Error('bad url');
    let calls = 0;
    class Flaky extends (await import('isomorphic-ws')).default {
      constructor(url: string, protocols?: string[]) {
        if (++calls === 1) throw boom;
        super(url, protocols);
      }
    }
    const c = connection(`${s.url}/nodes`, { WebSocket: Flaky, autoConnect: false });
    const errors = record(c, 'error');
    c.connect();
    await next(c, 'init');
    expect(errors).toEqual([{ kind: 'socket', event: boom }]);
    expect(() => new Connection([])).toThrow(/needs a URL/);
  });
});

describe('Connection: positions and resume (PROTOCOL.md "Positions and resume")', () => {
  const watchOf = (type: string, position?: string) => ({ handler: 'watch', params: { type }, ...(position ? { position } : {}) });

  it('re-sends each watch answered in the session with the last position the channel gave, once', async () => {
    const s = await server({ session: { features: ['ping', 'resume'] } });
    const c = connection(`${s.url}/nodes`, { heartbeat: false });
    c.watch({ type: 'a' });
    c.watch({ type: 'b' });
    const sc0 = await s.connection(0);
    expect(await sc0.messages(3)).toEqual([{ handler: 'init', features: ['resume'] }, watchOf('a'), watchOf('b')]);
    // a is answered, b never is; later frames move a's position, frames of another resource do not.
    sc0.send({ handler: 'list', resource: 'nodes', params: { type: 'a' }, items: [], position: 'e.5' });
    sc0.send({ handler: 'item', resource: 'nodes', id: 'n1', data: { id: 'n1', type: 'b' }, position: 'e.7' });
    sc0.send({ handler: 'progress', resource: 'nodes', position: 'e.9' });
    sc0.send({ handler: 'item', resource: 'skus', id: 'k1', data: { id: 'k1' }, position: 'x.99' });
    await next(c, 'progress');
    sc0.close(1001);
    const sc1 = await s.connection(1);
    expect(await sc1.messages(3)).toEqual([{ handler: 'init', features: ['resume'] }, watchOf('a', 'e.9'), watchOf('b')]);
    // Not answered in this session: the next reconnect sends no position (the first one may be outdated by then).
    sc1.close(1001);
    const sc2 = await s.connection(2);
    expect(await sc2.messages(3)).toEqual([{ handler: 'init', features: ['resume'] }, watchOf('a'), watchOf('b')]);
  });

  it('a resumed frame answers a watch like its list: the resumed event, and a live view ready again, via resume', async () => {
    const s = await server({ session: { features: ['resume'] } });
    const c = connection(`${s.url}/nodes`, { heartbeat: false });
    const view = c.live({ type: 'a' });
    const sc0 = await s.connection(0);
    await sc0.messages(2);
    sc0.send({ handler: 'list', resource: 'nodes', params: { type: 'a' }, items: [{ id: 'n1', type: 'a' }], position: 'e.3' });
    await next(c, 'list');
    expect(view.getSnapshot()).toMatchObject({ status: 'ready', via: 'list' });
    sc0.close(1001);
    await next(c, 'reconnecting');
    expect(view.getSnapshot()).toMatchObject({ status: 'stale', via: 'list' });
    const sc1 = await s.connection(1);
    expect((await sc1.messages(2))[1]).toEqual(watchOf('a', 'e.3'));
    const resumed = next(c, 'resumed');
    sc1.send({ handler: 'item', resource: 'nodes', id: 'n2', data: { id: 'n2', type: 'a' }, position: 'e.4' });
    sc1.send({ handler: 'resumed', resource: 'nodes', params: { type: 'a' }, position: 'e.4' });
    expect(await resumed).toEqual({ handler: 'resumed', resource: 'nodes', params: { type: 'a' }, position: 'e.4' });
    expect(view.getSnapshot()).toMatchObject({
      status: 'ready',
      via: 'resume',
      data: [
        { id: 'n1', type: 'a' },
        { id: 'n2', type: 'a' },
      ],
    });
  });
});
