/**
 * The `mq` channel in the SDK dialect, through a hub: topic matching and params checks, watch → list of recent
 * matching messages → item per message, stop, one frame per connection, demand that drives upstream bindings,
 * `not-supported`/`forbidden`/`bad-params` refusals, authorize asked with channel `mq`, and the memory backend's
 * logs and events in RackHD's formats.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Params } from '../../protocol/index.js';
import { checkMqParams, mqFromChange } from './mq.js';
import { setup } from '../../test/support/hub-doubles.js';

const allowed = new Set(DEFAULTS.mqExchanges);

describe('checkMqParams', () => {
  it('accepts {exchange, routingKey} on an open exchange; routingKey defaults to #', () => {
    expect(checkMqParams({ exchange: 'on.logging', routingKey: 'error' }, allowed)).toEqual({ exchange: 'on.logging', pattern: 'error' });
    expect(checkMqParams({ exchange: 'on.events' }, allowed)).toEqual({ exchange: 'on.events', pattern: '#' });
  });

  it.each<[string, Params]>([
    ['no exchange', { routingKey: '#' }],
    ['exchange not a string', { exchange: 1 }],
    ['unknown key', { exchange: 'on.events', routingKey: '#', queue: 'x' }],
    ['routingKey not a string', { exchange: 'on.events', routingKey: 5 }],
    ['empty routingKey', { exchange: 'on.events', routingKey: '' }],
    ['empty word', { exchange: 'on.events', routingKey: 'graph..x' }],
    ['# inside a word', { exchange: 'on.events', routingKey: 'graph#' }],
    ['* inside a word', { exchange: 'on.events', routingKey: 'gr*ph.x' }],
    ['a space', { exchange: 'on.events', routingKey: 'graph started' }],
    ['too long', { exchange: 'on.events', routingKey: 'a'.repeat(DEFAULTS.maxRoutingKeyLength + 1) }],
  ])('%s is bad-params', (_what, params) => {
    expect(checkMqParams(params, allowed)).toMatchObject({ code: 'bad-params' });
  });

  it('an exchange outside the allowlist is forbidden', () => {
    expect(checkMqParams({ exchange: 'on.waterline', routingKey: '#' }, allowed)).toMatchObject({ code: 'forbidden' });
  });
});

describe('mq through the hub (SDK dialect)', () => {
  const log = (level: string, message: string) => ({
    exchange: 'on.logging',
    routingKey: level,
    payload: { level, message, subject: 'Server' },
  });

  it('watch answers the recent matching messages, then each matching message is an item with a content id and {exchange, routingKey, payload}', () => {
    const { hub, open } = setup();
    hub.mq.publish(log('info', 'before'));
    hub.mq.publish(log('error', 'old failure'));
    const { socket } = open('mq');
    socket.deliver({ handler: 'watch', params: { exchange: 'on.logging', routingKey: 'error' } });
    const [list] = socket.take();
    expect(list).toMatchObject({ handler: 'list', resource: 'mq', params: { exchange: 'on.logging', routingKey: 'error' } });
    expect(list?.handler === 'list' && list.items.map((e) => (e.payload as { message: string }).message)).toEqual(['old failure']);
    hub.mq.publish(log('info', 'skipped'));
    hub.mq.publish(log('error', 'new failure'));
    const frames = socket.take();
    expect(frames).toEqual([
      {
        handler: 'item',
        resource: 'mq',
        id: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
        data: { id: expect.any(String) as string, ...log('error', 'new failure') },
      },
    ]);
    // The same message has the same id everywhere (failover without duplicates).
    hub.mq.publish(log('error', 'new failure'));
    expect(socket.take()[0]).toEqual(frames[0]);
  });

  it('stop with the same params ends the watch; two matching watches on one connection send one frame', () => {
    const { hub, open } = setup();
    const { socket } = open('mq');
    socket.deliver({ handler: 'watch', params: { exchange: 'on.events', routingKey: 'graph.#' } });
    socket.deliver({ handler: 'watch', params: { exchange: 'on.events', routingKey: '#' } });
    socket.take();
    hub.mq.publish({ exchange: 'on.events', routingKey: 'graph.started.g1', payload: { graphId: 'g1' } });
    expect(socket.take()).toHaveLength(1);
    socket.deliver({ handler: 'stop', params: { exchange: 'on.events', routingKey: 'graph.#' } });
    socket.deliver({ handler: 'stop', params: { routingKey: '#', exchange: 'on.events' } });
    hub.mq.publish({ exchange: 'on.events', routingKey: 'graph.started.g2', payload: { graphId: 'g2' } });
    expect(socket.take()).toEqual([]);
  });

  it('demand follows watches across connections: first watcher binds, last stop or close unbinds', () => {
    const { hub, open } = setup();
    const seen: string[] = [];
    hub.mq.onDemand((exchange, pattern, active) => seen.push(`${active ? '+' : '-'}${exchange} ${pattern}`));
    const a = open('mq');
    const b = open('mq');
    const params = { exchange: 'on.logging', routingKey: '#' };
    a.socket.deliver({ handler: 'watch', params });
    b.socket.deliver({ handler: 'watch', params });
    expect(hub.mq.demand()).toEqual([{ exchange: 'on.logging', pattern: '#' }]);
    a.socket.deliver({ handler: 'stop', params });
    b.socket.close(1000);
    expect(seen).toEqual(['+on.logging #', '-on.logging #']);
    expect(hub.mq.demand()).toEqual([]);
  });

  it('refuses query, all and get with not-supported, a closed exchange with forbidden, a bad routing key with bad-params', () => {
    const { open } = setup();
    const { socket } = open('mq');
    socket.deliver({ handler: 'query', params: { exchange: 'on.logging' } });
    socket.deliver({ handler: 'all' });
    socket.deliver({ handler: 'get', params: { exchange: 'on.logging' } });
    socket.deliver({ handler: 'watch', params: { exchange: 'on.waterline', routingKey: '#' } });
    socket.deliver({ handler: 'watch', params: { exchange: 'on.logging', routingKey: 'a..b' } });
    const codes = socket.take().map((f) => f.handler === 'error' && [f.params.code, f.params.request?.handler]);
    expect(codes).toEqual([
      ['not-supported', 'query'],
      ['not-supported', 'all'],
      ['not-supported', 'get'],
      ['forbidden', 'watch'],
      ['bad-params', 'watch'],
    ]);
  });

  it('mq watches count against maxWatches; the exchanges are configurable', () => {
    const { open } = setup(undefined, { maxWatches: 1, mq: { exchanges: ['on.custom'] } });
    const { socket } = open('mq');
    socket.deliver({ handler: 'watch', params: { exchange: 'on.custom', routingKey: 'a' } });
    socket.deliver({ handler: 'watch', params: { exchange: 'on.custom', routingKey: 'b' } });
    socket.deliver({ handler: 'watch', params: { exchange: 'on.logging', routingKey: '#' } });
    expect(socket.take().map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual([
      'list',
      'too-many-watches',
      'forbidden',
    ]);
  });

  it('authorize is asked with channel mq and the params', () => {
    const asked: unknown[] = [];
    const { open } = setup(undefined, {
      authorize: (_p, channel, handler, params) => {
        asked.push([channel, handler, params]);
        return params.exchange !== 'on.events';
      },
    });
    const { socket } = open('nodes');
    socket.deliver({ handler: 'watch', resource: 'mq', params: { exchange: 'on.events', routingKey: '#' } });
    expect(socket.take()).toMatchObject([{ handler: 'error', resource: 'mq', params: { code: 'forbidden' } }]);
    expect(asked).toEqual([['mq', 'watch', { exchange: 'on.events', routingKey: '#' }]]);
  });
});

describe('mqFromChange', () => {
  it("turns the memory backend's logs and events into RackHD's on.logging and on.events messages", () => {
    const logEntry = { id: 'l1', level: 'warning', message: 'm', subject: 'Server', name: 'on-taskgraph' };
    expect(mqFromChange({ channel: 'logs', id: 'l1', data: logEntry })).toEqual([
      {
        exchange: 'on.logging',
        routingKey: 'warning',
        payload: { level: 'warning', message: 'm', subject: 'Server', name: 'on-taskgraph' },
      },
    ]);
    const evt = { id: 'e1', type: 'node', action: 'discovered', severity: 'information', typeId: 'n1', nodeId: 'n1', data: {} };
    expect(mqFromChange({ channel: 'events', id: 'e1', data: evt }).map((m) => m.routingKey)).toEqual([
      'node.discovered.information.n1.n1',
    ]);
    expect(mqFromChange({ channel: 'events', id: 'e2', data: { ...evt, nodeId: null } }).map((m) => m.routingKey)).toEqual([
      'node.discovered.information.n1',
    ]);
    expect(mqFromChange({ channel: 'nodes', id: 'n', data: { id: 'n' } })).toEqual([]);
    expect(mqFromChange({ channel: 'logs', id: 'l1', data: null })).toEqual([]);
  });

  it('a graph that starts or finishes is preceded by the 1.x message on-core publishes first (graph.<action>.<graphId>)', () => {
    const graph = { type: 'graph', severity: 'information', typeId: 'g1', nodeId: 'n1' };
    const finished = { id: 'e3', ...graph, action: 'finished', data: { graphName: 'Discovery', status: 'succeeded' } };
    expect(mqFromChange({ channel: 'events', id: 'e3', data: finished })).toEqual([
      { exchange: 'on.events', routingKey: 'graph.finished.g1', payload: { graphId: 'g1', graphName: 'Discovery', status: 'succeeded' } },
      {
        exchange: 'on.events',
        routingKey: 'graph.finished.information.g1.n1',
        payload: { ...graph, action: 'finished', data: finished.data },
      },
    ]);
    const started = { id: 'e4', ...graph, action: 'started', data: { graphName: 'Discovery' } };
    expect(
      mqFromChange({ channel: 'events', id: 'e4', data: started }).map((m) => [m.routingKey, (m.payload as { status?: unknown }).status]),
    ).toEqual([
      ['graph.started.g1', 'running'],
      ['graph.started.information.g1.n1', undefined],
    ]);
  });
});
