/**
 * Live queries end to end, against both targets of the contract suite (the mock and the real ws server): each
 * friction issue 13 found in a UI built on the stores, shown gone. A view holds only its own watch's records (also
 * after a reconnect), "loading" is not "empty", changing a filter never empties the view, a logs view follows one
 * workflow, identical views share one watch, and an application's own watch and a view never end each other's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Filter, LiveQuery, LiveSnapshot } from '../client/index.js';
import type { Doc, Params } from '../protocol/index.js';
import { demoFixtures, makeEvent, makeLog, makeNode } from '../server/demo/fixtures.js';
import {
  converged,
  framesUntilBarrier,
  opened,
  TARGETS,
  type Running,
  type StartOptions,
  type TestClient,
} from './support/contract-targets.js';
import { byId } from './support/records.js';
import { waitFor } from './support/wait.js';

const running: Running[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
});

const FIXTURES = demoFixtures();
const COMPUTE = { type: 'compute' };

/** Every snapshot a live query announces, from now on. */
function announced<T>(q: LiveQuery<T>): Array<LiveSnapshot<T>> {
  const seen: Array<LiveSnapshot<T>> = [];
  q.subscribe(() => seen.push(q.getSnapshot()));
  return seen;
}

/** Waits until the query is ready (and shows no previous params) and returns its snapshot. */
function ready<T>(q: LiveQuery<T>, what = 'the live query to be ready'): Promise<LiveSnapshot<T>> {
  return waitFor(
    () => {
      const s = q.getSnapshot();
      return s.status === 'ready' && !s.isPrevious && s;
    },
    5000,
    what,
  );
}

/** The frames `client` sent with this handler and canonically these params. */
function sentOf(client: TestClient, handler: 'watch' | 'stop', params: Params): number {
  const key = JSON.stringify(params);
  return client.sent.filter((m) => m.handler === handler && JSON.stringify(m.params) === key).length;
}

