/**
 * Live queries (client/live.ts) through `Connection.live`, against the scripted server: what a view shows for each
 * frame, its status, `setParams`, the references that share one server watch, and bad input. The same behaviours
 * against the mock and the real server: test/live.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientMessage, Doc, ServerMessage } from '../protocol/messages.js';
import { next, record } from '../test/support/client-events.js';
import { startScriptServer, type ScriptServer, type ServerConn } from '../test/support/script-server.js';
import { waitFor } from '../test/support/wait.js';
import { Connection, type ConnectionOptions } from './connection.js';
import type { LiveQuery, LiveSnapshot } from './live.js';

const servers: ScriptServer[] = [];
const conns: Connection[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A connection to a scripted server on `channel`, open, with the server's side of it. */
async function open(channel = 'nodes', options: ConnectionOptions = {}): Promise<{ c: Connection; sc: ServerConn; s: ScriptServer }> {
  const s = await startScriptServer();
  servers.push(s);
  const c = new Connection(`${s.url}/${channel}`, { backoff: { baseMs: 0 }, heartbeat: false, ...options });
  conns.push(c);
  await next(c, 'init');
  return { c, sc: await s.connection(0), s };
}

const node = (id: string, type: string, extra: Doc = {}): Doc => ({ id, type, ...extra });
const list = (params: Doc, items: Doc[], resource = 'nodes'): ServerMessage => ({ handler: 'list', resource, params, items });

/** Sends frames and resolves once the client applied the last one (frames of one connection keep their order). */
async function send(c: Connection, sc: ServerConn, ...frames: ServerMessage[]): Promise<void> {
  let left = frames.length;
  const done = new Promise<void>((resolve) => {
    const off = c.events.on('message', () => {
      if (--left === 0) {
        off();
        resolve();
      }
    });
  });
  for (const frame of frames) sc.send(frame);
  await done;
}

/** What the client sent from frame `from` on, once a marker query sent now has arrived (nothing else is on its way). */
async function sentSince(c: Connection, sc: ServerConn, from: number): Promise<Array<ClientMessage | string>> {
  const marker = { marker: Math.random() };
  c.query(marker);
  const all = await waitFor(
    () =>
      sc.received.some((m) => typeof m === 'object' && 'params' in m && JSON.stringify(m.params) === JSON.stringify(marker))
        ? sc.received
        : undefined,
    5000,
    'the marker query',
  );
  return all.slice(from, -1);
}

/** How many frames the server has from the client once everything sent so far arrived (a marker query included). */
async function mark(c: Connection, sc: ServerConn): Promise<number> {
  await sentSince(c, sc, 0);
  return sc.received.length;
}

/** Every snapshot a live query announces, from now on. */
function snapshots<T>(q: LiveQuery<T>): Array<LiveSnapshot<T>> {
  const seen: Array<LiveSnapshot<T>> = [];
  q.subscribe(() => seen.push(q.getSnapshot()));
  return seen;
}

const ids = (s: LiveSnapshot<Doc>): string[] => s.data.map((d) => String(d.id));

