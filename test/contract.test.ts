/**
 * The contract suite: client behaviour end to end, written once and run against every target — the mock
 * (`monorail-ws/mock`) and the real ws server. A difference between the targets is a bug in the hub or an adapter,
 * never something a test works around. No sleeps: tests wait for states, and "nothing arrived" is proven with a
 * later request on the same connection (frames of one connection arrive in order).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Doc, Filter, Params } from '../protocol/index.js';
import { demoFixtures, makeLog, makeNode, makeWorkflow } from '../server/demo/fixtures.js';
import {
  converged,
  framesAfter,
  framesUntilBarrier,
  opened,
  snapshots,
  TARGETS,
  type Running,
  type StartOptions,
} from './support/contract-targets.js';
import { waitFor } from './support/wait.js';

const running: Running[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
});

const FIXTURES = demoFixtures();
const compute = FIXTURES.nodes!.filter((n) => n.type === 'compute');
const switches = FIXTURES.nodes!.filter((n) => n.type === 'switch');

describe.each(TARGETS)('contract against $name', (target) => {
  async function start(options: Partial<StartOptions> = {}): Promise<Running> {
    const t = await target.start({ fixtures: demoFixtures(), ...options });
    running.push(t);
    return t;
  }

  it('exchanges a session: init gives each connection its own id, announced features, ready and init events', async () => {
    const t = await start();
    const a = t.connect('nodes');
    const b = t.connect('workflows');
    const [ida, idb] = await Promise.all([opened(a), opened(b)]);
    expect(ida).toMatch(/^[0-9a-f]{32}$/);
    expect(idb).not.toBe(ida);
    expect(a.frames[0]).toEqual({ handler: 'session', id: ida, features: ['ping'] });
    expect(a.conn.sessionId).toBe(ida);
    expect(a.conn.state).toBe('open');
    expect(a.inits()).toBe(1);
    expect(t.stats().connections).toBe(2);
  });

  it('query and all answer list with resource, params and items; the store reconciles each list by its scope', async () => {
    const t = await start();
    const c = t.connect('nodes');
    await opened(c);
    const [sw] = await framesAfter(c, 1, () => c.conn.query({ type: 'switch' }));
    expect(sw).toEqual({ handler: 'list', resource: 'nodes', params: { type: 'switch' }, items: t.source('nodes', { type: 'switch' }) });
    await converged(c, () => t.source('nodes', { type: 'switch' }));

    await framesAfter(c, 1, () => c.conn.query({ type: 'compute' }));
    await converged(c, () => t.source('nodes', { type: { $in: ['switch', 'compute'] } }));
    // Without a watch nothing is pushed; the next list of the same scope takes away what left the source.
    t.remove('nodes', compute[0]!.id as string);
    t.upsert('nodes', makeNode(30, 'compute'));
    expect(await framesUntilBarrier(c)).toEqual([]);
    await framesAfter(c, 1, () => c.conn.query({ type: 'compute' }));
    await converged(c, () => t.source('nodes', { type: { $in: ['switch', 'compute'] } }));

    const [all] = await framesAfter(c, 1, () => c.conn.all());
    expect(all).toEqual({ handler: 'list', resource: 'nodes', params: {}, items: t.source('nodes') });
    await converged(c, () => t.source('nodes'));
  });

  it('get answers item, or remove with the id and params when nothing matches, and the store follows', async () => {
    const t = await start();
    const c = t.connect('nodes');
    await opened(c);
    const node = compute[1]!;
    expect(await framesAfter(c, 1, () => c.conn.get({ id: node.id as string }))).toEqual([
      { handler: 'item', resource: 'nodes', id: node.id, data: node },
    ]);
    expect(c.conn.store.get(node.id as string)).toEqual(node);
    expect(await framesAfter(c, 1, () => c.conn.get({ type: 'pdu' }))).toEqual([
      { handler: 'item', resource: 'nodes', id: t.source('nodes', { type: 'pdu' })[0]!.id, data: t.source('nodes', { type: 'pdu' })[0] },
    ]);
    expect(await framesAfter(c, 1, () => c.conn.get({ id: 'missing' }))).toEqual([
      { handler: 'remove', resource: 'nodes', id: 'missing', params: { id: 'missing' } },
    ]);
    expect(await framesAfter(c, 1, () => c.conn.get({ type: 'router' }))).toEqual([
      { handler: 'remove', resource: 'nodes', params: { type: 'router' } },
    ]);
    expect(c.conn.store.size).toBe(2);
    // A record deleted at the source: the next get answers remove and the store lets it go.
    t.remove('nodes', node.id as string);
    expect(await framesAfter(c, 1, () => c.conn.get({ id: node.id as string }))).toEqual([
      { handler: 'remove', resource: 'nodes', id: node.id, params: { id: node.id } },
    ]);
    expect(c.conn.store.get(node.id as string)).toBeUndefined();
    expect(c.conn.store.size).toBe(1);
  });

  it('watch sends a snapshot, then item and remove for creates, updates, deletes and records entering or leaving; stop ends it', async () => {
    const t = await start();
    const c = t.connect('nodes');
    const params = { type: 'compute' };
    const source = () => t.source('nodes', params);
    expect(await framesAfter(c, 2, () => c.conn.watch(params))).toEqual([
      expect.objectContaining({ handler: 'session' }),
      { handler: 'list', resource: 'nodes', params, items: source() },
    ]);
    await converged(c, source);
    expect(t.stats().watches).toBe(1);

    const created = makeNode(31, 'compute');
    expect(await framesAfter(c, 1, () => t.upsert('nodes', created))).toEqual([
      { handler: 'item', resource: 'nodes', id: created.id, data: created },
    ]);
    const renamed: Doc = { ...compute[0]!, name: 'renamed' };
    expect(await framesAfter(c, 1, () => t.upsert('nodes', renamed))).toEqual([
      { handler: 'item', resource: 'nodes', id: renamed.id, data: renamed },
    ]);
    expect(await framesAfter(c, 1, () => t.remove('nodes', compute[1]!.id as string))).toEqual([
      { handler: 'remove', resource: 'nodes', id: compute[1]!.id },
    ]);
    const left: Doc = { ...compute[2]!, type: 'switch' };
    expect(await framesAfter(c, 1, () => t.upsert('nodes', left))).toEqual([{ handler: 'remove', resource: 'nodes', id: left.id }]);
    const entered: Doc = { ...switches[0]!, type: 'compute' };
    expect(await framesAfter(c, 1, () => t.upsert('nodes', entered))).toEqual([
      { handler: 'item', resource: 'nodes', id: entered.id, data: entered },
    ]);
    await converged(c, source);
    // A change outside the filter sends nothing.
    t.upsert('nodes', makeNode(32, 'pdu'));
    expect(await framesUntilBarrier(c)).toEqual([]);

    c.conn.stop(params);
    expect(c.conn.store.size).toBe(0);
    await waitFor(() => t.stats().watches === 0);
    t.upsert('nodes', makeNode(33, 'compute'));
    expect(await framesUntilBarrier(c)).toEqual([]);
    expect(c.conn.store.size).toBe(0);
  });

  it('watch filters use the params operators with MongoDB semantics, live', async () => {
    const t = await start();
    const filters: Params[] = [
      { type: { $in: ['switch', 'pdu'] } },
      { type: { $nin: ['compute'] } },
      { sku: { $ne: null } },
      { createdAt: { $gte: compute[1]!.createdAt!, $lt: FIXTURES.nodes![5]!.createdAt! } },
      { 'obms.service': 'ipmi-obm-service' },
      { identifiers: (compute[1]!.identifiers as string[])[0]! },
      { 'obms.config.community': { $exists: true }, autoDiscover: false },
    ];
    const clients = filters.map((params) => {
      const c = t.connect('nodes');
      c.conn.watch(params as Filter);
      return { c, params };
    });
    for (const { c, params } of clients) await converged(c, () => t.source('nodes', params));
    for (const { c, params } of clients) expect(c.conn.store.size, JSON.stringify(params)).toBeGreaterThan(0);

    t.upsert('nodes', { ...compute[1]!, type: 'switch', obms: [] });
    t.upsert('nodes', { ...FIXTURES.nodes![4]!, sku: null });
    t.upsert('nodes', makeNode(34, 'pdu'));
    t.remove('nodes', compute[2]!.id as string);
    for (const { c, params } of clients) await converged(c, () => t.source('nodes', params));
  });

  it('two connections on two channels each get only their channel', async () => {
    const t = await start();
    const nodes = t.connect('nodes');
    const workflows = t.connect('workflows');
    nodes.conn.watch({});
    workflows.conn.watch({ _status: 'running' });
    await converged(nodes, () => t.source('nodes'));
    await converged(workflows, () => t.source('workflows', { _status: 'running' }), 'instanceId');
    const running = t.source('workflows', { _status: 'running' })[0]!;

    t.upsert('workflows', { ...running, _status: 'succeeded' });
    t.upsert('workflows', makeWorkflow(9, compute[0]!.id as string, 'running'));
    t.upsert('nodes', makeNode(35, 'switch'));
    await converged(workflows, () => t.source('workflows', { _status: 'running' }), 'instanceId');
    await converged(nodes, () => t.source('nodes'));
    expect(workflows.frames.every((f) => !('resource' in f) || f.resource === 'workflows')).toBe(true);
    expect(nodes.frames.every((f) => !('resource' in f) || f.resource === 'nodes')).toBe(true);
    expect(workflows.frames.filter((f) => f.handler === 'remove')).toEqual([
      { handler: 'remove', resource: 'workflows', id: running.instanceId },
    ]);
  });

  it('overlapping watches on one connection: a record leaving one filter stays while the other holds it', async () => {
    const t = await start();
    const c = t.connect('nodes');
    const node = compute[0]!;
    const byType = { type: 'compute' };
    const byName = { name: node.name! };
    c.conn.watch(byType);
    c.conn.watch(byName);
    const union = () => t.source('nodes').filter((n) => n.type === 'compute' || n.name === byName.name);
    // byName's record is also in byType's snapshot, so the store converges on the first list alone: wait for both.
    await snapshots(c, byType, byName);
    await converged(c, union);

    const switched = { ...node, type: 'switch' };
    expect(await framesAfter(c, 1, () => t.upsert('nodes', switched))).toEqual([
      { handler: 'item', resource: 'nodes', id: node.id, data: switched },
    ]);
    expect(c.conn.store.get(node.id as string)).toEqual(switched);
    await converged(c, union);

    const gone = { ...switched, name: 'renamed' };
    expect(await framesAfter(c, 1, () => t.upsert('nodes', gone))).toEqual([{ handler: 'remove', resource: 'nodes', id: node.id }]);
    expect(c.conn.store.get(node.id as string)).toBeUndefined();
    await converged(c, union);

    // Stopping one watch keeps what the other still holds.
    t.upsert('nodes', { ...gone, name: byName.name, type: 'compute' });
    await converged(c, union);
    c.conn.stop(byName);
    expect(c.conn.store.get(node.id as string)).toBeDefined();
    await converged(c, () => t.source('nodes', byType));
  });

  it('an outage in the middle of a watch: after the reconnect the store equals the source, with a change and a removal made while the client was away', async () => {
    const t = await start();
    const c = t.connect('nodes');
    c.conn.watch({ type: 'compute' });
    c.conn.watch({ type: 'switch' });
    const source = () => t.source('nodes', { type: { $in: ['compute', 'switch'] } });
    await converged(c, source);
    const firstSession = c.conn.sessionId;

    await t.outage.begin();
    // The outage, then at least one reconnect that failed.
    await waitFor(() => c.closes.length >= 2 && c.conn.state === 'reconnecting', 5000, 'a failed reconnect');
    expect(c.closes[0]!.code).toBe(t.outage.closeCode);
    expect(c.closes.slice(1).map((e) => e.code)).toEqual(c.closes.slice(1).map(() => 1006));
    expect(c.errors.some((e) => e.kind === 'socket')).toBe(true);

    const [changed, removed, leaving] = compute;
    await t.outage.end(() => {
      expect(c.conn.state).toBe('reconnecting');
      t.upsert('nodes', { ...changed!, name: 'changed while away' });
      t.remove('nodes', removed!.id as string);
      t.upsert('nodes', { ...leaving!, type: 'pdu' });
      t.upsert('nodes', makeNode(50, 'switch'));
    });
    await waitFor(() => c.conn.state === 'open', 5000, 'the reconnect');
    await converged(c, source);
    expect(c.conn.store.get(changed!.id as string)?.name).toBe('changed while away');
    expect(c.conn.store.get(removed!.id as string)).toBeUndefined();
    expect(c.conn.store.get(leaving!.id as string)).toBeUndefined();
    expect(c.conn.sessionId).not.toBe(firstSession);
    expect(c.inits()).toBe(2);
    expect(t.stats().watches).toBe(2);
  });

  it('messages sent while offline are queued and answered after the reconnect, after init and the watches', async () => {
    const t = await start();
    const c = t.connect('skus');
    c.conn.watch({ name: 'Arista 7050' });
    await converged(c, () => t.source('skus', { name: 'Arista 7050' }));
    await t.outage.begin();
    await waitFor(() => c.conn.state === 'reconnecting');
    const from = c.frames.length;
    c.conn.all();
    c.conn.get({ id: 'missing' });
    await t.outage.end(() => undefined);
    await waitFor(() => c.frames.length >= from + 4, 5000, 'the answers');
    expect(c.frames.slice(from).map((f) => f.handler)).toEqual(['session', 'list', 'list', 'remove']);
    expect(c.frames.slice(from + 1).map((f) => (f.handler === 'list' || f.handler === 'remove' ? f.params : undefined))).toEqual([
      { name: 'Arista 7050' },
      {},
      { id: 'missing' },
    ]);
    await converged(c, () => t.source('skus'));
  });

  it('disconnect() stops reconnecting, also while waiting to reconnect', async () => {
    const t = await start();
    const a = t.connect('nodes');
    await opened(a);
    a.conn.disconnect();
    expect(a.conn.state).toBe('closed');
    await waitFor(() => a.closes.length === 1);
    expect(a.closes[0]).toMatchObject({ code: 1000 });
    // Nothing scheduled: a connection only ever comes back through a timer or connect().
    expect(a.pendingTimers()).toBe(0);
    await waitFor(() => t.stats().connections === 0);

    const b = t.connect('nodes');
    await opened(b);
    await t.outage.begin();
    await waitFor(() => b.conn.state === 'reconnecting');
    b.conn.disconnect();
    expect(b.conn.state).toBe('closed');
    expect(b.pendingTimers()).toBe(0);
    await t.outage.end(() => undefined);
    const probe = t.connect('nodes');
    await opened(probe);
    expect(t.stats().connections).toBe(1);
    expect([a.conn.state, b.conn.state]).toEqual(['closed', 'closed']);
  });

  it('error replies reach the error event with the request; a refused watch is dropped and the connection stays open', async () => {
    const t = await start();
    const c = t.connect('nodes');
    // Untyped params, as from plain JavaScript: the typed filter would not compile it.
    const bad = { name: { $regex: 'x' } } as Params;
    const [frame] = await framesAfter(c, 2, () => c.conn.watch(bad as Filter)).then((f) => f.filter((m) => m.handler === 'error'));
    expect(frame).toEqual({
      handler: 'error',
      resource: 'nodes',
      params: { code: 'bad-params', message: expect.any(String) as string, request: { handler: 'watch', params: bad } },
    });
    expect(c.errors).toEqual([
      {
        kind: 'server',
        code: 'bad-params',
        message: expect.any(String) as string,
        request: { handler: 'watch', params: bad },
        resource: 'nodes',
      },
    ]);
    expect(c.conn.store.activeWatches()).toEqual([]);
    // @ts-expect-error an operator outside the allowlist does not compile either
    c.conn.query({ $where: 'true' });
    c.conn.get(JSON.parse('{"__proto__": {"polluted": true}}') as Filter);
    await waitFor(() => c.errors.length === 3);
    expect(c.errors.map((e) => e.kind === 'server' && [e.code, e.request?.handler])).toEqual([
      ['bad-params', 'watch'],
      ['bad-params', 'query'],
      ['bad-params', 'get'],
    ]);
    expect(c.conn.state).toBe('open');
    await framesAfter(c, 1, () => c.conn.query({ type: 'pdu' }));
    await converged(c, () => t.source('nodes', { type: 'pdu' }));

    // An unknown channel connects and answers every request with unknown-channel.
    const nope = t.connect('nope');
    nope.conn.all();
    await waitFor(() => nope.errors.length === 1);
    expect(nope.errors[0]).toMatchObject({ kind: 'server', code: 'unknown-channel', request: { handler: 'all' }, resource: 'nope' });
    expect(nope.conn.state).toBe('open');
  });

  it('logs and events are append-only: list and item only add, a narrower list takes nothing away', async () => {
    const t = await start();
    const c = t.connect('logs');
    const subject = compute[0]!.id as string;
    c.conn.watch({ subject });
    await converged(c, () => t.source('logs', { subject }));
    let entry: Doc = {};
    expect(await framesAfter(c, 1, () => (entry = t.log(makeLog(20, subject, 'info', 'Running task catalog-bmc'))))).toEqual([
      {
        handler: 'item',
        resource: 'logs',
        id: expect.any(String) as string,
        data: expect.objectContaining({ message: 'Running task catalog-bmc' }) as Doc,
      },
    ]);
    expect(c.frames.at(-1)).toEqual({ handler: 'item', resource: 'logs', id: entry.id, data: entry });
    const history = t.source('logs', { subject });
    await converged(c, () => history);

    await framesAfter(c, 1, () => c.conn.query({ subject: 'Server' }));
    await framesAfter(c, 1, () => c.conn.query({ level: 'error' }));
    await converged(c, () => [...history, ...t.source('logs', { subject: 'Server' }), ...t.source('logs', { level: 'error' })]);
    // A list of the same scope that no longer carries an entry does not remove it.
    await framesAfter(c, 1, () => c.conn.query({ subject, level: 'debug' }));
    c.conn.stop({ subject });
    expect(c.conn.store.size).toBe(history.length + 2);

    const events = t.connect('events');
    events.conn.watch({});
    await converged(events, () => t.source('events'));
    const evt = t.event({ type: 'node', action: 'added', typeId: 'n9', nodeId: 'n9', severity: 'information', data: {}, version: '1.0' });
    await converged(events, () => t.source('events'));
    expect(events.conn.store.get(evt.id as string)).toEqual(evt);
  });

  it('answers an alias under the name the client used and treats /nodes/ like /nodes', async () => {
    const t = await start();
    const graphs = t.connect('graphObjs');
    graphs.conn.watch({ _status: 'running' });
    await converged(graphs, () => t.source('workflows', { _status: 'running' }), 'instanceId');
    expect(graphs.frames.find((f) => f.handler === 'list')).toMatchObject({ resource: 'graphObjs' });
    const wf = t.source('workflows', { _status: 'running' })[0]!;
    const [item] = await framesAfter(graphs, 1, () => t.upsert('workflows', { ...wf, progress: { value: 3, maximum: 4 } }));
    expect(item).toMatchObject({ handler: 'item', resource: 'graphObjs', id: wf.instanceId });

    const slash = t.connect('nodes/');
    expect(slash.conn.channel).toBe('nodes');
    const [list] = await framesAfter(slash, 2, () => slash.conn.all()).then((f) => f.filter((m) => m.handler === 'list'));
    expect(list).toMatchObject({ resource: 'nodes', items: t.source('nodes') });
  });

  it('negotiates the monorail-ws subprotocol and never echoes the bearer token; offering only others fails the handshake with 1006', async () => {
    const t = await start();
    const withToken = t.connect('nodes', { token: 'secret' });
    await opened(withToken);
    expect((withToken.conn.wsConn as unknown as { protocol: string }).protocol).toBe('monorail-ws');

    const other = t.connect('nodes', { protocols: ['other'] });
    await waitFor(() => other.closes.length >= 1);
    other.conn.disconnect();
    expect(other.closes[0]).toMatchObject({ code: 1006, wasClean: false });
    expect(other.inits()).toBe(0);
    expect(other.errors[0]).toMatchObject({ kind: 'socket' });
  });

  it('a frame over maxPayload closes the connection with 1009; the client reconnects and resyncs its watch', async () => {
    const t = await start({ maxPayload: 1024 });
    const c = t.connect('nodes');
    c.conn.watch({ type: 'switch' });
    await converged(c, () => t.source('nodes', { type: 'switch' }));
    c.conn.query({ name: 'x'.repeat(2000) });
    await waitFor(() => c.closes.length === 1);
    expect(c.closes[0]!.code).toBe(1009);
    t.upsert('nodes', makeNode(36, 'switch'));
    await waitFor(() => c.inits() === 2 && c.conn.state === 'open');
    await converged(c, () => t.source('nodes', { type: 'switch' }));
  });
});