describe.each(TARGETS)('live queries against $name', (target) => {
  async function start(options: Partial<StartOptions> = {}): Promise<Running> {
    const t = await target.start({ fixtures: demoFixtures(), ...options });
    running.push(t);
    return t;
  }

  it('a {type: compute} view holds compute nodes only while query and get bring others, also after a reconnect', async () => {
    const t = await start();
    const c = t.connect('nodes');
    const q = c.conn.live(COMPUTE);
    expect(byId([...(await ready(q)).data])).toEqual(byId(t.source('nodes', COMPUTE)));
    c.conn.query({ type: 'switch' });
    c.conn.get({ type: 'pdu' });
    await waitFor(() => c.conn.store.size === t.source('nodes', { type: { $in: ['compute', 'switch', 'pdu'] } }).length);
    expect(byId([...q.getSnapshot().data])).toEqual(byId(t.source('nodes', COMPUTE)));

    await t.outage.begin();
    await waitFor(() => q.getSnapshot().status === 'stale', 5000, 'the view to be stale');
    await t.outage.end(() => t.upsert('nodes', makeNode(40, 'compute')));
    await waitFor(() => q.getSnapshot().data.length === t.source('nodes', COMPUTE).length, 5000, 'the new compute node');
    const after = await ready(q);
    expect(byId([...after.data])).toEqual(byId(t.source('nodes', COMPUTE)));
    // The store still holds the switch and the pdu of the one-off reads; the view never did.
    expect(c.conn.store.getSnapshot().some((n) => n.type === 'switch' || n.type === 'pdu')).toBe(true);
    expect(after.data.every((n) => n.type === 'compute')).toBe(true);
  });

  it('loading and ready-but-empty are told apart', async () => {
    const t = await start({ latencyMs: 20 });
    const c = t.connect('nodes');
    const q = c.conn.live({ type: 'router' });
    expect(q.getSnapshot()).toEqual({ data: [], status: 'loading', error: undefined, isPrevious: false, via: undefined });
    expect(await ready(q)).toEqual({ data: [], status: 'ready', error: undefined, isPrevious: false, via: 'list' });
  });

  it('setParams at 100 ms latency keeps showing the previous records, never an empty list, then swaps in one step', async () => {
    const t = await start({ latencyMs: 100 });
    const c = t.connect('nodes');
    const q = c.conn.live(COMPUTE);
    const compute = byId([...(await ready(q)).data]);
    const seen = announced(q);
    const wider = { type: { $in: ['compute', 'switch'] } };
    q.setParams(wider);
    expect(q.getSnapshot()).toMatchObject({ status: 'ready', isPrevious: true });
    const swapped = await ready(q, 'the wider list');
    expect(byId([...swapped.data])).toEqual(byId(t.source('nodes', wider)));
    // Two snapshots: the old records flagged as previous, then the new ones — never an empty one in between.
    expect(seen.map((s) => [s.isPrevious, byId([...s.data])])).toEqual([
      [true, compute],
      [false, byId(t.source('nodes', wider))],
    ]);
    // The old watch is stopped once the new list is there.
    await framesUntilBarrier(c);
    expect([sentOf(c, 'watch', wider), sentOf(c, 'stop', COMPUTE), sentOf(c, 'stop', wider)]).toEqual([1, 1, 0]);
  });

  it("a logs view of workflow A, then of workflow B, holds B's lines only (lines link to it by context.graphInstance)", async () => {
    const t = await start();
    const [A, B] = FIXTURES.workflows!.map((w) => w.instanceId as string) as [string, string];
    const line = (n: number, graph: string) => t.log(makeLog(n, 'node', 'info', `line ${n}`, { graphInstance: graph }));
    const c = t.connect('logs');
    const q = c.conn.live({ 'context.graphInstance': A });
    const ofA = await ready(q);
    expect(ofA.data.map((l) => l.message)).toEqual(t.source('logs', { 'context.graphInstance': A }).map((l) => l.message));
    line(30, A);
    await waitFor(() => q.getSnapshot().data.length === ofA.data.length + 1);

    q.setParams({ 'context.graphInstance': B });
    const ofB = await ready(q, "B's lines");
    const expected = () => t.source('logs', { 'context.graphInstance': B }).map((l) => l.message);
    expect(ofB.data.map((l) => l.message)).toEqual(expected());
    line(31, A);
    line(32, B);
    await waitFor(() => q.getSnapshot().data.length === ofB.data.length + 1);
    expect(q.getSnapshot().data.map((l) => l.message)).toEqual(expected());
    // The append-only store keeps A's lines (it never reconciles); the view does not show them.
    expect(c.conn.store.getSnapshot().some((l) => (l.context as Doc).graphInstance === A)).toBe(true);
  });

  it('two identical views send one watch frame; stop only once both are closed', async () => {
    const t = await start();
    const c = t.connect('nodes');
    const a = c.conn.live(COMPUTE);
    const b = c.conn.live({ ...COMPUTE });
    await Promise.all([ready(a), ready(b)]);
    expect(t.stats().watches).toBe(1);
    a.close();
    await framesUntilBarrier(c);
    expect([sentOf(c, 'watch', COMPUTE), sentOf(c, 'stop', COMPUTE), t.stats().watches]).toEqual([1, 0, 1]);
    const created = makeNode(41, 'compute');
    t.upsert('nodes', created);
    await waitFor(() => b.getSnapshot().data.some((n) => n.id === created.id));
    b.close();
    await waitFor(() => t.stats().watches === 0);
    expect([sentOf(c, 'watch', COMPUTE), sentOf(c, 'stop', COMPUTE)]).toEqual([1, 1]);
    expect(c.conn.store.size).toBe(0);
  });

  it("an application's own watch and a view on the same params never end each other's watch", async () => {
    const t = await start();
    const c = t.connect('nodes');
    const source = () => t.source('nodes', COMPUTE);
    c.conn.watch(COMPUTE);
    await converged(c, source);
    // The view joins the watch: ready at once, no second watch frame.
    const q = c.conn.live(COMPUTE);
    expect(q.getSnapshot().status).toBe('ready');
    c.conn.stop(COMPUTE);
    t.upsert('nodes', makeNode(42, 'compute'));
    await waitFor(() => q.getSnapshot().data.length === source().length);
    expect(byId([...q.getSnapshot().data])).toEqual(byId(source()));

    c.conn.watch(COMPUTE);
    q.close();
    t.upsert('nodes', makeNode(43, 'compute'));
    await converged(c, source);
    await framesUntilBarrier(c);
    expect([sentOf(c, 'watch', COMPUTE), sentOf(c, 'stop', COMPUTE), t.stats().watches]).toEqual([1, 0, 1]);
    c.conn.stop(COMPUTE);
    expect(c.conn.store.size).toBe(0);
    await waitFor(() => t.stats().watches === 0);
  });

  it('mq views on topic patterns graph.# and # on one connection each hold exactly the entries of their own pattern', async () => {
    const t = await start();
    const c = t.connect('mq');
    const graph = c.conn.live({ exchange: 'on.events', routingKey: 'graph.#' });
    const every = c.conn.live({ exchange: 'on.events', routingKey: '#' });
    const [listedGraph, listedEvery] = await Promise.all([ready(graph), ready(every)]);
    // A graph that starts and finishes is two messages each (RackHD's 1.x graph.<action>.<id> first), a node one; the
    // log line goes to on.logging, which neither view watches.
    t.event(makeEvent(50, 'graph', 'started', 'g-50', 'n-50'));
    t.log(makeLog(50, 'n-50', 'info', 'not on.events'));
    t.event(makeEvent(51, 'node', 'discovered', 'n-51', 'n-51'));
    t.event(makeEvent(52, 'graph', 'finished', 'g-50', 'n-50', { status: 'succeeded' }));
    await waitFor(() => every.getSnapshot().data.length === listedEvery.data.length + 5, 5000, 'the five on.events entries');
    const keys = (q: LiveQuery<Doc>) => q.getSnapshot().data.map((e) => String(e.routingKey));
    const sent = keys(every).slice(listedEvery.data.length);
    expect(sent).toEqual([
      'graph.started.g-50',
      'graph.started.information.g-50.n-50',
      'node.discovered.information.n-51.n-51',
      'graph.finished.g-50',
      'graph.finished.information.g-50.n-50',
    ]);
    expect(keys(graph).slice(listedGraph.data.length)).toEqual(sent.filter((k) => k.startsWith('graph.')));
    expect([...graph.getSnapshot().data, ...every.getSnapshot().data].every((e) => e.exchange === 'on.events')).toBe(true);
    expect([graph.getSnapshot().status, every.getSnapshot().status]).toEqual(['ready', 'ready']);
  });

  it('params outside the allowlist: error bad-params at once, no round trip; a closed view throws TypeErrors', async () => {
    const t = await start();
    const c = t.connect('nodes');
    await opened(c);
    const q = c.conn.live({ name: { $regex: '^node' } } as unknown as Filter);
    expect(q.getSnapshot()).toMatchObject({ status: 'error', error: { code: 'bad-params' } });
    expect(await framesUntilBarrier(c)).toEqual([]);
    expect(c.sent.filter((m) => m.handler === 'watch')).toEqual([]);
    q.close();
    expect(() => q.subscribe(() => undefined)).toThrow(TypeError);
    expect(() => q.setParams(COMPUTE)).toThrow(/setParams\(\) on a closed live query/);
  });
});