describe('live queries: status', () => {
  it('is loading until its own list — distinguishable from ready and empty — then ready', async () => {
    const { c, sc } = await open();
    const q = c.live({ type: 'compute' });
    expect(q.getSnapshot()).toEqual({ data: [], status: 'loading', error: undefined, isPrevious: false, via: undefined });
    expect(await sc.first('watch')).toEqual({ handler: 'watch', params: { type: 'compute' } });
    // Another watch's list does not make it ready.
    c.watch({ type: 'switch' });
    await send(c, sc, list({ type: 'switch' }, [node('s1', 'switch')]));
    expect(q.getSnapshot().status).toBe('loading');
    await send(c, sc, list({ type: 'compute' }, []));
    expect(q.getSnapshot()).toEqual({ data: [], status: 'ready', error: undefined, isPrevious: false, via: 'list' });
  });

  it('is stale while the connection is not open and after a reconnect until its new list; the records stay', async () => {
    const { c, sc, s } = await open();
    const q = c.live({ type: 'compute' });
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]));
    const ready = q.getSnapshot();
    sc.close(1001);
    await next(c, 'close');
    expect(q.getSnapshot()).toMatchObject({ status: 'stale', data: ready.data });
    await next(c, 'init');
    const sc1 = await s.connection(1);
    expect(await sc1.first('watch')).toEqual({ handler: 'watch', params: { type: 'compute' } });
    expect(q.getSnapshot().status).toBe('stale');
    await send(c, sc1, list({ type: 'compute' }, [node('a', 'compute'), node('b', 'compute')]));
    expect(q.getSnapshot()).toMatchObject({ status: 'ready', data: [node('a', 'compute'), node('b', 'compute')] });
    c.disconnect();
    expect(q.getSnapshot().status).toBe('stale');
  });

  it("shows the server's error for its watch; a refusal is not re-sent after a reconnect, an outage is answered later", async () => {
    const { c, sc, s } = await open();
    const errors = record(c, 'error');
    const refused = c.live({ bad: true });
    const outage = c.live({ type: 'compute' });
    await sc.messages(3);
    const request = (params: Doc) => ({ handler: 'watch', params });
    await send(
      c,
      sc,
      { handler: 'error', resource: 'nodes', params: { code: 'bad-params', message: 'nope', request: request({ bad: true }) } },
      {
        handler: 'error',
        resource: 'nodes',
        params: { code: 'source-unavailable', message: 'down', request: request({ type: 'compute' }) },
      },
    );
    expect(refused.getSnapshot()).toMatchObject({ status: 'error', error: { code: 'bad-params', message: 'nope' }, data: [] });
    expect(outage.getSnapshot()).toMatchObject({ status: 'error', error: { code: 'source-unavailable', message: 'down' } });
    expect(errors.map((e) => e.kind)).toEqual(['server', 'server']);
    // The server re-snapshots a watch whose source came back.
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]));
    expect(outage.getSnapshot()).toMatchObject({ status: 'ready', error: undefined, data: [node('a', 'compute')] });

    sc.close(1001);
    await next(c, 'init');
    const sc1 = await s.connection(1);
    expect(await sentSince(c, sc1, 0)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'watch', params: { type: 'compute' } },
    ]);
    // Closing the refused query sends nothing: the server holds no such watch.
    refused.close();
    expect(await sentSince(c, sc1, await mark(c, sc1))).toEqual([]);
  });
});

describe('live queries: only the records of their own watch', () => {
  it('never shows what query, get or another watch put in the store', async () => {
    const { c, sc } = await open();
    const q = c.live({ type: 'compute' });
    c.watch({ name: 'n1' });
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute'), node('b', 'compute')]));
    c.query({ type: 'switch' });
    c.get({ type: 'pdu' });
    await send(
      c,
      sc,
      list({ type: 'switch' }, [node('s', 'switch')]),
      { handler: 'item', resource: 'nodes', id: 'p', data: node('p', 'pdu') },
      list({ name: 'n1' }, [node('n', 'switch', { name: 'n1' })]),
    );
    expect(c.store.size).toBe(5);
    expect(ids(q.getSnapshot())).toEqual(['a', 'b']);
    // A record changing type leaves it; one matching joins it; a remove takes it out.
    await send(
      c,
      sc,
      { handler: 'item', resource: 'nodes', id: 'a', data: node('a', 'switch', { name: 'n1' }) },
      { handler: 'item', resource: 'nodes', id: 'c', data: node('c', 'compute') },
      { handler: 'remove', resource: 'nodes', id: 'b' },
    );
    expect(ids(q.getSnapshot())).toEqual(['c']);
    expect(c.store.get('a')).toEqual(node('a', 'switch', { name: 'n1' }));
  });

  it('keeps the same snapshot object while nothing of its own changes; data is frozen', async () => {
    const { c, sc } = await open();
    const q = c.live({ type: 'compute' });
    c.watch({ type: 'switch' });
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]), list({ type: 'switch' }, [node('s', 'switch')]));
    const before = q.getSnapshot();
    expect(Object.isFrozen(before.data)).toBe(true);
    const seen = snapshots(q);
    await send(
      c,
      sc,
      { handler: 'item', resource: 'nodes', id: 's', data: node('s', 'switch', { v: 2 }) },
      // The same list again (a reconnect's snapshot, a query): nothing changed.
      list({ type: 'compute' }, [node('a', 'compute')]),
      { handler: 'item', resource: 'nodes', id: 'a', data: node('a', 'compute') },
    );
    expect(seen).toEqual([]);
    expect(q.getSnapshot()).toBe(before);
    await send(c, sc, { handler: 'item', resource: 'nodes', id: 'a', data: node('a', 'compute', { v: 2 }) });
    expect(seen).toHaveLength(1);
    expect(q.getSnapshot()).not.toBe(before);
    expect(q.getSnapshot().data).toEqual([node('a', 'compute', { v: 2 })]);
  });

  it('on an append-only channel: its own matching entries only, the newest `limit`', async () => {
    const { c, sc } = await open('logs');
    const A = { 'context.graphInstance': 'A' };
    const log = (id: string, graph: string): Doc => ({ id, message: id, context: { graphInstance: graph } });
    const q = c.live(A, { limit: 2 });
    c.watch({ 'context.graphInstance': 'B' });
    await send(c, sc, list(A, [log('a1', 'A'), log('a2', 'A')], 'logs'), list({ 'context.graphInstance': 'B' }, [log('b1', 'B')], 'logs'));
    await send(
      c,
      sc,
      { handler: 'item', resource: 'logs', id: 'b2', data: log('b2', 'B') },
      { handler: 'item', resource: 'logs', id: 'a3', data: log('a3', 'A') },
    );
    expect(ids(q.getSnapshot())).toEqual(['a2', 'a3']);
    expect(c.store.size).toBe(5);
  });
});

describe('live queries: setParams', () => {
  it('keeps the previous records (isPrevious) until the new list, then swaps in one step', async () => {
    const { c, sc } = await open();
    const q = c.live({ type: 'compute' });
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]));
    const seen = snapshots(q);
    const from = await mark(c, sc);
    q.setParams({ type: 'switch' });
    expect(q.params).toEqual({ type: 'switch' });
    expect(q.getSnapshot()).toMatchObject({ status: 'ready', isPrevious: true, data: [node('a', 'compute')] });
    // Records of the new params before its list are not on screen yet.
    await send(c, sc, { handler: 'item', resource: 'nodes', id: 's0', data: node('s0', 'switch') });
    expect(ids(q.getSnapshot())).toEqual(['a']);
    await send(c, sc, list({ type: 'switch' }, [node('s0', 'switch'), node('s1', 'switch')]));
    expect(q.getSnapshot()).toMatchObject({ status: 'ready', isPrevious: false });
    expect(ids(q.getSnapshot())).toEqual(['s0', 's1']);
    expect(seen.map((s) => [s.isPrevious, ids(s)])).toEqual([
      [true, ['a']],
      [false, ['s0', 's1']],
    ]);
    // Watched the new params, stopped the old ones once the new list was there.
    expect(await sentSince(c, sc, from)).toEqual([
      { handler: 'watch', params: { type: 'switch' } },
      { handler: 'stop', params: { type: 'compute' } },
    ]);
  });

  it('is a no-op for canonically equal params; going back drops the awaited watch', async () => {
    const { c, sc } = await open();
    const q = c.live({ type: 'compute', rack: 1 });
    await send(c, sc, list({ type: 'compute', rack: 1 }, [node('a', 'compute')]));
    const seen = snapshots(q);
    const before = q.getSnapshot();
    const from = await mark(c, sc);
    q.setParams({ rack: 1, type: 'compute' });
    expect(q.getSnapshot()).toBe(before);
    q.setParams({ type: 'switch' });
    q.setParams({ type: 'switch' });
    q.setParams({ rack: 1, type: 'compute' });
    expect(q.getSnapshot()).toMatchObject({ isPrevious: false, data: before.data });
    expect(seen.map((s) => s.isPrevious)).toEqual([true, false]);
    expect(await sentSince(c, sc, from)).toEqual([
      { handler: 'watch', params: { type: 'switch' } },
      { handler: 'stop', params: { type: 'switch' } },
    ]);
  });

  it('shows the new params at once when the shown ones had nothing to keep (loading, refused)', async () => {
    const { c } = await open();
    const q = c.live({ $where: 'x' } as never);
    q.setParams({ type: 'compute' });
    expect(q.getSnapshot()).toMatchObject({ status: 'loading', isPrevious: false });
    q.setParams({ type: 'switch' });
    expect(q.getSnapshot()).toMatchObject({ status: 'loading', isPrevious: false });
    expect(q.params).toEqual({ type: 'switch' });
  });
});

describe('live queries: one server watch per params', () => {
  it('identical queries share one watch frame; stop goes when the last one closes', async () => {
    const { c, sc } = await open();
    const from = await mark(c, sc);
    const a = c.live({ type: 'compute' });
    const b = c.live({ type: 'compute' });
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]));
    expect(a.getSnapshot()).toEqual(b.getSnapshot());
    a.close();
    a.close();
    expect(a.closed).toBe(true);
    expect(c.store.activeWatches()).toEqual([{ type: 'compute' }]);
    expect(await sentSince(c, sc, from)).toEqual([{ handler: 'watch', params: { type: 'compute' } }]);
    b.close();
    expect(c.store.size).toBe(0);
    expect(await sentSince(c, sc, from)).toEqual([
      { handler: 'watch', params: { type: 'compute' } },
      { handler: 'query', params: expect.any(Object) },
      { handler: 'stop', params: { type: 'compute' } },
    ]);
  });

  it("the seed API's watch is one reference: its stop and a query's close never end each other's watch", async () => {
    const { c, sc } = await open();
    const from = await mark(c, sc);
    c.watch({ type: 'compute' });
    c.watch({ type: 'compute' });
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]));
    // Joins the watch the seed API holds: ready at once, no frame.
    const q = c.live({ type: 'compute' });
    expect(q.getSnapshot()).toMatchObject({ status: 'ready', data: [node('a', 'compute')] });
    c.stop({ type: 'compute' });
    expect(ids(q.getSnapshot())).toEqual(['a']);
    await send(c, sc, { handler: 'item', resource: 'nodes', id: 'b', data: node('b', 'compute') });
    expect(ids(q.getSnapshot())).toEqual(['a', 'b']);
    // And the other way round.
    c.watch({ type: 'compute' });
    q.close();
    expect(c.store.size).toBe(2);
    expect(c.store.activeWatches()).toEqual([{ type: 'compute' }]);
    expect(await sentSince(c, sc, from)).toEqual([{ handler: 'watch', params: { type: 'compute' } }]);
    c.stop({ type: 'compute' });
    expect(c.store.size).toBe(0);
    expect((await sentSince(c, sc, from)).at(-1)).toEqual({ handler: 'stop', params: { type: 'compute' } });
  });

  it('a watch held while closed is sent once on open; closing every query before then sends nothing', async () => {
    const s = await startScriptServer();
    servers.push(s);
    const c = new Connection(`${s.url}/nodes`, { autoConnect: false, heartbeat: false });
    conns.push(c);
    const a = c.live({ type: 'compute' });
    c.live({ type: 'compute' });
    c.live({ type: 'switch' }).close();
    expect(a.getSnapshot().status).toBe('loading');
    c.connect();
    const sc = await s.connection(0);
    expect(await sentSince(c, sc, 0)).toEqual([
      { handler: 'init', features: ['resume'] },
      { handler: 'watch', params: { type: 'compute' } },
    ]);
  });
});

describe('live queries: bad input', () => {
  it.each([
    ['an operator outside the allowlist', { name: { $regex: '^n' } }],
    ['a top-level operator', { $or: [{ type: 'compute' }] }],
    ['$where', { $where: 'true' }],
    ['a prototype key', JSON.parse('{"__proto__": {"x": 1}}')],
    ['a value that is not JSON', { createdAt: new Date(0) }],
    ['params that are not an object', ['compute']],
  ])('refuses %s with bad-params at once, without a round trip', async (_, params) => {
    const { c, sc } = await open();
    const from = await mark(c, sc);
    const q = c.live(params as never);
    expect(q.getSnapshot()).toEqual({
      data: [],
      status: 'error',
      error: { code: 'bad-params', message: 'params outside the allowlist' },
      isPrevious: false,
    });
    q.close();
    expect(await sentSince(c, sc, from)).toEqual([]);
  });

  it('subscribe and setParams on a closed query throw a TypeError naming the call; close is idempotent', async () => {
    const { c } = await open();
    const q = c.live({ type: 'compute' });
    q.close();
    q.close();
    expect(() => q.subscribe(() => undefined)).toThrow(new TypeError('monorail-ws: subscribe() on a closed live query'));
    expect(() => q.setParams({})).toThrow(new TypeError('monorail-ws: setParams() on a closed live query'));
    expect(q.getSnapshot().status).toBe('loading');
  });

  it('a listener that throws is reported; the other listeners and queries still hear of the change', async () => {
    const { c, sc } = await open();
    const errors = record(c, 'error');
    const a = c.live({ type: 'compute' });
    const b = c.live({ type: 'switch' });
    a.subscribe(() => {
      throw new Error('boom');
    });
    const heard: string[] = [];
    a.subscribe(() => heard.push('a'));
    b.subscribe(() => heard.push('b'));
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]), list({ type: 'switch' }, []));
    expect(heard).toEqual(['a', 'b']);
    expect(errors).toEqual([{ kind: 'listener', source: 'store', error: new Error('boom') }]);
  });
});

describe('live queries: the mq channel', () => {
  const data = (id: string, exchange: string, routingKey: string): Doc => ({ id, exchange, routingKey, payload: {} });
  const entry = (id: string, exchange: string, routingKey: string): ServerMessage => ({
    handler: 'item',
    resource: 'mq',
    id,
    data: data(id, exchange, routingKey),
  });

  it('regression: a watch on a topic pattern holds the entries after its list, and two patterns only their own', async () => {
    const { c, sc } = await open('mq');
    const graph = c.live({ exchange: 'on.events', routingKey: 'graph.#' });
    const every = c.live({ exchange: 'on.events', routingKey: '#' });
    const started = data('1', 'on.events', 'graph.started.information.g1.n1');
    await send(
      c,
      sc,
      list({ exchange: 'on.events', routingKey: 'graph.#' }, [started], 'mq'),
      list({ exchange: 'on.events', routingKey: '#' }, [started], 'mq'),
      entry('2', 'on.events', 'node.discovered.information.n1.n1'),
      entry('3', 'on.events', 'graph.finished.information.g1.n1'),
      entry('4', 'on.events', 'graph.progress.updated.information.g1.n1'),
    );
    expect(ids(graph.getSnapshot() as LiveSnapshot<Doc>)).toEqual(['1', '3', '4']);
    expect(ids(every.getSnapshot() as LiveSnapshot<Doc>)).toEqual(['1', '2', '3', '4']);
    expect([graph.getSnapshot().status, every.getSnapshot().status]).toEqual(['ready', 'ready']);
  });

  it('a store of another channel still reads {exchange, routingKey} as a filter', async () => {
    const { c, sc } = await open('events');
    const q = c.live({ routingKey: '#' });
    await send(c, sc, list({ routingKey: '#' }, [], 'events'), {
      handler: 'item',
      resource: 'events',
      id: 'x',
      data: { id: 'x', routingKey: 'a' },
    });
    expect(q.getSnapshot().data).toEqual([]);
  });
});

describe('live queries: methods without this', () => {
  it('subscribe and getSnapshot work unbound, as useSyncExternalStore calls them', async () => {
    const { c, sc } = await open();
    const { subscribe, getSnapshot } = c.live({ type: 'compute' });
    let calls = 0;
    const off = subscribe(() => calls++);
    await send(c, sc, list({ type: 'compute' }, [node('a', 'compute')]));
    expect([calls, getSnapshot().status]).toEqual([1, 'ready']);
    off();
    await send(c, sc, { handler: 'item', resource: 'nodes', id: 'b', data: node('b', 'compute') });
    expect(calls).toBe(1);
  });
});
